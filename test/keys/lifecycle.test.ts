import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { keyringFrom } from "../../src/crypto/seal";
import type { Bindings } from "../../src/env";
import { resealSecrets } from "../../src/keys/reseal";
import { verifyS3Request } from "../../src/verify/s3";
import { call, expectError, team } from "../support/api";
import { auditEventsOf } from "../support/audit";
import { callWith, createStorageKey, dbWithConcurrentWrite, keyRow } from "../support/keys";
import { signedS3Request } from "../verify/support";

let people: Awaited<ReturnType<typeof team>>;
let admin: string;
let repoId: string;

beforeAll(async () => {
  people = await team();
  ({ admin, repoId } = people);
});

const ignoreWaitUntil = () => {};
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const update = (as: string, id: string, body: unknown) =>
  call("PUT", `/repo/${repoId}/apikey/${id}`, { as, body });
const roll = (as: string, id: string, body?: unknown) =>
  call("POST", `/repo/${repoId}/apikey/${id}/roll`, { as, body });
const listed = async (id: string) =>
  (await call("GET", `/repo/${repoId}/apikey`, { as: admin })).body.keys.find(
    (key: { id: string }) => key.id === id,
  );
/** What a gateway is told about a GET signed with `secret` for this key, right now. */
const verified = async (key: { key: string }, secret: string, uncached = true) => {
  const input = await signedS3Request({ key: key.key, secret }, { path: `/${repoId}/a.txt` });
  const settings = uncached ? { VERIFY_CACHE_TTL_SECONDS: "0" } : {};
  return (await verifyS3Request({ ...(env as Bindings), ...settings }, input, ignoreWaitUntil))
    .code;
};

describe("expiry", () => {
  it("is set at creation, listed, and normalised to UTC", async () => {
    const at = new Date(Date.now() + 86_400_000);
    // The same instant written at +02:00: the wall-clock time two hours ahead, then the offset.
    const offset = new Date(at.getTime() + 2 * 3_600_000).toISOString().replace("Z", "+02:00");
    const response = await call("POST", `/repo/${repoId}/apikey`, {
      as: admin,
      body: { name: "expiring", accessType: "READ", expiresAt: offset },
    });
    expect(response.status, response.text).toBe(200);
    const key = await listed(response.body.id);
    expect(key.status).toBe("ACTIVE");
    expect(Date.parse(key.expiresAt)).toBe(Date.parse(offset));
    expect(key.expiresAt).toMatch(/Z$/);
  });

  it("once passed, lists the key as EXPIRED and verification answers EXPIRED", async () => {
    const key = await createStorageKey(admin, repoId);
    await env.DB.prepare("UPDATE storage_keys SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), key.id)
      .run();
    expect((await listed(key.id)).status).toBe("EXPIRED");
    expect(await verified(key, key.secret)).toBe("EXPIRED");
    // Told only to whoever proves the secret.
    expect(await verified(key, "x".repeat(40))).toBe("SIGNATURE_MISMATCH");
    expect((await update(admin, key.id, { expiresAt: null })).status).toBe(200);
    expect((await listed(key.id)).status).toBe("ACTIVE");
    expect(await verified(key, key.secret)).toBe("VALID");
  });
});

describe("disabling", () => {
  it("makes the key INACTIVE and DISABLED at once for gateways; enabling restores it", async () => {
    const key = await createStorageKey(admin, repoId, { accessType: "WRITE" });
    expect(await verified(key, key.secret, false)).toBe("VALID"); // remembered by this isolate
    expect((await update(admin, key.id, { status: "INACTIVE" })).status).toBe(200);
    expect((await listed(key.id)).status).toBe("INACTIVE");
    expect(await verified(key, key.secret, false)).toBe("DISABLED");
    // Flashback's {name, accessType} leaves the status alone.
    expect((await update(admin, key.id, { name: "renamed", accessType: "READ" })).status).toBe(200);
    expect(await listed(key.id)).toMatchObject({ name: "renamed", status: "INACTIVE" });
    expect((await update(admin, key.id, { status: "ACTIVE" })).status).toBe(200);
    expect(await verified(key, key.secret, false)).toBe("VALID");
  });

  it("follows the update rules: WRITE cannot touch an ADMIN key, READ nothing", async () => {
    const adminKey = await createStorageKey(admin, repoId, { accessType: "ADMIN" });
    expectError(await update(people.writer, adminKey.id, { status: "INACTIVE" }), 403);
    expectError(await update(people.writer, adminKey.id, { expiresAt: inAnHour() }), 403);
    const writeKey = await createStorageKey(admin, repoId, { accessType: "WRITE" });
    expectError(await update(people.reader, writeKey.id, { status: "INACTIVE" }), 403);
    expect((await update(people.writer, writeKey.id, { status: "INACTIVE" })).status).toBe(200);
    expect((await keyRow("storage_keys", adminKey.id))?.status).toBe("ACTIVE");
  });

  it("still counts the key toward the quota", async () => {
    const { admin: owner, repoId: repo } = await team();
    const quota = { STORAGE_KEY_QUOTA: "1" };
    const body = { name: "only", accessType: "READ" };
    const first = await callWith(quota, "POST", `/repo/${repo}/apikey`, { as: owner, body });
    expect(first.status).toBe(200);
    await call("PUT", `/repo/${repo}/apikey/${first.body.id}`, {
      as: owner,
      body: { status: "INACTIVE" },
    });
    const second = await callWith(quota, "POST", `/repo/${repo}/apikey`, { as: owner, body });
    expectError(second, 409);
  });

  it("is audited with the status and expiry changes, and no secret", async () => {
    const key = await createStorageKey(admin, repoId);
    const expiresAt = inAnHour();
    await update(admin, key.id, { status: "INACTIVE", expiresAt });
    const events = await auditEventsOf(key.id, "apikey.updated");
    expect(events.at(-1)?.changes).toEqual({
      status: { before: "ACTIVE", after: "INACTIVE" },
      expiresAt: { before: null, after: expiresAt },
    });
    expect(JSON.stringify(events)).not.toContain(key.secret);
  });
});

describe("rolling", () => {
  it("gives a new secret for the same id and key; the old one stops at once by default", async () => {
    const key = await createStorageKey(admin, repoId);
    const response = await roll(admin, key.id);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({
      success: true,
      id: key.id,
      key: key.key,
      secret: expect.stringMatching(/^fbsk_[0-9A-Za-z]{35}$/),
      previousSecretExpiresAt: null,
    });
    expect(response.body.secret).not.toBe(key.secret);
    expect(await verified(key, response.body.secret)).toBe("VALID");
    expect(await verified(key, key.secret)).toBe("SIGNATURE_MISMATCH");
    expect((await listed(key.id)).previousSecretExpiresAt).toBeNull();
  });

  it("keeps the previous secret working for the grace period; a second roll ends it", async () => {
    const key = await createStorageKey(admin, repoId);
    const first = await roll(admin, key.id, { gracePeriodSeconds: 3600 });
    expect(first.status).toBe(200);
    const graceEnds = Date.parse(first.body.previousSecretExpiresAt);
    expect(graceEnds).toBeGreaterThan(Date.now() + 3_590_000);
    expect((await listed(key.id)).previousSecretExpiresAt).toBe(first.body.previousSecretExpiresAt);
    expect(await verified(key, key.secret)).toBe("VALID");
    expect(await verified(key, first.body.secret)).toBe("VALID");

    const second = await roll(admin, key.id, { gracePeriodSeconds: 60 });
    expect(await verified(key, key.secret)).toBe("SIGNATURE_MISMATCH");
    expect(await verified(key, first.body.secret)).toBe("VALID");
    expect(await verified(key, second.body.secret)).toBe("VALID");

    // Once the grace period is over, the previous secret is refused and no longer listed.
    await env.DB.prepare("UPDATE storage_keys SET previous_secret_expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), key.id)
      .run();
    expect(await verified(key, first.body.secret)).toBe("SIGNATURE_MISMATCH");
    expect((await listed(key.id)).previousSecretExpiresAt).toBeNull();
  });

  it("seals the two secrets with their own AAD, so they cannot be swapped", async () => {
    const key = await createStorageKey(admin, repoId);
    await roll(admin, key.id, { gracePeriodSeconds: 600 });
    const row = await keyRow("storage_keys", key.id);
    const keyring = keyringFrom((env as Bindings).ENCRYPTION_KEYS);
    const binding = { kind: "storage" as const, repoId, keyId: key.id };
    expect(await keyring.open(row?.previous_sealed_secret, { ...binding, slot: "previous" })).toBe(
      key.secret,
    );
    await expect(keyring.open(row?.previous_sealed_secret, binding)).rejects.toThrow();
    await expect(
      keyring.open(row?.sealed_secret, { ...binding, slot: "previous" }),
    ).rejects.toThrow();
  });

  it("follows the update rules, and a deleted or unknown key is 404", async () => {
    const adminKey = await createStorageKey(admin, repoId, { accessType: "ADMIN" });
    expectError(await roll(people.writer, adminKey.id), 403);
    const readKey = await createStorageKey(admin, repoId, { accessType: "READ" });
    expectError(await roll(people.reader, readKey.id), 403);
    expectError(await roll(people.outsider, readKey.id), 403);
    expect((await roll(people.writer, readKey.id)).status).toBe(200);
    await call("DELETE", `/repo/${repoId}/apikey/${readKey.id}`, { as: admin });
    expectError(await roll(admin, readKey.id), 404);
    expectError(await roll(admin, crypto.randomUUID()), 404);
    for (const gracePeriodSeconds of [-1, 604_801, 1.5, "60"]) {
      expectError(await roll(admin, adminKey.id, { gracePeriodSeconds }), 400);
    }
    expectError(await roll(admin, adminKey.id, { gracePeriod: 60 }), 400);
  });

  it("of two at once, one wins and the other is 409: one current and one previous secret", async () => {
    const key = await createStorageKey(admin, repoId);
    let meanwhile: Awaited<ReturnType<typeof roll>> | undefined;
    const db = dbWithConcurrentWrite(async () => {
      meanwhile = await roll(admin, key.id, { gracePeriodSeconds: 600 });
    });
    const loser = await callWith({ DB: db }, "POST", `/repo/${repoId}/apikey/${key.id}/roll`, {
      as: admin,
      body: { gracePeriodSeconds: 600 },
    });
    expectError(loser, 409);
    expect(meanwhile?.status).toBe(200);
    const winner = meanwhile?.body.secret as string;
    expect(await verified(key, winner)).toBe("VALID");
    expect(await verified(key, key.secret)).toBe("VALID"); // the one previous secret
    const row = await keyRow("storage_keys", key.id);
    const keyring = keyringFrom((env as Bindings).ENCRYPTION_KEYS);
    const binding = { kind: "storage" as const, repoId, keyId: key.id };
    expect(await keyring.open(row?.sealed_secret, binding)).toBe(winner);
    expect(await keyring.open(row?.previous_sealed_secret, { ...binding, slot: "previous" })).toBe(
      key.secret,
    );
  });

  it("is audited as apikey.rolled, without any secret", async () => {
    const key = await createStorageKey(admin, repoId);
    const rolled = await roll(admin, key.id, { gracePeriodSeconds: 60 });
    const events = await auditEventsOf(key.id, "apikey.rolled");
    expect(events).toHaveLength(1);
    expect(events[0]?.changes).toEqual({
      previousSecretExpiresAt: { after: rolled.body.previousSecretExpiresAt },
    });
    const text = JSON.stringify(events);
    expect(text).not.toContain(key.secret);
    expect(text).not.toContain(rolled.body.secret);
  });

  it("is followed by the re-seal sweep: previous secrets move to a new key too", async () => {
    const key = await createStorageKey(admin, repoId);
    await roll(admin, key.id, { gracePeriodSeconds: 600 });
    const fresh = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const rotated = {
      ...(env as Bindings),
      ENCRYPTION_KEYS: `t9:${fresh},${(env as Bindings).ENCRYPTION_KEYS}`,
      VERIFY_CACHE_TTL_SECONDS: "0",
    };
    await resealSecrets(rotated, { pageSize: 1000, maxPages: 10 });
    const row = await keyRow("storage_keys", key.id);
    expect(row?.sealed_secret).toMatch(/^aesgcm\.t9\./);
    expect(row?.previous_sealed_secret).toMatch(/^aesgcm\.t9\./);
    const input = await signedS3Request(key, { path: `/${repoId}/a.txt` });
    expect((await verifyS3Request(rotated, input, ignoreWaitUntil)).code).toBe("VALID");
  });
});

describe("paged lists", () => {
  it("walk every key once, newest first, with nextCursor null at the end", async () => {
    const { admin: owner, repoId: repo } = await team();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createStorageKey(owner, repo)).id);
    const whole = await call("GET", `/repo/${repo}/apikey`, { as: owner });
    expect(whole.body.nextCursor).toBeNull();
    const order = whole.body.keys.map((k: { id: string }) => k.id);
    expect([...order].sort()).toEqual([...ids].sort());

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : "?limit=2";
      const page = await call("GET", `/repo/${repo}/apikey${query}`, { as: owner });
      expect(page.status, page.text).toBe(200);
      expect(page.body.keys.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.keys.map((k: { id: string }) => k.id));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(order);
  });

  it("refuse a bad limit or cursor with 400", async () => {
    for (const query of ["limit=0", "limit=101", "limit=abc", "limit=1e1", "cursor=nope"]) {
      expectError(await call("GET", `/repo/${repoId}/apikey?${query}`, { as: admin }), 400);
      expectError(await call("GET", `/repo/${repoId}/ai/apikey?${query}`, { as: admin }), 400);
    }
  });
});

describe("rows from before the lifecycle", () => {
  it("read as ACTIVE with no expiry", async () => {
    const id = crypto.randomUUID();
    const at = new Date().toISOString();
    // The columns a row had before migration 0002: the new ones take their defaults.
    await env.DB.prepare(
      `INSERT INTO storage_keys (id, repo_id, name, access_type, key, sealed_secret, created_by, created_at, updated_at)
       VALUES (?, ?, 'old', 'READ', ?, 'aesgcm.t2.x.y', ?, ?, ?)`,
    )
      .bind(id, repoId, `FBAKOLD${id.slice(0, 8).toUpperCase()}`, admin, at, at)
      .run();
    expect(await listed(id)).toMatchObject({
      status: "ACTIVE",
      expiresAt: null,
      previousSecretExpiresAt: null,
    });
  });
});
