import type { Role } from "../access/roles";
import type { BoundRead } from "../db/prepared";

/** The window of a key list's `usage24h`. */
const WINDOW_SECONDS = 24 * 3_600;

/**
 * VALID verifications of each of a repo's keys in the last 24 hours, for a key list, in the
 * list's own batch. The window's whole hours that the cron has rolled up (below the hour
 * watermark, src/usage/rollup.ts) are read from their hour rows, and only the minutes before the
 * first whole hour and after the watermark from minute rows: at most ~24 + ~75 rows per key and
 * code, where every minute row of the day was up to 1,440. Like the list's rows, it reads
 * nothing unless the caller holds one of `readers` in the repo's workspace: the repo id the
 * index is searched by is the membership's own answer, NULL for anyone else.
 */
export function recentValidRead(
  d1: D1Database,
  { repoId, userId, readers }: { repoId: string; userId: string; readers: readonly Role[] },
  now = Date.now(),
): BoundRead<{ keyId: string; n: number }> {
  const since = Math.floor((now / 1000 - WINDOW_SECONDS) / 60) * 60;
  const firstHour = Math.ceil(since / 3_600) * 3_600;
  const statement = d1
    .prepare(
      `WITH g AS MATERIALIZED (SELECT r.id AS id FROM repos r
         JOIN workspace_members m ON m.workspace_id = r.workspace_id
         WHERE r.id = ?1 AND m.user_id = ?3 AND m.role IN (SELECT value FROM json_each(?4))),
       w AS MATERIALIZED (SELECT max(?5,
         coalesce((SELECT through FROM usage_rollups WHERE scale = 'hour'), 0)) AS h)
       SELECT key_id AS keyId, sum(n) AS n FROM (
         SELECT key_id, n FROM key_usage WHERE scale = 'minute' AND repo_id = (SELECT id FROM g)
           AND t >= ?2 AND t < ?5 AND code = 'VALID' AND caller = ''
         UNION ALL
         SELECT key_id, n FROM key_usage WHERE scale = 'hour' AND repo_id = (SELECT id FROM g)
           AND t >= ?5 AND t < (SELECT h FROM w) AND code = 'VALID' AND caller = ''
         UNION ALL
         SELECT key_id, n FROM key_usage WHERE scale = 'minute' AND repo_id = (SELECT id FROM g)
           AND t >= (SELECT h FROM w) AND code = 'VALID' AND caller = ''
       ) GROUP BY key_id`,
    )
    .bind(repoId, since, userId, JSON.stringify(readers), firstHour);
  return {
    statement,
    rowsOf: (result) => (result?.results ?? []) as { keyId: string; n: number }[],
  };
}
