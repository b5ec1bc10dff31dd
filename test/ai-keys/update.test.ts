import { describe, expect, it } from "vitest";
import { call, expectError, team } from "../support/api";
import { createAiKey, keyRow, unknownId } from "../support/keys";

const update = (as: string, repoId: string, keyId: string, body: unknown) =>
  call("PUT", `/repo/${repoId}/ai/apikey/${keyId}`, { as, body });

describe("PUT /repo/{repoId}/ai/apikey/{apikeyId}", () => {
  it("renames the key and changes nothing else", async () => {
    const { admin, repoId } = await team();
    const { id, key } = await createAiKey(admin, repoId, { name: "old", aiType: "AWS" });
    const before = await keyRow("ai_keys", id);

    const response = await update(admin, repoId, id, { name: "new" });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, message: expect.any(String) });

    const listed = await call("GET", `/repo/${repoId}/ai/apikey`, { as: admin });
    expect(listed.body.apiKeys).toEqual([
      expect.objectContaining({ id, key, name: "new", aiType: "AWS" }),
    ]);
    expect(await keyRow("ai_keys", id)).toMatchObject({
      key,
      ai_type: "AWS",
      sealed_secret: before?.sealed_secret,
      created_at: before?.created_at,
    });
  });

  const refused: [string, unknown][] = [
    ["an empty body", {}],
    ["a new aiType", { name: "n", aiType: "OPENAI" }],
    ["an aiType alone", { aiType: "OPENAI" }],
    ["a new key", { name: "n", key: "FB_AI_chosenbymeeeeeeeeeeee" }],
    ["a new secret", { name: "n", secret: "fbai_sk_chosen" }],
    ["an empty name", { name: "" }],
    ["a 129-character name", { name: "n".repeat(129) }],
  ];

  for (const [what, body] of refused) {
    it(`refuses ${what} with 400 and leaves the key as it was`, async () => {
      const { admin, repoId } = await team();
      const { id } = await createAiKey(admin, repoId, { name: "kept", aiType: "AWS" });
      const before = await keyRow("ai_keys", id);

      expectError(await update(admin, repoId, id, body), 400);
      expect(await keyRow("ai_keys", id)).toEqual(before);
    });
  }

  it("is 404 for an unknown key", async () => {
    const { admin, repoId } = await team();
    expectError(await update(admin, repoId, unknownId(), { name: "x" }), 404);
  });

  it("is 404 for a deleted key, which keeps its name", async () => {
    const { admin, repoId } = await team();
    const { id } = await createAiKey(admin, repoId, { name: "gone" });
    await call("DELETE", `/repo/${repoId}/ai/apikey/${id}`, { as: admin });

    expectError(await update(admin, repoId, id, { name: "back" }), 404);
    expect(await keyRow("ai_keys", id)).toMatchObject({ name: "gone" });
  });

  it("is 404 for another repo's key, which stays untouched", async () => {
    const { admin, workspaceId, repoId } = await team();
    const otherRepo = await call("POST", "/repo", {
      as: admin,
      body: { name: "other", workspaceId },
    });
    const theirs = await createAiKey(admin, otherRepo.body.id, { name: "theirs" });
    const before = await keyRow("ai_keys", theirs.id);

    expectError(await update(admin, repoId, theirs.id, { name: "hijacked" }), 404);
    expect(await keyRow("ai_keys", theirs.id)).toEqual(before);
  });

  it("refuses a key id that is not a UUID with 400", async () => {
    const { admin, repoId } = await team();
    expectError(await update(admin, repoId, "not-a-uuid", { name: "x" }), 400);
  });
});
