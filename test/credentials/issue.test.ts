import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, expectError, team } from "../support/api";
import { auditEventsOf } from "../support/audit";
import { allKeyRows, createStorageKey, unknownId } from "../support/keys";
import { issueCredentials, requestCredentials } from "./support";

let t: Awaited<ReturnType<typeof team>>;
let writeKey: { id: string; key: string; secret: string };
let readKey: { id: string; key: string; secret: string };
let adminKey: { id: string; key: string; secret: string };

beforeAll(async () => {
  t = await team();
  writeKey = await createStorageKey(t.admin, t.repoId, { accessType: "WRITE" });
  readKey = await createStorageKey(t.admin, t.repoId, { accessType: "READ" });
  adminKey = await createStorageKey(t.admin, t.repoId, { accessType: "ADMIN" });
});

describe("POST /repo/{repoId}/apikey/{apikeyId}/temporary-credentials", () => {
  it("answers 201 with an FBTK… id, a 40-character secret, a session token and the scope; stores no key row", async () => {
    const before = await allKeyRows("storage_keys");
    const issuedAt = Math.floor(Date.now() / 1000);
    const response = await requestCredentials(t.writer, t.repoId, writeKey.id, {
      permission: "WRITE",
      prefixes: ["builds/1234/"],
      objects: ["release/notes.txt"],
      name: "build 1234",
    });
    expect(response.status, response.text).toBe(201);
    const body = response.body;
    expect(Object.keys(body).sort()).toEqual(
      [
        "accessKeyId",
        "expiration",
        "objects",
        "parentKeyId",
        "permission",
        "prefixes",
        "secretAccessKey",
        "sessionToken",
        "success",
      ].sort(),
    );
    expect(body.accessKeyId).toMatch(/^FBTK[A-Z0-9]{16}$/);
    expect(body.secretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(body.sessionToken).toMatch(/^FBST1\.t2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(body).toMatchObject({
      success: true,
      permission: "WRITE",
      prefixes: ["builds/1234/"],
      objects: ["release/notes.txt"],
      parentKeyId: writeKey.id,
    });
    // Default lifetime 900 s, to the second.
    const expiresAt = Date.parse(body.expiration) / 1000;
    expect(Number.isInteger(expiresAt)).toBe(true);
    expect(expiresAt - issuedAt).toBeGreaterThanOrEqual(900);
    expect(expiresAt - issuedAt).toBeLessThanOrEqual(901);
    // The token is sealed: the scope is not readable in it.
    expect(body.sessionToken).not.toContain("builds");
    expect(await allKeyRows("storage_keys")).toEqual(before);
  });

  it("records one audit event with the scope and the access key id, never the secret or token", async () => {
    const issued = await issueCredentials(t.admin, t.repoId, readKey.id, {
      permission: "READ",
      prefixes: ["shared/"],
      ttlSeconds: 120,
      name: "partner read",
    });
    const [event, ...more] = await auditEventsOf(readKey.id, "apikey.temporary_credentials_issued");
    expect(more).toEqual([]);
    expect((event as Record<string, unknown>).actor_id).toBe(t.admin);
    expect((event as Record<string, unknown>).repo_id).toBe(t.repoId);
    expect(event?.changes).toEqual({
      name: { after: "partner read" },
      key: { after: issued.accessKeyId },
      permission: { after: "READ" },
      prefixes: { after: '["shared/"]' },
      objects: { after: "[]" },
      expiresAt: { after: issued.expiration },
    });
    const stored = JSON.stringify(event);
    expect(stored).not.toContain(issued.secretAccessKey);
    expect(stored).not.toContain(issued.sessionToken.slice(10));
  });

  it("never lasts past the parent key's own expiresAt", async () => {
    const soon = new Date(Date.now() + 300_000).toISOString();
    const expiring = await createStorageKey(t.admin, t.repoId, { accessType: "READ" });
    const update = await call("PUT", `/repo/${t.repoId}/apikey/${expiring.id}`, {
      as: t.admin,
      body: { expiresAt: soon },
    });
    expect(update.status, update.text).toBe(200);
    const issued = await issueCredentials(t.admin, t.repoId, expiring.id, {
      permission: "READ",
      ttlSeconds: 43_200,
    });
    expect(issued.expiration).toBe(
      new Date(Math.floor(Date.parse(soon) / 1000) * 1000).toISOString(),
    );
  });

  it("needs the role that may create a key of the parent's access level", async () => {
    // READ members create no keys; WRITE members none stronger than WRITE.
    expectError(
      await requestCredentials(t.reader, t.repoId, readKey.id, { permission: "READ" }),
      403,
      "Insufficient permissions",
    );
    expectError(
      await requestCredentials(t.writer, t.repoId, adminKey.id, { permission: "READ" }),
      403,
    );
    expectError(
      await requestCredentials(t.outsider, t.repoId, readKey.id, { permission: "READ" }),
      403,
    );
    expect(
      (await requestCredentials(t.admin, t.repoId, adminKey.id, { permission: "WRITE" })).status,
    ).toBe(201);
  });

  it("refuses a permission above the parent's access (400)", async () => {
    const response = await requestCredentials(t.admin, t.repoId, readKey.id, {
      permission: "WRITE",
    });
    expectError(response, 400, "permission WRITE is above the key's own access (READ)");
    expect(response.body.code).toBe("BAD_REQUEST");
  });

  it("answers 404 for an unknown, another repo's or a deleted key, 409 for a disabled or expired one", async () => {
    expectError(
      await requestCredentials(t.admin, t.repoId, unknownId(), { permission: "READ" }),
      404,
    );
    const other = await team();
    const othersKey = await createStorageKey(other.admin, other.repoId, { accessType: "READ" });
    expectError(
      await requestCredentials(t.admin, t.repoId, othersKey.id, { permission: "READ" }),
      404,
    );
    const deleted = await createStorageKey(t.admin, t.repoId, { accessType: "READ" });
    await call("DELETE", `/repo/${t.repoId}/apikey/${deleted.id}`, { as: t.admin });
    expectError(
      await requestCredentials(t.admin, t.repoId, deleted.id, { permission: "READ" }),
      404,
    );

    const disabled = await createStorageKey(t.admin, t.repoId, { accessType: "READ" });
    await call("PUT", `/repo/${t.repoId}/apikey/${disabled.id}`, {
      as: t.admin,
      body: { status: "INACTIVE" },
    });
    expectError(
      await requestCredentials(t.admin, t.repoId, disabled.id, { permission: "READ" }),
      409,
      /disabled/,
    );
    const expired = await createStorageKey(t.admin, t.repoId, { accessType: "READ" });
    await env.DB.prepare("UPDATE storage_keys SET expires_at = ? WHERE id = ?")
      .bind(new Date(Date.now() - 1000).toISOString(), expired.id)
      .run();
    expectError(
      await requestCredentials(t.admin, t.repoId, expired.id, { permission: "READ" }),
      409,
      /expired/,
    );
  });

  const invalid: [string, unknown, string][] = [
    ["no permission", {}, "permission"],
    ["an ADMIN permission", { permission: "ADMIN" }, "permission"],
    ["a ttl under 60 s", { permission: "READ", ttlSeconds: 59 }, "ttlSeconds"],
    ["a ttl over 12 h", { permission: "READ", ttlSeconds: 43_201 }, "ttlSeconds"],
    ["a fractional ttl", { permission: "READ", ttlSeconds: 90.5 }, "ttlSeconds"],
    ["11 prefixes", { permission: "READ", prefixes: Array(11).fill("a/") }, "prefixes"],
    ["101 objects", { permission: "READ", objects: Array(101).fill("a") }, "objects"],
    ["an empty prefix", { permission: "READ", prefixes: [""] }, "prefixes.0"],
    ["a .. segment", { permission: "READ", prefixes: ["builds/../secret/"] }, "prefixes.0"],
    ["a . segment", { permission: "READ", objects: ["./a.txt"] }, "objects.0"],
    ["a lone surrogate", { permission: "READ", prefixes: ["a\ud800/"] }, "prefixes.0"],
    ["a control character", { permission: "READ", objects: ["a\u0001b"] }, "objects.0"],
    ["a key over 987 bytes", { permission: "READ", objects: ["é".repeat(494)] }, "objects.0"],
    [
      "a scope over 4096 bytes",
      { permission: "READ", objects: Array(10).fill("x".repeat(500)) },
      "objects",
    ],
    ["an unknown field", { permission: "READ", bucket: "x" }, ""],
  ];
  for (const [what, body, path] of invalid) {
    it(`refuses ${what} (400, names ${path || "the field"}) and issues nothing`, async () => {
      const response = await requestCredentials(t.admin, t.repoId, writeKey.id, body);
      expectError(response, 400);
      expect(response.body.code).toBe("VALIDATION_FAILED");
      if (path) expect(response.body.issues.map((i: { path: string }) => i.path)).toContain(path);
      expect(response.text).not.toMatch(/FBTK|FBST1/);
    });
  }

  it("accepts Unicode keys as they are, without normalising them", async () => {
    const issued = await issueCredentials(t.admin, t.repoId, writeKey.id, {
      permission: "READ",
      prefixes: ["café/", "cafe\u0301/", "🙂/"],
    });
    expect(issued.prefixes).toEqual(["café/", "cafe\u0301/", "🙂/"]);
  });
});
