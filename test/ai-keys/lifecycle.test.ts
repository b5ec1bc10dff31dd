import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import { resealSecrets } from "../../src/keys/reseal";
import { verifyAiSecret } from "../../src/verify/ai";
import { call, expectError, team } from "../support/api";
import { auditEventsOf } from "../support/audit";
import { createAiKey, keyRow } from "../support/keys";

let people: Awaited<ReturnType<typeof team>>;
let admin: string;
let repoId: string;

beforeAll(async () => {
  people = await team();
  ({ admin, repoId } = people);
});

const uncached = () => ({ ...(env as Bindings), VERIFY_CACHE_TTL_SECONDS: "0" });
const verified = async (secret: string, settings: Bindings = uncached()) =>
  (await verifyAiSecret(settings, { secret }, () => {})).code;
const update = (as: string, id: string, body: unknown) =>
  call("PUT", `/repo/${repoId}/ai/apikey/${id}`, { as, body });
const roll = (as: string, id: string, body?: unknown) =>
  call("POST", `/repo/${repoId}/ai/apikey/${id}/roll`, { as, body });
const listed = async (id: string) =>
  (await call("GET", `/repo/${repoId}/ai/apikey`, { as: admin })).body.apiKeys.find(
    (key: { id: string }) => key.id === id,
  );

describe("an AI key's lifecycle", () => {
  it("is created with an expiry, listed with status, expiry and lastUsedAt", async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const response = await call("POST", `/repo/${repoId}/ai/apikey`, {
      as: admin,
      body: { name: "expiring", aiType: "OPENAI", expiresAt },
    });
    expect(response.status, response.text).toBe(201);
    expect(await listed(response.body.id)).toMatchObject({
      status: "ACTIVE",
      expiresAt,
      lastUsedAt: null,
      previousSecretExpiresAt: null,
      deletedAt: null,
    });
  });

  it("is DISABLED while INACTIVE (at once in this isolate), VALID again when ACTIVE", async () => {
    const key = await createAiKey(admin, repoId);
    const cached = env as Bindings;
    expect(await verified(key.secret, cached)).toBe("VALID");
    expect((await update(admin, key.id, { status: "INACTIVE" })).status).toBe(200);
    expect((await listed(key.id)).status).toBe("INACTIVE");
    expect(await verified(key.secret, cached)).toBe("DISABLED");
    // Flashback's { name } leaves the status alone.
    expect((await update(admin, key.id, { name: "renamed" })).status).toBe(200);
    expect(await listed(key.id)).toMatchObject({ name: "renamed", status: "INACTIVE" });
    expect((await update(admin, key.id, { status: "ACTIVE" })).status).toBe(200);
    expect(await verified(key.secret, cached)).toBe("VALID");
  });

  it("is EXPIRED once its expiry has passed; clearing it restores the key", async () => {
    const key = await createAiKey(admin, repoId);
    await env.DB.prepare("UPDATE ai_keys SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), key.id)
      .run();
    expect((await listed(key.id)).status).toBe("EXPIRED");
    expect(await verified(key.secret)).toBe("EXPIRED");
    expect((await update(admin, key.id, { expiresAt: null })).status).toBe(200);
    expect(await verified(key.secret)).toBe("VALID");
  });

  it("cannot change its type, and needs at least one field", async () => {
    const key = await createAiKey(admin, repoId);
    expectError(await update(admin, key.id, { aiType: "GOOGLE" }), 400);
    expectError(await update(admin, key.id, {}), 400, /at least one/);
    expectError(await update(people.reader, key.id, { status: "INACTIVE" }), 403);
  });

  it("rolls to a new secret (same id and FB_AI_ key), the old one valid for the grace period", async () => {
    const key = await createAiKey(admin, repoId);
    const rolled = await roll(admin, key.id, { gracePeriodSeconds: 600 });
    expect(rolled.status, rolled.text).toBe(200);
    expect(rolled.body).toMatchObject({ success: true, id: key.id, key: key.key });
    expect(rolled.body.secret).toMatch(/^fbai_sk_/);
    expect(await verified(rolled.body.secret)).toBe("VALID");
    expect(await verified(key.secret)).toBe("VALID");
    expect((await listed(key.id)).previousSecretExpiresAt).toBe(
      rolled.body.previousSecretExpiresAt,
    );
    // Past the grace period, the old secret is no secret at all.
    await env.DB.prepare("UPDATE ai_keys SET previous_secret_expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), key.id)
      .run();
    expect(await verified(key.secret)).toBe("INVALID");
    expect(await verified(rolled.body.secret)).toBe("VALID");
    // The sweep drops previous secrets whose grace is over.
    await resealSecrets(env as Bindings);
    expect(await keyRow("ai_keys", key.id)).toMatchObject({
      previous_sealed_secret: null,
      previous_secret_digest: null,
      previous_secret_expires_at: null,
    });
  });

  it("rolls with no grace by default: the old secret stops at once", async () => {
    const key = await createAiKey(admin, repoId);
    const cached = env as Bindings;
    expect(await verified(key.secret, cached)).toBe("VALID"); // remembered
    const rolled = await roll(admin, key.id);
    expect(rolled.body.previousSecretExpiresAt).toBeNull();
    expect(await verified(key.secret, cached)).toBe("INVALID");
    expect(await verified(rolled.body.secret, cached)).toBe("VALID");
  });

  it("may be rolled by WRITE members, not READ; a deleted key is 404; audited without secrets", async () => {
    const key = await createAiKey(admin, repoId);
    expectError(await roll(people.reader, key.id), 403);
    const rolled = await roll(people.writer, key.id);
    expect(rolled.status).toBe(200);
    const events = await auditEventsOf(key.id, "ai_apikey.rolled");
    expect(JSON.stringify(events)).not.toContain(rolled.body.secret);
    expect(JSON.stringify(events)).not.toContain(key.secret);
    await call("DELETE", `/repo/${repoId}/ai/apikey/${key.id}`, { as: admin });
    expectError(await roll(admin, key.id), 404);
  });

  it("pages like storage keys", async () => {
    const { admin: owner, repoId: repo } = await team();
    for (let i = 0; i < 3; i++) await createAiKey(owner, repo);
    const first = await call("GET", `/repo/${repo}/ai/apikey?limit=2`, { as: owner });
    expect(first.body.apiKeys).toHaveLength(2);
    const cursor = encodeURIComponent(first.body.nextCursor);
    const second = await call("GET", `/repo/${repo}/ai/apikey?limit=2&cursor=${cursor}`, {
      as: owner,
    });
    expect(second.body.apiKeys).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
  });
});
