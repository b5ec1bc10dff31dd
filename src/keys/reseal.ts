import { and, asc, eq, gt, isNull, lte, or, type SQL, sql } from "drizzle-orm";
import { type Keyring, keyringFrom, type SecretKind } from "../crypto/seal";
import { database } from "../db/client";
import type { KeyTable } from "../db/key-rows";
import { aiKeys, storageKeys } from "../db/schema";
import type { Bindings } from "../env";
import { log } from "../http/log";
import { resealProviderKeys } from "../providers/reseal";

// Both kinds of key are found by their secret's digest (AI verification, leak reports), which
// is keyed by the keyring too.
const TABLES: { kind: SecretKind; table: KeyTable }[] = [
  { kind: "storage", table: storageKeys },
  { kind: "ai", table: aiKeys },
];

/** How much one run may do: pages of rows read, per table. */
export interface ResealLimits {
  pageSize: number;
  maxPages: number;
}

// Up to 500 rows per table per run: a few milliseconds of AES-GCM, within a cron's CPU time.
const LIMITS: ResealLimits = { pageSize: 100, maxPages: 5 };

export interface ResealReport {
  /** The keyring version everything is being moved to (its first key). */
  version: string;
  resealed: number;
  /** Rows whose secret could not be opened with any key in the ring: left untouched. */
  unopenable: number;
  /** True when rows sealed under older keys may remain for the next run. */
  more: boolean;
}

/** Sealed under another key than the current sealing key (the version follows "aesgcm."). */
function sealedUnderOtherKey(table: KeyTable, version: string): SQL {
  const prefix = `aesgcm.${version}.`;
  return or(
    sql`substr(${table.sealedSecret}, 1, ${prefix.length}) <> ${prefix}`,
    sql`substr(${table.previousSealedSecret}, 1, ${prefix.length}) <> ${prefix}`,
  ) as SQL;
}

/** A key with no digest yet (made before there were any), or one under an older key. */
function digestMissingOrOld(table: KeyTable, version: string): SQL {
  const prefix = `${version}.`;
  return or(
    isNull(table.secretDigest),
    sql`substr(${table.secretDigest}, 1, ${prefix.length}) <> ${prefix}`,
    sql`substr(${table.previousSecretDigest}, 1, ${prefix.length}) <> ${prefix}`,
  ) as SQL;
}

/**
 * Moves sealed secrets, revoked keys' included, onto the keyring's first key, so a rotated-out
 * key can be dropped once nothing needs it; secret digests move with them (and rows made before
 * digests existed get theirs: AI verification and leak reports find keys by it). Each secret is opened against its own row (the AAD)
 * and sealed again; the write is a compare-and-swap on the old ciphertext, so a row changed
 * meanwhile is left for the next run. A secret no key can open is reported (id only) and never
 * overwritten. Runs from the Worker's cron trigger; bounded per run to stay within its CPU time.
 */
export async function resealSecrets(
  env: Bindings,
  { pageSize, maxPages }: ResealLimits = LIMITS,
): Promise<ResealReport> {
  const keyring = keyringFrom(env.ENCRYPTION_KEYS);
  const db = database(env.DB);
  const report: ResealReport = {
    version: keyring.sealingVersion,
    resealed: 0,
    unopenable: 0,
    more: false,
  };
  const at = new Date().toISOString();
  for (const { kind, table } of TABLES) {
    // A previous secret whose grace period is over is of no use to anyone: drop it.
    await db
      .update(table as typeof aiKeys)
      .set({
        previousSealedSecret: null,
        previousSecretExpiresAt: null,
        previousSecretDigest: null,
      })
      .where(lte(table.previousSecretExpiresAt, at));
    // With one key in the ring nothing that key can open is sealed under another, so unless a
    // rotation is under way the sweep reads nothing but keys without a digest yet (indexed).
    // What a removed key sealed cannot be opened by anyone; it was reported while rotating.
    const rotating = keyring.versions.length > 1;
    let after = "";
    const stale = !rotating
      ? isNull(table.secretDigest)
      : or(sealedUnderOtherKey(table, report.version), digestMissingOrOld(table, report.version));
    for (let page = 0; page < maxPages; page++) {
      const rows = await db
        .select({
          id: table.id,
          repoId: table.repoId,
          sealedSecret: table.sealedSecret,
          previousSealedSecret: table.previousSealedSecret,
        })
        .from(table as typeof storageKeys)
        .where(and(stale, gt(table.id, after)))
        .orderBy(asc(table.id))
        .limit(pageSize);
      const updates = [];
      for (const row of rows) {
        const secret = await openOne(keyring, kind, row);
        if (secret === undefined) {
          report.unopenable += 1;
          continue;
        }
        const binding = { kind, repoId: row.repoId, keyId: row.id };
        const sealedSecret = await keyring.seal(secret, binding);
        const digest = { secretDigest: await keyring.digest(secret) };
        // A rolled key's previous secret moves too, sealed to its own slot.
        let previous = {};
        if (row.previousSealedSecret) {
          const slot = { ...row, sealedSecret: row.previousSealedSecret };
          const old = await openOne(keyring, kind, slot, "previous");
          if (old === undefined) {
            report.unopenable += 1;
            continue;
          }
          previous = {
            previousSealedSecret: await keyring.seal(old, { ...binding, slot: "previous" }),
            previousSecretDigest: await keyring.digest(old),
          };
        }
        updates.push(
          db
            .update(table as typeof aiKeys)
            .set({ sealedSecret, ...digest, ...previous })
            .where(and(eq(table.id, row.id), eq(table.sealedSecret, row.sealedSecret))),
        );
      }
      const [first, ...rest] = updates;
      if (first) {
        const results = await db.batch([first, ...rest]);
        report.resealed += results.reduce((sum, result) => sum + result.meta.changes, 0);
      }
      const last = rows.at(-1);
      if (rows.length < pageSize || !last) break;
      after = last.id;
      if (page === maxPages - 1) report.more = true;
    }
  }
  // The repos' provider keys (src/providers) are sealed by the same ring and move with it.
  const providers = await resealProviderKeys(env, { pageSize, maxPages });
  report.resealed += providers.resealed;
  report.unopenable += providers.unopenable;
  report.more ||= providers.more;
  return report;
}

/** The row's secret, or undefined (logged) if no key in the ring opens it. */
async function openOne(
  keyring: Keyring,
  kind: SecretKind,
  row: { id: string; repoId: string; sealedSecret: string },
  slot?: "previous",
): Promise<string | undefined> {
  try {
    return await keyring.open(row.sealedSecret, { kind, repoId: row.repoId, keyId: row.id, slot });
  } catch (error) {
    log.error("a sealed secret cannot be opened with ENCRYPTION_KEYS; left as it is", {
      kind,
      keyId: row.id,
      reason: error,
    });
    return undefined;
  }
}

/** The cron trigger's entry: one bounded sweep, and a log line when it did or found anything. */
export async function scheduledReseal(env: Bindings): Promise<void> {
  const report = await resealSecrets(env);
  if (report.resealed > 0 || report.unopenable > 0 || report.more) {
    log.info("re-seal sweep", { ...report });
  }
}
