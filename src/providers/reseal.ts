import { and, asc, eq, gt, or, sql } from "drizzle-orm";
import { keyringFrom } from "../crypto/seal";
import { database } from "../db/client";
import { aiProviders } from "../db/schema";
import type { Bindings } from "../env";
import { log } from "../http/log";
import type { ResealLimits } from "../keys/reseal";
import { providerBinding } from "./store";

export interface ProviderResealReport {
  resealed: number;
  /** Rows no key in the ring opens: left untouched, reported by repo and type only. */
  unopenable: number;
  more: boolean;
}

/**
 * Moves provider keys sealed under an older ENCRYPTION_KEYS entry onto the current one, as the
 * key tables' sweep does for secrets (src/keys/reseal.ts): opened against their own row,
 * sealed again, written only if the row still holds the ciphertext read. With one key in the
 * ring there is nothing to move and nothing is read.
 */
export async function resealProviderKeys(
  env: Bindings,
  { pageSize, maxPages }: ResealLimits,
): Promise<ProviderResealReport> {
  const keyring = keyringFrom(env.ENCRYPTION_KEYS);
  const report: ProviderResealReport = { resealed: 0, unopenable: 0, more: false };
  if (keyring.versions.length < 2) return report;
  const db = database(env.DB);
  const prefix = `aesgcm.${keyring.sealingVersion}.`;
  const stale = sql`substr(${aiProviders.sealedApiKey}, 1, ${prefix.length}) <> ${prefix}`;
  let after = { repoId: "", aiType: "" };
  for (let page = 0; page < maxPages; page++) {
    const rows = await db
      .select({
        repoId: aiProviders.repoId,
        aiType: aiProviders.aiType,
        sealedApiKey: aiProviders.sealedApiKey,
      })
      .from(aiProviders)
      .where(
        and(
          stale,
          or(
            gt(aiProviders.repoId, after.repoId),
            and(eq(aiProviders.repoId, after.repoId), sql`${aiProviders.aiType} > ${after.aiType}`),
          ),
        ),
      )
      .orderBy(asc(aiProviders.repoId), asc(aiProviders.aiType))
      .limit(pageSize);
    const updates = [];
    for (const row of rows) {
      const binding = providerBinding(row.repoId, row.aiType);
      let apiKey: string;
      try {
        apiKey = await keyring.open(row.sealedApiKey, binding);
      } catch (error) {
        report.unopenable += 1;
        log.error("a sealed provider key cannot be opened with ENCRYPTION_KEYS; left as it is", {
          kind: "provider",
          // A provider key's row: its repo and type (never the key).
          keyId: `${row.repoId}/${row.aiType}`,
          reason: error,
        });
        continue;
      }
      updates.push(
        db
          .update(aiProviders)
          .set({ sealedApiKey: await keyring.seal(apiKey, binding) })
          .where(
            and(
              eq(aiProviders.repoId, row.repoId),
              eq(aiProviders.aiType, row.aiType),
              eq(aiProviders.sealedApiKey, row.sealedApiKey),
            ),
          ),
      );
    }
    const [first, ...rest] = updates;
    if (first) {
      const results = await db.batch([first, ...rest]);
      report.resealed += results.reduce((sum, result) => sum + result.meta.changes, 0);
    }
    const last = rows.at(-1);
    if (rows.length < pageSize || !last) break;
    after = last;
    if (page === maxPages - 1) report.more = true;
  }
  return report;
}
