import { and, eq, getTableColumns, isNull, sql } from "drizzle-orm";
import type { Database } from "./client";
import type { aiKeys, storageKeys } from "./schema";

/** Both key tables share id, repo and soft-delete columns; these statements serve both. */
type KeyTable = typeof storageKeys | typeof aiKeys;

/** A repo's active keys; matches the partial index that serves the newest-first listing. */
export function activeKeysOf(table: KeyTable, repoId: string) {
  return and(eq(table.repoId, repoId), isNull(table.deletedAt));
}

/** The active (not deleted) key `keyId` of `repoId`: a repo's keys are invisible from another repo. */
export function activeKey(table: KeyTable, keyId: string, repoId: string) {
  return and(eq(table.id, keyId), eq(table.repoId, repoId), isNull(table.deletedAt));
}

/**
 * Inserts the row only while the repo has fewer than `quota` active keys. One statement, so
 * two concurrent creates cannot both slip under the quota. `meta.changes` is 0 when over it.
 */
export function insertWithinQuota<T extends KeyTable>(
  db: Database,
  table: T,
  row: T["$inferInsert"],
  quota: number,
) {
  const columns = getTableColumns(table) as Record<string, { name: string }>;
  const entries = Object.entries(row).filter(([, value]) => value !== undefined);
  const names = sql.join(
    entries.map(([field]) => sql.identifier((columns[field] as { name: string }).name)),
    sql`, `,
  );
  const values = sql.join(
    entries.map(([, value]) => sql`${value}`),
    sql`, `,
  );
  return db.run(
    sql`INSERT INTO ${table} (${names}) SELECT ${values} WHERE (SELECT count(*) FROM ${table} WHERE ${table.repoId} = ${row.repoId} AND ${table.deletedAt} IS NULL) < ${quota}`,
  );
}

/** Soft delete: the row and its sealed secret stay for audit. */
export function softDeleteKey(
  db: Database,
  table: KeyTable,
  keyId: string,
  repoId: string,
  by: string,
  at: string,
) {
  return db
    .update(table)
    .set({ deletedAt: at, deletedBy: by, updatedAt: at })
    .where(activeKey(table, keyId, repoId));
}

/** A positive integer setting, or the default when unset. */
export function quotaSetting(value: string | undefined, fallback = 100): number {
  const quota = Number(value);
  return value !== undefined && Number.isInteger(quota) && quota > 0 ? quota : fallback;
}
