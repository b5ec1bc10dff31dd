import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, team } from "../support/api";
import { createAiKey, keyRow } from "../support/keys";

const list = (as: string, repoId: string) => call("GET", `/repo/${repoId}/ai/apikey`, { as });
const ids = (response: { body: { apiKeys: { id: string }[] } }) =>
  response.body.apiKeys.map((k) => k.id);

/** Inserts an active AI key row directly, for orders that the API's clock cannot produce. */
async function insertAiKey(repoId: string, id: string, createdAt: string) {
  await env.DB.prepare(
    `INSERT INTO ai_keys (id, repo_id, name, ai_type, key, sealed_secret, created_by, created_at, updated_at)
     VALUES (?, ?, ?, 'OTHER', ?, 'aesgcm.t2.x.y', 'seed', ?, ?)`,
  )
    .bind(id, repoId, `key ${id}`, `FB_AI_${id.replace(/-/g, "")}`, createdAt, createdAt)
    .run();
}

describe("GET /repo/{repoId}/ai/apikey", () => {
  it("lists keys under apiKeys with {id, name, repoId, key, aiType, createdAt, deletedAt: null}", async () => {
    const { writer, reader, repoId } = await team();
    const { id, key } = await createAiKey(writer, repoId, { name: "Gemini", aiType: "GOOGLE" });

    const response = await list(reader, repoId);
    expect(response.status, response.text).toBe(200);
    expect(response.body.success).toBe(true);
    expect(response.body).not.toHaveProperty("keys");
    expect(response.body.apiKeys).toEqual([
      {
        id,
        name: "Gemini",
        repoId,
        key,
        aiType: "GOOGLE",
        createdAt: expect.any(String),
        deletedAt: null,
        status: "ACTIVE",
        expiresAt: null,
        lastUsedAt: null,
        previousSecretExpiresAt: null,
        disabledReason: null,
        leakedAt: null,
        leakSource: null,
        leakUrl: null,
        models: null,
      },
    ]);
    const { createdAt } = response.body.apiKeys[0];
    expect(new Date(createdAt).toISOString()).toBe(createdAt);
  });

  it("never returns a secret or its ciphertext", async () => {
    const { admin, repoId } = await team();
    const { id, secret } = await createAiKey(admin, repoId);
    const sealed = (await keyRow("ai_keys", id))?.sealed_secret;

    const response = await list(admin, repoId);
    expect(response.text).not.toContain(secret);
    expect(response.text).not.toContain(sealed);
    expect(response.text).not.toContain("aesgcm");
    expect(response.text).not.toContain("fbai_sk_");
  });

  it("lists newest first", async () => {
    const { admin, repoId } = await team();
    const first = await createAiKey(admin, repoId, { name: "first" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await createAiKey(admin, repoId, { name: "second" });
    expect(ids(await list(admin, repoId))).toEqual([second.id, first.id]);
  });

  it("breaks ties between keys created in the same millisecond by id, descending", async () => {
    const { admin, repoId } = await team();
    const at = "2026-01-01T00:00:00.000Z";
    await insertAiKey(repoId, "5e000000-0000-4000-8000-000000000000", at);
    await insertAiKey(repoId, "f0000000-0000-4000-8000-000000000000", at);
    await insertAiKey(repoId, "0a000000-0000-4000-8000-000000000000", at);
    await insertAiKey(repoId, "00000000-0000-4000-8000-000000000000", "2026-02-01T00:00:00.000Z");

    expect(ids(await list(admin, repoId))).toEqual([
      "00000000-0000-4000-8000-000000000000",
      "f0000000-0000-4000-8000-000000000000",
      "5e000000-0000-4000-8000-000000000000",
      "0a000000-0000-4000-8000-000000000000",
    ]);
  });

  it("lists only active keys of the path's repo", async () => {
    const { admin, workspaceId, repoId } = await team();
    const otherRepo = await call("POST", "/repo", {
      as: admin,
      body: { name: "other", workspaceId },
    });
    await createAiKey(admin, otherRepo.body.id);
    const kept = await createAiKey(admin, repoId, { name: "kept" });
    const deleted = await createAiKey(admin, repoId, { name: "deleted" });
    await call("DELETE", `/repo/${repoId}/ai/apikey/${deleted.id}`, { as: admin });

    expect(ids(await list(admin, repoId))).toEqual([kept.id]);
  });

  it("is an empty list for a repo without AI keys", async () => {
    const { reader, repoId } = await team();
    expect((await list(reader, repoId)).body).toEqual({
      success: true,
      apiKeys: [],
      nextCursor: null,
    });
  });
});
