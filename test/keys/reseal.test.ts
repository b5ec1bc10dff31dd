import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Keyring, type SecretKind } from "../../src/crypto/seal";
import type { Bindings } from "../../src/env";
import worker from "../../src/index";
import { resealSecrets } from "../../src/keys/reseal";
import { call, team } from "../support/api";
import { TEST_BINDINGS } from "../support/bindings";
import { createAiKey, createStorageKey, type KeyTable, keyRow } from "../support/keys";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A rotation: a fresh key put first in the test keyring ("t2" seals today, "t1" opens). */
function rotated() {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const entry = `t3:${btoa(String.fromCharCode(...raw))}`;
  return {
    bindings: { ...env, ENCRYPTION_KEYS: `${entry},${TEST_BINDINGS.ENCRYPTION_KEYS}` } as Bindings,
    /** The new key alone: what is left once the old ones are dropped. */
    newKeyOnly: Keyring.parse(entry),
  };
}

async function sealedSecret(table: KeyTable, id: string): Promise<string> {
  const row = await keyRow(table, id);
  return row?.sealed_secret as string;
}

const kindOf = (table: KeyTable): SecretKind => (table === "storage_keys" ? "storage" : "ai");

async function opensTo(keyring: Keyring, table: KeyTable, id: string, repoId: string) {
  return keyring.open(await sealedSecret(table, id), { kind: kindOf(table), repoId, keyId: id });
}

describe("re-sealing secrets after a key rotation", () => {
  it("moves every secret, revoked keys' included, onto the new key, which alone opens them", async () => {
    const { admin, repoId } = await team();
    const storage = await createStorageKey(admin, repoId);
    const ai = await createAiKey(admin, repoId);
    const revoked = await createStorageKey(admin, repoId);
    const deleted = await call("DELETE", `/repo/${repoId}/apikey/${revoked.id}`, { as: admin });
    expect(deleted.status, deleted.text).toBe(200);
    const { bindings, newKeyOnly } = rotated();

    const report = await resealSecrets(bindings);

    expect(report).toMatchObject({ version: "t3", unopenable: 0, more: false });
    expect(report.resealed).toBeGreaterThanOrEqual(3);
    for (const [table, key] of [
      ["storage_keys", storage],
      ["ai_keys", ai],
      ["storage_keys", revoked],
    ] as const) {
      expect(await sealedSecret(table, key.id)).toMatch(/^aesgcm\.t3\./);
      expect(await opensTo(newKeyOnly, table, key.id, repoId)).toBe(key.secret);
    }
    expect(await keyRow("storage_keys", revoked.id)).toMatchObject({
      deleted_at: expect.any(String),
    });

    // Nothing left to do: a second run changes nothing.
    const before = await sealedSecret("storage_keys", storage.id);
    expect(await resealSecrets(bindings)).toMatchObject({ resealed: 0, more: false });
    expect(await sealedSecret("storage_keys", storage.id)).toBe(before);
  });

  it("also moves secrets sealed under a key older than the current one", async () => {
    const { admin, repoId } = await team();
    const key = await createStorageKey(admin, repoId);
    // Sealed under "t1", as before the last rotation.
    const t1First = TEST_BINDINGS.ENCRYPTION_KEYS.split(",").reverse().join(",");
    const old = await Keyring.parse(t1First).seal(key.secret, {
      kind: "storage",
      repoId,
      keyId: key.id,
    });
    await env.DB.prepare("UPDATE storage_keys SET sealed_secret = ? WHERE id = ?")
      .bind(old, key.id)
      .run();
    const { bindings, newKeyOnly } = rotated();

    await resealSecrets(bindings);
    expect(await opensTo(newKeyOnly, "storage_keys", key.id, repoId)).toBe(key.secret);
  });

  it("leaves a secret that no key opens as it is, reports it by id, and moves the others", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { admin, repoId } = await team();
    const broken = await createStorageKey(admin, repoId);
    const fine = await createStorageKey(admin, repoId);
    const sealed = await sealedSecret("storage_keys", broken.id);
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith("AA") ? "BB" : "AA"}`;
    await env.DB.prepare("UPDATE storage_keys SET sealed_secret = ? WHERE id = ?")
      .bind(tampered, broken.id)
      .run();
    const { bindings, newKeyOnly } = rotated();

    const report = await resealSecrets(bindings);

    expect(report.unopenable).toBeGreaterThanOrEqual(1);
    expect(await sealedSecret("storage_keys", broken.id)).toBe(tampered);
    expect(await opensTo(newKeyOnly, "storage_keys", fine.id, repoId)).toBe(fine.secret);
    const logged = error.mock.calls.map((args) => JSON.parse(String(args[0])));
    expect(logged).toContainEqual(expect.objectContaining({ kind: "storage", keyId: broken.id }));
    expect(JSON.stringify(logged)).not.toContain(broken.secret);
    // Mended, so the sweeps of later tests do not report it again.
    await env.DB.prepare("UPDATE storage_keys SET sealed_secret = ? WHERE id = ?")
      .bind(sealed, broken.id)
      .run();
  });

  it("does not overwrite a secret that changed after the sweep read it", async () => {
    const { admin, repoId } = await team();
    const key = await createStorageKey(admin, repoId);
    const { bindings } = rotated();
    // Another writer stores a new ciphertext (same secret, new IV) right after the sweep's read.
    const writtenMeanwhile = await Keyring.parse(TEST_BINDINGS.ENCRYPTION_KEYS).seal(key.secret, {
      kind: "storage",
      repoId,
      keyId: key.id,
    });
    const { db, ran } = afterSweepRead(() =>
      env.DB.prepare("UPDATE storage_keys SET sealed_secret = ? WHERE id = ?")
        .bind(writtenMeanwhile, key.id)
        .run(),
    );

    await resealSecrets({ ...bindings, DB: db });
    expect(ran()).toBe(true);
    expect(await sealedSecret("storage_keys", key.id)).toBe(writtenMeanwhile);
  });
});

/** The real D1, where `meanwhile` runs once right after the sweep's first read returns. */
function afterSweepRead(meanwhile: () => Promise<unknown>) {
  let pending = true;
  const watched = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (property === "bind") {
          return (...values: unknown[]) => watched(target.bind(...values));
        }
        if (property === "raw" || property === "all") {
          return async (...args: unknown[]) => {
            const rows = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (pending) {
              pending = false;
              await meanwhile();
            }
            return rows;
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const db = new Proxy(env.DB, {
    get(target, property) {
      if (property === "prepare") {
        return (query: string) => {
          const statement = target.prepare(query);
          // Only the sweep's read of stale rows; its updates go through untouched.
          return query.includes("substr(") ? watched(statement) : statement;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, ran: () => !pending };
}

describe("a run's bounds", () => {
  it("reads page after page up to its limit, says there is more, and the next run goes on", async () => {
    const { admin, repoId } = await team();
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push(await createStorageKey(admin, repoId));
    const { bindings, newKeyOnly } = rotated();
    // At least these five rows are still on t2 (earlier tests moved theirs to a "t3"): more
    // than two pages of two.
    const limits = { pageSize: 2, maxPages: 2 };

    const first = await resealSecrets(bindings, limits);
    expect(first).toMatchObject({ resealed: 4, more: true });
    const second = await resealSecrets(bindings, limits);
    expect(second).toMatchObject({ more: false });
    for (const key of keys) {
      expect(await opensTo(newKeyOnly, "storage_keys", key.id, repoId)).toBe(key.secret);
    }
  });
});

describe("the cron trigger", () => {
  it("runs the sweep: a scheduled event moves secrets onto the current key", async () => {
    const { admin, repoId } = await team();
    const key = await createAiKey(admin, repoId);
    const { bindings, newKeyOnly } = rotated();
    const ctx = createExecutionContext();

    await worker.scheduled?.(createScheduledController({ cron: "*/10 * * * *" }), bindings, ctx);
    await waitOnExecutionContext(ctx);

    expect(await opensTo(newKeyOnly, "ai_keys", key.id, repoId)).toBe(key.secret);
  });
});

describe("the sweep's cost", () => {
  /** env.DB, keeping the text of every statement the sweep prepares. */
  function recordingDb(): { db: D1Database; statements: string[] } {
    const statements: string[] = [];
    const db = new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare") {
          return (query: string) => {
            statements.push(query);
            return target.prepare(query);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { db, statements };
  }
  // The select that walks a table for secrets sealed under another key: every row it passes.
  const walksSealedSecrets = (sql: string) =>
    /^select .*substr\("(storage|ai)_keys"\."sealed_secret"/.test(sql);

  it("walks no table when the ring has one key: only keys without a digest are looked up", async () => {
    const { admin, repoId } = await team();
    await createStorageKey(admin, repoId);
    await createAiKey(admin, repoId);
    const sealing = TEST_BINDINGS.ENCRYPTION_KEYS.split(",")[0] as string;
    const settled = recordingDb();
    await resealSecrets({ ...env, DB: settled.db, ENCRYPTION_KEYS: sealing } as Bindings);
    expect(settled.statements.filter(walksSealedSecrets)).toEqual([]);
    expect(settled.statements.filter((sql) => /^select /.test(sql))).toEqual([
      expect.stringMatching(/from "storage_keys" where \("storage_keys"\."secret_digest" is null/),
      expect.stringMatching(/from "ai_keys" where \("ai_keys"\."secret_digest" is null/),
    ]);
    // While rotating (two keys) it does walk both tables: that is its job.
    const rotating = recordingDb();
    await resealSecrets({ ...env, DB: rotating.db } as Bindings);
    expect(rotating.statements.filter(walksSealedSecrets).length).toBeGreaterThanOrEqual(2);
  });
});
