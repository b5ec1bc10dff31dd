import {
  and,
  desc,
  eq,
  getTableColumns,
  isNull,
  lt,
  or,
  type Placeholder,
  type SQL,
  sql,
} from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { holdsRepoRole, readableRepo } from "../access/membership";
import type { Role } from "../access/roles";
import type { Database } from "./client";
import { forgetKey } from "./key-memory";
import {
  asFields,
  type FieldsRow,
  preparedRead,
  preparedWrite,
  type SelectQuery,
} from "./prepared";
import { aiKeys, storageKeys } from "./schema";

/** Both key tables share id, repo and soft-delete columns; these statements serve both. */
export type KeyTable = typeof storageKeys | typeof aiKeys;

/** A repo's active keys; matches the partial index that serves the newest-first listing. */
export function activeKeysOf(table: KeyTable, repoId: string | Placeholder | SQL) {
  return and(eq(table.repoId, repoId), isNull(table.deletedAt));
}

/**
 * A repo's active keys as `columns`, newest first (ties broken by id): the list endpoints' read,
 * served by the partial index, prepared once per isolate and shaped as the wire's rows. Rows
 * come only while `userId` holds one of `readers` there: a refused caller's read touches no
 * key, so a repo it cannot reach costs what a repo that does not exist costs.
 */
export function activeKeysRead<C extends Record<string, SQLiteColumn>>(
  table: KeyTable,
  columns: C,
  readers: readonly Role[],
) {
  // Drizzle cannot infer a select over a union of tables; the row is what asFields selects.
  return preparedRead(
    ["repoId", "userId"],
    (db, p) =>
      db
        .select(asFields(columns))
        .from(table as typeof storageKeys)
        .where(activeKeysOf(table, readableRepo(p.repoId, p.userId, readers)))
        .orderBy(desc(table.createdAt), desc(table.id)) as unknown as SelectQuery & {
        _: { result: FieldsRow<C>[] };
      },
  );
}

/**
 * One page of a repo's active keys, in the same order: those after (beforeAt, beforeId), at
 * most `limit` of them. Served by the same partial index, guarded like `activeKeysRead`.
 */
export function activeKeysPageRead<C extends Record<string, SQLiteColumn>>(
  table: KeyTable,
  columns: C,
  readers: readonly Role[],
) {
  return preparedRead(["repoId", "userId", "beforeAt", "beforeId", "limit"], (db, p) => {
    const ordered = db
      .select(asFields(columns))
      .from(table as typeof storageKeys)
      .where(
        and(
          activeKeysOf(table, readableRepo(p.repoId, p.userId, readers)),
          or(
            lt(table.createdAt, p.beforeAt),
            and(eq(table.createdAt, p.beforeAt), lt(table.id, p.beforeId)),
          ),
        ),
      )
      .orderBy(desc(table.createdAt), desc(table.id));
    // Drizzle's select over a union of tables loses .limit in its types, not at run time.
    return (ordered as unknown as { limit(limit: Placeholder): unknown }).limit(
      p.limit,
    ) as SelectQuery & { _: { result: FieldsRow<C>[] } };
  });
}

/** The active (not deleted) key `keyId` of `repoId`: a repo's keys are invisible from another repo. */
export function activeKey(table: KeyTable, keyId: string, repoId: string) {
  return and(eq(table.id, keyId), eq(table.repoId, repoId), isNull(table.deletedAt));
}

/** What the insert of a new key binds: its row, the repo's quota and who may create it. */
export type NewKeyValues<T extends KeyTable, F extends keyof T["$inferInsert"]> = Pick<
  T["$inferInsert"],
  F
> & {
  quota: number;
  /** JSON array of the roles that may create this key (from the access policy). */
  creatorRoles: string;
};

/**
 * The insert of a new key into `table`, writing `fields`. It adds the row only while the repo
 * has fewer than `quota` active keys and its creator still holds one of `creatorRoles` in the
 * repo's workspace: one statement, so neither two concurrent creates nor a role changed in
 * flight slip through. `meta.changes` is 0 when it wrote nothing. Written once per isolate.
 */
function insertWithinQuota<T extends KeyTable, const F extends keyof T["$inferInsert"] & string>(
  table: T,
  fields: readonly F[],
): (d1: D1Database, values: NewKeyValues<T, F>) => D1PreparedStatement {
  const columns = getTableColumns(table) as Record<string, { name: string }>;
  // repoId and createdBy are among the fields written; the guards read them too.
  return preparedWrite([...fields, "repoId", "createdBy", "quota", "creatorRoles"], (p) => {
    const names = sql.join(
      fields.map((field) => sql.identifier((columns[field] as { name: string }).name)),
      sql`, `,
    );
    const values = sql.join(
      fields.map((field) => p[field]),
      sql`, `,
    );
    return sql`INSERT INTO ${table} (${names}) SELECT ${values} WHERE (SELECT count(*) FROM ${table} WHERE ${table.repoId} = ${p.repoId} AND ${table.deletedAt} IS NULL) < ${p.quota} AND ${holdsRepoRole(p.repoId, p.createdBy, p.creatorRoles)}`;
  }) as (d1: D1Database, values: NewKeyValues<T, F>) => D1PreparedStatement;
}

const NEW_KEY_FIELDS = [
  "id",
  "repoId",
  "name",
  "key",
  "sealedSecret",
  "createdBy",
  "createdAt",
  "updatedAt",
  "expiresAt",
] as const;

export const insertStorageKey = insertWithinQuota(storageKeys, [
  ...NEW_KEY_FIELDS,
  "accessType",
  "secretDigest",
]);
const insertAiKeyRow = insertWithinQuota(aiKeys, [
  ...NEW_KEY_FIELDS,
  "aiType",
  "secretDigest",
  "models",
]);
/** An AI key's insert; `models` (its allow-list as JSON text) left out is null: any model. */
export const insertAiKey: typeof insertAiKeyRow = (d1, values) =>
  insertAiKeyRow(d1, { ...values, models: values.models ?? null });

/**
 * Soft delete: the row and its sealed secret stay for audit. `guard` is the deleter's role
 * re-checked in the write (`holdsRole`), so access lost in flight deletes nothing. Once written,
 * this isolate's verification memory forgets the key, so it is refused here at once.
 */
export async function softDeleteKey(
  db: Database,
  table: KeyTable,
  {
    keyId,
    repoId,
    by,
    at,
    guard,
  }: { keyId: string; repoId: string; by: string; at: string; guard: SQL },
) {
  const result = await db
    .update(table)
    .set({ deletedAt: at, deletedBy: by, updatedAt: at })
    .where(and(activeKey(table, keyId, repoId), guard));
  forgetKey(keyId);
  return result;
}

/** A positive integer setting, or the default when unset. */
export function quotaSetting(value: string | undefined, fallback = 100): number {
  const quota = Number(value);
  return value !== undefined && Number.isInteger(quota) && quota > 0 ? quota : fallback;
}
