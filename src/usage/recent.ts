import type { Role } from "../access/roles";
import type { BoundRead } from "../db/prepared";

/** The window of a key list's `usage24h`. */
const WINDOW_SECONDS = 24 * 3_600;

/**
 * VALID verifications of each of a repo's keys in the last 24 hours, for a key list: one
 * grouped read over the repo's minute rows (kept 48 hours, so the window is always whole), in
 * the list's own batch. Like the list's rows, it reads nothing unless the caller holds one of
 * `readers` in the repo's workspace.
 */
export function recentValidRead(
  d1: D1Database,
  { repoId, userId, readers }: { repoId: string; userId: string; readers: readonly Role[] },
  now = Date.now(),
): BoundRead<{ keyId: string; n: number }> {
  const since = Math.floor((now / 1000 - WINDOW_SECONDS) / 60) * 60;
  const statement = d1
    .prepare(
      // The repo id the index is searched by is the membership's own answer: NULL for anyone
      // else, so their read seeks nothing (an EXISTS beside it walked the repo's rows first).
      `SELECT key_id AS keyId, sum(n) AS n FROM key_usage
       WHERE scale = 'minute' AND t >= ?2 AND code = 'VALID' AND caller = ''
       AND repo_id = (SELECT r.id FROM repos r JOIN workspace_members m ON m.workspace_id = r.workspace_id
         WHERE r.id = ?1 AND m.user_id = ?3 AND m.role IN (SELECT value FROM json_each(?4)))
       GROUP BY key_id`,
    )
    .bind(repoId, since, userId, JSON.stringify(readers));
  return {
    statement,
    rowsOf: (result) => (result?.results ?? []) as { keyId: string; n: number }[],
  };
}
