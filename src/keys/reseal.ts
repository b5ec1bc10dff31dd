import { and, asc, eq, gt, type SQL, sql } from "drizzle-orm";
import { type Keyring, keyringFrom, type SecretKind } from "../crypto/seal";
import { database } from "../db/client";
import type { KeyTable } from "../db/key-rows";
import { aiKeys, storageKeys } from "../db/schema";
import type { Bindings } from "../env";

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
  return sql`substr(${table.sealedSecret}, 1, ${prefix.length}) <> ${prefix}`;
}

/**
 * Moves sealed secrets, revoked keys' included, onto the keyring's first key, so a rotated-out
 * key can be dropped once nothing needs it. Each secret is opened against its own row (the AAD)
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
  for (const { kind, table } of TABLES) {
    let after = "";
    for (let page = 0; page < maxPages; page++) {
      const rows = await db
        .select({ id: table.id, repoId: table.repoId, sealedSecret: table.sealedSecret })
        .from(table as typeof storageKeys)
        .where(and(sealedUnderOtherKey(table, report.version), gt(table.id, after)))
        .orderBy(asc(table.id))
        .limit(pageSize);
      const updates = [];
      for (const row of rows) {
        const resealed = await resealOne(keyring, kind, row);
        if (resealed === undefined) {
          report.unopenable += 1;
          continue;
        }
        updates.push(
          db
            .update(table)
            .set({ sealedSecret: resealed })
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
  return report;
}

/** The secret sealed under the current key, or undefined (logged) if it cannot be opened. */
async function resealOne(
  keyring: Keyring,
  kind: SecretKind,
  row: { id: string; repoId: string; sealedSecret: string },
): Promise<string | undefined> {
  const binding = { kind, repoId: row.repoId, keyId: row.id };
  let secret: string;
  try {
    secret = await keyring.open(row.sealedSecret, binding);
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        message: "a sealed secret cannot be opened with ENCRYPTION_KEYS; left as it is",
        kind,
        keyId: row.id,
        reason: error instanceof Error ? error.message : String(error),
      }),
    );
    return undefined;
  }
  return keyring.seal(secret, binding);
}

/** The cron trigger's entry: one bounded sweep, and a log line when it did or found anything. */
export async function scheduledReseal(env: Bindings): Promise<void> {
  const report = await resealSecrets(env);
  if (report.resealed > 0 || report.unopenable > 0 || report.more) {
    console.log(JSON.stringify({ level: "info", message: "re-seal sweep", ...report }));
  }
}
