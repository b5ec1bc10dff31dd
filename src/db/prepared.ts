import { fillPlaceholders, type Placeholder, type SQL, sql } from "drizzle-orm";
import { SQLiteAsyncDialect, type SQLiteColumn } from "drizzle-orm/sqlite-core";
import { type Database, database } from "./client";

/** What a column holds as a value, null included when the column is nullable. */
type ValueOf<C extends SQLiteColumn> = C["_"]["notNull"] extends true
  ? C["_"]["data"]
  : C["_"]["data"] | null;

/** The row `asFields(columns)` selects. */
export type FieldsRow<C extends Record<string, SQLiteColumn>> = { [K in keyof C]: ValueOf<C[K]> };

/**
 * Columns selected under their field names (`"access_type" as "accessType"`): the rows D1
 * returns already carry the API's field names, so nothing maps them row by row.
 */
export function asFields<C extends Record<string, SQLiteColumn>>(
  columns: C,
): { [K in keyof C]: SQL.Aliased<ValueOf<C[K]>> } {
  return Object.fromEntries(
    Object.entries(columns).map(([field, column]) => [field, sql`${column}`.as(field)]),
  ) as { [K in keyof C]: SQL.Aliased<ValueOf<C[K]>> };
}

/** A Drizzle select, before it is run: its SQL and, in its type, the rows it returns. */
export interface SelectQuery {
  toSQL(): Query;
  readonly _: { readonly result: unknown };
}

interface Query {
  sql: string;
  params: unknown[];
}

type RowOf<Q extends SelectQuery> = Q["_"]["result"] extends readonly (infer Row)[] ? Row : never;

type Placeholders<Name extends string> = Record<Name, Placeholder<Name>>;

/**
 * A statement whose SQL Drizzle writes on first use, once per isolate, with placeholders where
 * a request's values go; each use only binds them.
 */
function writtenOnce<Name extends string>(
  names: readonly Name[],
  write: (d1: D1Database, placeholders: Placeholders<Name>) => Query,
): (d1: D1Database, values: Record<Name, unknown>) => D1PreparedStatement {
  let query: Query | undefined;
  return (d1, values) => {
    query ??= write(
      d1,
      Object.fromEntries(names.map((name) => [name, sql.placeholder(name)])) as Placeholders<Name>,
    );
    return d1.prepare(query.sql).bind(...fillPlaceholders(query.params, values));
  };
}

/** A prepared read bound to one request's values. */
export interface BoundRead<Row> {
  readonly statement: D1PreparedStatement;
  /** Its rows from a `DB.batch` result (none when the batch gave it no result). */
  rowsOf(result: D1Result | undefined): Row[];
}

/**
 * A read on a hot path, built with Drizzle's query builder from the schema once per isolate.
 * Select with `asFields` so D1's rows need no mapping.
 */
export function preparedRead<const Name extends string, Q extends SelectQuery>(
  names: readonly Name[],
  build: (db: Database, placeholders: Placeholders<Name>) => Q,
): (d1: D1Database, values: Record<Name, string | number>) => BoundRead<RowOf<Q>> {
  const bind = writtenOnce(names, (d1, placeholders) => build(database(d1), placeholders).toSQL());
  return (d1, values) => {
    const statement = bind(d1, values);
    return {
      statement,
      rowsOf: (result) => (result?.results ?? []) as RowOf<Q>[],
    };
  };
}

const dialect = new SQLiteAsyncDialect();

/**
 * A write on a hot path: a Drizzle `sql` template over the schema, written once per isolate.
 * The bound statement runs alone (`.run()`) or in a `DB.batch` with reads.
 */
export function preparedWrite<const Name extends string>(
  names: readonly Name[],
  build: (placeholders: Placeholders<Name>) => SQL,
): (d1: D1Database, values: Record<Name, unknown>) => D1PreparedStatement {
  return writtenOnce(names, (_, placeholders) => dialect.sqlToQuery(build(placeholders)));
}

type RowsOf<Reads extends readonly BoundRead<unknown>[]> = {
  -readonly [I in keyof Reads]: Reads[I] extends BoundRead<infer Row> ? Row[] : never;
};

/** Several prepared reads in one D1 round trip; each one's rows, in order. */
export async function readBatch<const Reads extends readonly BoundRead<unknown>[]>(
  d1: D1Database,
  reads: Reads,
): Promise<RowsOf<Reads>> {
  const results = await d1.batch(reads.map((read) => read.statement));
  return results.map((result) => result.results) as RowsOf<Reads>;
}
