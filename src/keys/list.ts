import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { asMember, repoMembership } from "../access/membership";
import { authorize, rolesThatMay } from "../access/policy";
import { activeKeysPageRead, activeKeysRead, type KeyTable } from "../db/key-rows";
import { asListed, type KeyLifecycle } from "../db/key-state";
import { readBatch } from "../db/prepared";
import { decodeCursor, encodeCursor } from "../http/pages";
import { recentValidRead } from "../usage/recent";

/** Before every real key: where the first page starts. */
const FIRST_PAGE = ["9999-12-31T23:59:59.999Z", "ffffffff-ffff-ffff-ffff-ffffffffffff"] as const;
const DEFAULT_PAGE_SIZE = 50;

interface ListedRow extends KeyLifecycle {
  id: string;
  createdAt: string;
}

/**
 * A repo's active keys as `columns`: with neither `limit` nor `cursor` the whole list (what
 * Flashback's client reads), otherwise one page and the cursor of the next. Either way the
 * membership and the rows come in one round trip, and each key's state is what it is now.
 */
export function keyLister<C extends Record<string, SQLiteColumn>>(
  table: KeyTable,
  columns: C,
  action: "apikey.list" | "aiApikey.list",
) {
  // Only those who may list read rows: a refused caller's read touches no key.
  const readers = rolesThatMay(action);
  const whole = activeKeysRead(table, columns, readers);
  const page = activeKeysPageRead(table, columns, readers);
  return async (
    d1: D1Database,
    { userId, repoId }: { userId: string; repoId: string },
    query: { limit?: number; cursor?: string },
  ) => {
    const paged = query.limit !== undefined || query.cursor !== undefined;
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const [beforeAt, beforeId] = query.cursor ? decodeCursor(query.cursor) : FIRST_PAGE;
    const [membership, rows, recent] = await readBatch(d1, [
      repoMembership(d1, { userId, repoId }),
      // One more than the page: whether there is a next page, without a count.
      paged
        ? page(d1, { repoId, userId, beforeAt, beforeId, limit: limit + 1 })
        : whole(d1, { repoId, userId }),
      // Each key's usage24h, for the whole repo in the same round trip (src/usage).
      recentValidRead(d1, { repoId, userId, readers }),
    ]);
    authorize(asMember(userId, membership), action);
    const now = new Date().toISOString();
    const served = (paged ? rows.slice(0, limit) : rows) as unknown as ((typeof rows)[number] &
      ListedRow)[];
    const last = served.at(-1);
    const usage = new Map(recent.map(({ keyId, n }) => [keyId, n]));
    return {
      keys: served.map((row) => ({ ...asListed(row, now), usage24h: usage.get(row.id) ?? 0 })),
      nextCursor:
        paged && rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
    };
  };
}
