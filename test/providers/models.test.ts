import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import { verifyAiSecret } from "../../src/verify/ai";
import { call, expectError, team } from "../support/api";
import { countingDb, keyRow } from "../support/keys";
import { keyVerifier, verifyAiHttp } from "../verify/support";
import { repoEvents } from "./support";

const create = (as: string, repoId: string, body: Record<string, unknown>) =>
  call("POST", `/repo/${repoId}/ai/apikey`, {
    as,
    body: { name: "Assistant", aiType: "OPENAI", ...body },
  });
const update = (as: string, repoId: string, keyId: string, body: unknown) =>
  call("PUT", `/repo/${repoId}/ai/apikey/${keyId}`, { as, body });
const listed = async (as: string, repoId: string, keyId: string) => {
  const response = await call("GET", `/repo/${repoId}/ai/apikey`, { as });
  expect(response.status, response.text).toBe(200);
  return response.body.apiKeys.find((key: { id: string }) => key.id === keyId);
};

describe("an AI key's model allow-list", () => {
  it("is set on create, listed, and carried by the verification answer (HTTP and RPC)", async () => {
    const { admin, reader, repoId } = await team();
    const models = ["gpt-4o-mini", "text-embedding-3-small"];
    const created = await create(admin, repoId, { models });
    expect(created.status, created.text).toBe(201);
    const { id, secret } = created.body;

    expect((await listed(reader, repoId, id)).models).toEqual(models);
    expect(JSON.parse((await keyRow("ai_keys", id))?.models)).toEqual(models);
    const http = await verifyAiHttp({ secret });
    expect(http.body).toMatchObject({ valid: true, keyId: id, models });
    expect(await keyVerifier.verifyAiSecret({ secret })).toMatchObject({ valid: true, models });
  });

  it("is absent from the answer, and null in lists, when the key allows any model", async () => {
    const { admin, repoId } = await team();
    const created = await create(admin, repoId, {});
    const { id, secret } = created.body;
    expect((await listed(admin, repoId, id)).models).toBeNull();
    const answer = (await verifyAiHttp({ secret })).body;
    expect(answer).toMatchObject({ valid: true, keyId: id });
    expect(answer).not.toHaveProperty("models");
    const explicitNull = await create(admin, repoId, { models: null });
    expect(explicitNull.status, explicitNull.text).toBe(201);
    expect((await listed(admin, repoId, explicitNull.body.id)).models).toBeNull();
  });

  it("is read by verification's one D1 read, with nothing more", async () => {
    const { admin, repoId } = await team();
    const { secret } = (await create(admin, repoId, { models: ["claude-sonnet-4"] })).body;
    const { db, roundTrips } = countingDb();
    const answer = await verifyAiSecret({ ...(env as Bindings), DB: db }, { secret }, () => {});
    expect(answer).toMatchObject({ valid: true, models: ["claude-sonnet-4"] });
    expect(roundTrips()).toBe(1);
  });

  it("changes on update, null allowing any model again, and the change is audited", async () => {
    const { admin, writer, repoId } = await team();
    const { id, secret } = (await create(admin, repoId, { models: ["gpt-4o"] })).body;
    // Verification answers the new list at once in this isolate (the update forgets the key).
    expect((await verifyAiHttp({ secret })).body).toMatchObject({ models: ["gpt-4o"] });

    const changed = await update(writer, repoId, id, { models: ["gpt-4o", "o3-mini"] });
    expect(changed.status, changed.text).toBe(200);
    expect((await listed(admin, repoId, id)).models).toEqual(["gpt-4o", "o3-mini"]);
    expect((await verifyAiHttp({ secret })).body).toMatchObject({ models: ["gpt-4o", "o3-mini"] });

    const cleared = await update(writer, repoId, id, { models: null });
    expect(cleared.status, cleared.text).toBe(200);
    expect((await listed(admin, repoId, id)).models).toBeNull();
    expect((await verifyAiHttp({ secret })).body).not.toHaveProperty("models");

    const events = await repoEvents(repoId, "ai_apikey.updated", 2);
    expect(events.map((event) => JSON.parse(event.changes).models)).toEqual([
      { before: '["gpt-4o"]', after: '["gpt-4o","o3-mini"]' },
      { before: '["gpt-4o","o3-mini"]', after: null },
    ]);
  });

  it("leaves the list alone when an update does not name it", async () => {
    const { admin, repoId } = await team();
    const { id } = (await create(admin, repoId, { models: ["gpt-4o"] })).body;
    expect((await update(admin, repoId, id, { name: "renamed" })).status).toBe(200);
    expect(await listed(admin, repoId, id)).toMatchObject({ name: "renamed", models: ["gpt-4o"] });
  });

  const invalid: [string, unknown][] = [
    ["an empty list", []],
    ["101 models", Array.from({ length: 101 }, (_, i) => `model-${i}`)],
    ["an empty name", [""]],
    ["a 201-character name", ["m".repeat(201)]],
    ["a duplicate", ["gpt-4o", "gpt-4o"]],
    ["a name with a space", ["gpt 4o"]],
    ["a number", [4]],
    ["a string instead of a list", "gpt-4o"],
  ];
  for (const [what, models] of invalid) {
    it(`refuses ${what} with 400, on create and on update`, async () => {
      const { admin, repoId } = await team();
      expectError(await create(admin, repoId, { models }), 400);
      const { id } = (await create(admin, repoId, { models: ["kept"] })).body;
      expectError(await update(admin, repoId, id, { models }), 400);
      expect((await listed(admin, repoId, id)).models).toEqual(["kept"]);
    });
  }

  it("accepts 100 models of 200 characters", async () => {
    const { admin, repoId } = await team();
    const models = Array.from({ length: 100 }, (_, i) => `${i}`.padStart(200, "m"));
    const created = await create(admin, repoId, { models });
    expect(created.status, created.text).toBe(201);
    expect((await listed(admin, repoId, created.body.id)).models).toEqual(models);
  });
});
