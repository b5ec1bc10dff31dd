import { describe, expect, it } from "vitest";
import { type ApiResponse, call, expectError, team } from "../support/api";
import { countKeyRows, createAiKey, keyRow, unknownId } from "../support/keys";

const aiKeys = (repoId: string) => `/repo/${repoId}/ai/apikey`;

function expectForbidden(response: ApiResponse) {
  expectError(response, 403, "Insufficient permissions");
}

/** A refusal without its per-request id: what a caller can compare between two refusals. */
const refusal = (response: ApiResponse) => {
  const { requestId: _, ...rest } = response.body;
  return { status: response.status, body: rest };
};

describe("AI key permissions", () => {
  it("every member lists", async () => {
    const { admin, writer, reader, repoId } = await team();
    const { id } = await createAiKey(admin, repoId);
    for (const member of [admin, writer, reader]) {
      const response = await call("GET", aiKeys(repoId), { as: member });
      expect(response.status, response.text).toBe(200);
      expect(response.body.apiKeys.map((k: { id: string }) => k.id)).toEqual([id]);
    }
  });

  it("WRITE and ADMIN members create, rename and delete, including each other's keys", async () => {
    const { admin, writer, repoId } = await team();
    for (const [creator, other] of [
      [writer, admin],
      [admin, writer],
    ] as const) {
      const { id } = await createAiKey(creator, repoId);
      const renamed = await call("PUT", `${aiKeys(repoId)}/${id}`, {
        as: other,
        body: { name: "renamed" },
      });
      expect(renamed.status, renamed.text).toBe(200);
      const deleted = await call("DELETE", `${aiKeys(repoId)}/${id}`, { as: other });
      expect(deleted.status, deleted.text).toBe(200);
    }
  });

  it("READ members cannot create, rename or delete", async () => {
    const { admin, reader, repoId } = await team();
    const { id } = await createAiKey(admin, repoId, { name: "kept" });

    expectForbidden(
      await call("POST", aiKeys(repoId), { as: reader, body: { name: "x", aiType: "OPENAI" } }),
    );
    expectForbidden(
      await call("PUT", `${aiKeys(repoId)}/${id}`, { as: reader, body: { name: "renamed" } }),
    );
    expectForbidden(await call("DELETE", `${aiKeys(repoId)}/${id}`, { as: reader }));

    expect(await countKeyRows("ai_keys", repoId)).toBe(1);
    expect(await keyRow("ai_keys", id)).toMatchObject({ name: "kept", deleted_at: null });
  });

  it("outsiders and missing repos get the same 403 on every operation", async () => {
    const { admin, outsider, repoId } = await team();
    const { id } = await createAiKey(admin, repoId, { name: "kept" });
    const missingRepo = unknownId();

    const requests = (repo: string, key: string) =>
      [
        ["GET", aiKeys(repo), undefined],
        ["POST", aiKeys(repo), { name: "x", aiType: "OPENAI" }],
        ["PUT", `${aiKeys(repo)}/${key}`, { name: "x" }],
        ["DELETE", `${aiKeys(repo)}/${key}`, undefined],
      ] as const;

    const real = requests(repoId, id);
    const missing = requests(missingRepo, unknownId());
    for (let i = 0; i < real.length; i++) {
      const [method, path, body] = real[i] as (typeof real)[number];
      const [, missingPath] = missing[i] as (typeof missing)[number];
      const onReal = await call(method, path, { as: outsider, body });
      const onMissing = await call(method, missingPath, { as: admin, body });
      expectForbidden(onReal);
      expect(refusal(onMissing)).toEqual(refusal(onReal));
    }

    expect(await countKeyRows("ai_keys", repoId)).toBe(1);
    expect(await keyRow("ai_keys", id)).toMatchObject({ name: "kept", deleted_at: null });
  });
});
