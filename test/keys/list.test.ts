import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, team } from "../support/api";
import { createStorageKey } from "../support/keys";

const list = (as: string, repoId: string) => call("GET", `/repo/${repoId}/apikey`, { as });

/** Inserts an active key row directly, for orders that the API's clock cannot produce. */
async function insertKey(repoId: string, id: string, createdAt: string) {
  await env.DB.prepare(
    `INSERT INTO storage_keys (id, repo_id, name, access_type, key, sealed_secret, created_by, created_at, updated_at)
     VALUES (?, ?, ?, 'READ', ?, 'aesgcm.t2.x.y', 'seed', ?, ?)`,
  )
    .bind(
      id,
      repoId,
      `key ${id}`,
      `FBAK${id.slice(0, 16).replace(/-/g, "X").toUpperCase()}`,
      createdAt,
      createdAt,
    )
    .run();
}

describe("GET /repo/{repoId}/apikey", () => {
  it("lists a repo's keys with their public fields only", async () => {
    const { writer, reader, repoId } = await team();
    const { id, key } = await createStorageKey(writer, repoId, {
      name: "CI Bot",
      accessType: "WRITE",
    });

    const response = await list(reader, repoId);
    expect(response.status, response.text).toBe(200);
    expect(response.body.success).toBe(true);
    expect(response.body.keys).toHaveLength(1);
    const [listed] = response.body.keys;
    expect(listed).toEqual({
      id,
      name: "CI Bot",
      accessType: "WRITE",
      key,
      createdAt: expect.any(String),
      createdBy: writer,
      lastUsedAt: null,
      usage24h: 0,
      status: "ACTIVE",
      expiresAt: null,
      previousSecretExpiresAt: null,
      disabledReason: null,
      leakedAt: null,
      leakSource: null,
      leakUrl: null,
      ratelimit: null,
    });
    expect(new Date(listed.createdAt).toISOString()).toBe(listed.createdAt);
  });

  it("never returns a secret or its ciphertext", async () => {
    const { admin, repoId } = await team();
    const { id, secret } = await createStorageKey(admin, repoId);
    const row = await env.DB.prepare("SELECT sealed_secret FROM storage_keys WHERE id = ?")
      .bind(id)
      .first<{ sealed_secret: string }>();

    const response = await list(admin, repoId);
    expect(response.status).toBe(200);
    expect(response.text).not.toContain(secret);
    expect(response.text).not.toContain(row?.sealed_secret);
    expect(response.text).not.toContain("aesgcm");
    expect(response.body.keys[0]).not.toHaveProperty("secret");
  });

  it("lists newest first", async () => {
    const { admin, repoId } = await team();
    const first = await createStorageKey(admin, repoId, { name: "first" });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await createStorageKey(admin, repoId, { name: "second" });

    const response = await list(admin, repoId);
    expect(response.body.keys.map((k: { id: string }) => k.id)).toEqual([second.id, first.id]);
  });

  it("breaks ties between keys created in the same millisecond by id, descending", async () => {
    const { admin, repoId } = await team();
    const at = "2026-01-01T00:00:00.000Z";
    const ids = [
      "3b0c4d2e-0000-4000-8000-000000000000",
      "c1d2e3f4-0000-4000-8000-000000000000",
      "7a8b9c0d-0000-4000-8000-000000000000",
    ];
    for (const id of ids) await insertKey(repoId, id, at);
    await insertKey(repoId, "00000000-0000-4000-8000-000000000000", "2026-01-02T00:00:00.000Z");

    const response = await list(admin, repoId);
    expect(response.body.keys.map((k: { id: string }) => k.id)).toEqual([
      "00000000-0000-4000-8000-000000000000",
      "c1d2e3f4-0000-4000-8000-000000000000",
      "7a8b9c0d-0000-4000-8000-000000000000",
      "3b0c4d2e-0000-4000-8000-000000000000",
    ]);
  });

  it("leaves out revoked keys", async () => {
    const { admin, repoId } = await team();
    const kept = await createStorageKey(admin, repoId, { name: "kept" });
    const revoked = await createStorageKey(admin, repoId, { name: "revoked" });
    const deleted = await call("DELETE", `/repo/${repoId}/apikey/${revoked.id}`, { as: admin });
    expect(deleted.status).toBe(200);

    const response = await list(admin, repoId);
    expect(response.body.keys.map((k: { id: string }) => k.id)).toEqual([kept.id]);
  });

  it("shows only the path's repo's keys", async () => {
    const { admin, workspaceId, repoId } = await team();
    const otherRepo = await call("POST", "/repo", {
      as: admin,
      body: { name: "other", workspaceId },
    });
    await createStorageKey(admin, otherRepo.body.id, { name: "elsewhere" });
    const mine = await createStorageKey(admin, repoId, { name: "mine" });

    const response = await list(admin, repoId);
    expect(response.body.keys.map((k: { id: string }) => k.id)).toEqual([mine.id]);
  });

  it("is an empty list for a repo without keys", async () => {
    const { reader, repoId } = await team();
    const response = await list(reader, repoId);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ success: true, keys: [], nextCursor: null });
  });
});
