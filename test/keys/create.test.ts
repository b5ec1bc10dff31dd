import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Keyring } from "../../src/crypto/seal";
import { call, expectError, team } from "../support/api";
import { TEST_BINDINGS } from "../support/bindings";
import {
  callWith,
  countKeyRows,
  createStorageKey,
  keyRow,
  recordingAuditQueue,
} from "../support/keys";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST /repo/{repoId}/apikey", () => {
  it("returns 200 {success, id, key, secret} with S3-shaped credentials, never cached", async () => {
    const { writer, repoId } = await team();
    const response = await call("POST", `/repo/${repoId}/apikey`, {
      as: writer,
      body: { name: "CI Bot", accessType: "WRITE" },
    });

    expect(response.status, response.text).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(Object.keys(response.body).sort()).toEqual(["id", "key", "secret", "success"]);
    expect(response.body.success).toBe(true);
    expect(response.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.body.key).toMatch(/^FBAK[A-Z0-9]{16}$/);
    expect(response.body.secret).toMatch(/^fbsk_[0-9A-Za-z]{35}$/);
  });

  it("stores the key with its name, access type and creator", async () => {
    const { writer, repoId } = await team();
    const { id, key } = await createStorageKey(writer, repoId, {
      name: "  Deploy bot  ",
      accessType: "WRITE",
    });

    const row = await keyRow("storage_keys", id);
    expect(row).toMatchObject({
      repo_id: repoId,
      name: "Deploy bot",
      access_type: "WRITE",
      key,
      created_by: writer,
      deleted_at: null,
    });
  });

  it("gives every key a different key id and secret", async () => {
    const { admin, repoId } = await team();
    const a = await createStorageKey(admin, repoId);
    const b = await createStorageKey(admin, repoId);
    expect(a.id).not.toBe(b.id);
    expect(a.key).not.toBe(b.key);
    expect(a.secret).not.toBe(b.secret);
  });

  it("accepts the path's repoId repeated in the body, as Flashback's client sends it", async () => {
    const { writer, repoId } = await team();
    const response = await call("POST", `/repo/${repoId}/apikey`, {
      as: writer,
      body: { repoId, name: "From the client", accessType: "READ" },
    });
    expect(response.status, response.text).toBe(200);
  });

  it("refuses a body repoId that differs from the path (400), creating nothing in either repo", async () => {
    const { admin, repoId } = await team();
    const other = await team();
    const response = await call("POST", `/repo/${repoId}/apikey`, {
      as: admin,
      body: { repoId: other.repoId, name: "Sneaky", accessType: "READ" },
    });
    expectError(response, 400);
    expect(await countKeyRows("storage_keys", repoId)).toBe(0);
    expect(await countKeyRows("storage_keys", other.repoId)).toBe(0);
  });
});

describe("the secret", () => {
  it("is in no audit event and no log line, only in the create response", async () => {
    const { admin, repoId } = await team();
    const { queue, sent } = recordingAuditQueue();
    const logged: unknown[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args) => logged.push(args));
    }

    const response = await callWith({ AUDIT: queue }, "POST", `/repo/${repoId}/apikey`, {
      as: admin,
      body: { name: "Audited", accessType: "READ" },
    });
    expect(response.status, response.text).toBe(200);
    const { id, key, secret } = response.body;

    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ type: "apikey.created", targetId: id, repoId });
    expect(JSON.stringify(sent)).toContain(key);
    expect(JSON.stringify(sent)).not.toContain(secret);
    expect(JSON.stringify(sent)).not.toContain("aesgcm");
    expect(JSON.stringify(logged)).not.toContain(secret);
  });

  it("is AES-GCM ciphertext bound to its row that opens to the returned secret", async () => {
    const { admin, repoId } = await team();
    const { id, secret } = await createStorageKey(admin, repoId);
    const row = await keyRow("storage_keys", id);
    const sealed = row?.sealed_secret as string;

    expect(env.ENCRYPTION_KEYS).toBe(TEST_BINDINGS.ENCRYPTION_KEYS);
    expect(sealed).toMatch(/^aesgcm\.t2\./);
    expect(sealed).not.toContain(secret);
    expect(Object.values(row ?? {})).not.toContain(secret);

    const keyring = Keyring.parse(TEST_BINDINGS.ENCRYPTION_KEYS);
    expect(await keyring.open(sealed, { kind: "storage", repoId, keyId: id })).toBe(secret);
    await expect(keyring.open(sealed, { kind: "ai", repoId, keyId: id })).rejects.toThrow();
    await expect(
      keyring.open(sealed, { kind: "storage", repoId, keyId: crypto.randomUUID() }),
    ).rejects.toThrow();
  });
});

describe("a misconfigured keyring", () => {
  it("turns requests into a JSON 503 that writes nothing and logs why, rather than seal weakly", async () => {
    const { admin, repoId } = await team();
    const errors: unknown[] = [];
    vi.spyOn(console, "error").mockImplementation((...args) => errors.push(args));
    const allZero = btoa(String.fromCharCode(...new Uint8Array(32)));

    for (const ENCRYPTION_KEYS of [`t1:${allZero}`, "t1:c2hvcnQ=", ""]) {
      const response = await callWith({ ENCRYPTION_KEYS }, "POST", `/repo/${repoId}/apikey`, {
        as: admin,
        body: { name: "k", accessType: "READ" },
      });
      expectError(response, 503);
      expect(response.text).not.toContain("ENCRYPTION_KEYS");
    }
    expect(await countKeyRows("storage_keys", repoId)).toBe(0);
    expect(JSON.stringify(errors)).toContain("not random enough");
    expect(JSON.stringify(errors)).toContain("must be 32 bytes");
    expect(JSON.stringify(errors)).toContain("ENCRYPTION_KEYS is not set");
  });

  it("refuses even requests that seal nothing, as a startup check would", async () => {
    const { reader, repoId } = await team();
    const response = await callWith(
      { ENCRYPTION_KEYS: "t1:c2hvcnQ=" },
      "GET",
      `/repo/${repoId}/apikey`,
      {
        as: reader,
      },
    );
    expectError(response, 503);
  });
});

describe("the per-repo quota of active keys", () => {
  const quota = { STORAGE_KEY_QUOTA: "2" };

  it("refuses a key over the quota with 409 QUOTA_EXCEEDED; deleting one frees a slot", async () => {
    const { admin, repoId } = await team();
    const create = () =>
      callWith(quota, "POST", `/repo/${repoId}/apikey`, {
        as: admin,
        body: { name: "Key", accessType: "READ" },
      });

    const first = await create();
    expect((await create()).status).toBe(200);
    const over = await create();
    expectError(over, 409);
    expect(over.body.code).toBe("QUOTA_EXCEEDED");
    expect(await countKeyRows("storage_keys", repoId)).toBe(2);

    const deleted = await callWith(quota, "DELETE", `/repo/${repoId}/apikey/${first.body.id}`, {
      as: admin,
    });
    expect(deleted.status, deleted.text).toBe(200);
    expect((await create()).status).toBe(200);
  });

  it("counts each repo separately", async () => {
    const { admin, workspaceId, repoId } = await team();
    const other = await call("POST", "/repo", {
      as: admin,
      body: { name: "second", workspaceId },
    });
    for (const id of [repoId, repoId, other.body.id]) {
      const response = await callWith(quota, "POST", `/repo/${id}/apikey`, {
        as: admin,
        body: { name: "Key", accessType: "READ" },
      });
      expect(response.status, response.text).toBe(200);
    }
  });
});
