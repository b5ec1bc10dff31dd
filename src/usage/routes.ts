import * as z from "zod";
import { asMember } from "../access/membership";
import { authorize } from "../access/policy";
import type { Role } from "../access/roles";
import { base64ToBytes, bytesToBase64Url } from "../crypto/base64";
import { ApiError } from "../http/error";
import { defineOperation, route } from "../http/operation";
import { RepoKeyParamsSchema, RepoParamsSchema } from "../keys/schemas";
import { WorkspaceParamsSchema } from "../workspaces/schemas";
import { bucketsOf, countsOf, isoOf, type Range, rangeOf, rowsSql, tokensOf } from "./read";
import {
  KeyUsageSchema,
  RepoUsageQuerySchema,
  RepoUsageSchema,
  UnattributedQuerySchema,
  UnattributedUsageSchema,
  UsageQuerySchema,
} from "./schemas";

const tags = ["Usage"];
const DEFAULT_PAGE_SIZE = 50;

export const storageKeyUsage = defineOperation({
  method: "get",
  path: "/repo/{repoId}/apikey/{apikeyId}/usage",
  operationId: "getRepoKeyUsage",
  summary: "A storage key's verifications over time: valid, and refused by code",
  tags,
  params: RepoKeyParamsSchema,
  query: UsageQuerySchema,
  success: { status: 200, schema: KeyUsageSchema, description: "The series and its totals" },
  errors: [404],
});

export const aiKeyUsage = defineOperation({
  method: "get",
  path: "/repo/{repoId}/ai/apikey/{apikeyId}/usage",
  operationId: "getAiKeyUsage",
  summary: "An AI key's verifications over time: valid, and refused by code",
  tags,
  params: RepoKeyParamsSchema,
  query: UsageQuerySchema,
  success: { status: 200, schema: KeyUsageSchema, description: "The series and its totals" },
  errors: [404],
});

export const repoUsage = defineOperation({
  method: "get",
  path: "/repo/{repoId}/usage",
  operationId: "getRepoUsage",
  summary: "A repository's keys (storage and AI) by their verifications in a range, busiest first",
  tags,
  params: RepoParamsSchema,
  query: RepoUsageQuerySchema,
  success: { status: 200, schema: RepoUsageSchema, description: "Per-key totals, paged" },
});

export const unattributedUsage = defineOperation({
  method: "get",
  path: "/workspace/{workspaceId}/usage/unattributed",
  operationId: "getUnattributedUsage",
  summary:
    "Refused verifications that name no key (unknown access key ids, AI secrets matching none, unsigned or malformed requests), per gateway; workspace ADMINs only",
  tags,
  params: WorkspaceParamsSchema,
  query: UnattributedQuerySchema,
  success: {
    status: 200,
    schema: UnattributedUsageSchema,
    description: "Service-wide counts per caller (they belong to no workspace)",
  },
});

const REPO_MEMBERSHIP = `SELECT m.role AS role, r.workspace_id AS workspaceId FROM repos r
  JOIN workspace_members m ON m.workspace_id = r.workspace_id AND m.user_id = ?1
  WHERE r.id = ?2 LIMIT 1`;

type MembershipRow = { role: Role; workspaceId: string };
type CountRow = { b: number; code: string; n: number; input?: number; output?: number };

const rangeAnswer = (range: Range) => ({
  from: isoOf(range.from),
  to: isoOf(range.to),
});

/**
 * Authorizes the caller before anything else is read, in a round trip of its own: a refused
 * caller reads none of the keys or counts (a guard beside them in one batch still walked their
 * rows, so a refusal's cost told an existing repo's usage apart). Off the hot path.
 */
async function authorizeFirst(
  membership: D1PreparedStatement,
  userId: string,
  action: "usage.read" | "workspace.readUnattributedUsage",
): Promise<void> {
  const { results } = await membership.all();
  authorize(asMember(userId, results as unknown as MembershipRow[]), action);
}

function keyUsageRoute(op: typeof storageKeyUsage | typeof aiKeyUsage, kind: "storage" | "ai") {
  const table = kind === "storage" ? "storage_keys" : "ai_keys";
  return route(op, async (c, input) => {
    const { repoId, apikeyId } = input.params;
    const userId = c.var.userId;
    const range = rangeOf(input.query);
    const d1 = c.env.DB;
    await authorizeFirst(d1.prepare(REPO_MEMBERSHIP).bind(userId, repoId), userId, "usage.read");
    const [key, counts] = await d1.batch<Record<string, unknown>>([
      // Deleted keys too: their history stays readable.
      d1.prepare(`SELECT id FROM ${table} WHERE id = ?1 AND repo_id = ?2`).bind(apikeyId, repoId),
      d1
        .prepare(
          `SELECT b, code, sum(n) AS n, sum(input_tokens) AS input, sum(output_tokens) AS output
           FROM (${rowsSql(range.granularity, "key_id = ?1 AND kind = ?4 AND caller = ''")}) GROUP BY b, code`,
        )
        .bind(apikeyId, range.from, range.to, kind),
    ]);
    if (!key?.results.length) {
      throw new ApiError("NOT_FOUND", "API key not found in this repository");
    }
    const rows = (counts?.results ?? []) as CountRow[];
    const byBucket = new Map<number, CountRow[]>();
    for (const row of rows) {
      const list = byBucket.get(row.b) ?? [];
      list.push(row);
      byBucket.set(row.b, list);
    }
    return {
      success: true as const,
      ...rangeAnswer(range),
      granularity: range.granularity,
      series: bucketsOf(range).map((b) => {
        const bucket = byBucket.get(b) ?? [];
        return { t: isoOf(b), ...countsOf(bucket), tokens: tokensOf(bucket) };
      }),
      totals: { ...countsOf(rows), tokens: tokensOf(rows) },
    };
  });
}

/** A page's position among keys busiest first: (total, id) of the last one served. */
const CursorSchema = z.tuple([z.int().nonnegative(), z.uuid()]);

const encodeCursor = (total: number, id: string) =>
  bytesToBase64Url(new TextEncoder().encode(JSON.stringify([total, id])));

function decodeCursor(cursor: string): [number, string] {
  try {
    return CursorSchema.parse(JSON.parse(new TextDecoder().decode(base64ToBytes(cursor))));
  } catch {
    throw new ApiError(
      "VALIDATION_FAILED",
      "Invalid request query. cursor: not a cursor this API issued",
      [{ path: "cursor", message: "not a cursor this API issued" }],
    );
  }
}

type KeyRow = { id: string; kind: "storage" | "ai"; name: string; key: string; deleted: number };

export const usageRoutes = [
  keyUsageRoute(storageKeyUsage, "storage"),
  keyUsageRoute(aiKeyUsage, "ai"),
  route(repoUsage, async (c, input) => {
    const { repoId } = input.params;
    const userId = c.var.userId;
    const range = rangeOf(input.query);
    const limit = input.query.limit ?? DEFAULT_PAGE_SIZE;
    const after = input.query.cursor ? decodeCursor(input.query.cursor) : undefined;
    const d1 = c.env.DB;
    // A repo holds at most its quotas' worth of live keys: all of them are summed, then paged.
    await authorizeFirst(d1.prepare(REPO_MEMBERSHIP).bind(userId, repoId), userId, "usage.read");
    const [keys, counts] = await d1.batch<Record<string, unknown>>([
      // Only the keys the counts name, each by its id: the key tables' repo index holds live
      // keys only, so a read of the repo's keys with the deleted ones walked the whole table.
      // Each id is looked up in its own kind's table only: looking every id up in both tables
      // cost a million-key database 2.8x the time of a small one (bench --scale, 1M keys).
      d1
        .prepare(
          `WITH named AS (SELECT DISTINCT key_id, kind FROM (${rowsSql(range.granularity, "repo_id = ?1 AND caller = ''")}))
           SELECT id, 'storage' AS kind, name, key, deleted_at IS NOT NULL AS deleted
           FROM storage_keys WHERE id IN (SELECT key_id FROM named WHERE kind = 'storage') AND repo_id = ?1
           UNION ALL SELECT id, 'ai' AS kind, name, key, deleted_at IS NOT NULL AS deleted
           FROM ai_keys WHERE id IN (SELECT key_id FROM named WHERE kind = 'ai') AND repo_id = ?1`,
        )
        .bind(repoId, range.from, range.to),
      d1
        .prepare(
          `SELECT key_id AS keyId, kind, code, sum(n) AS n, sum(input_tokens) AS input,
             sum(output_tokens) AS output
           FROM (${rowsSql(range.granularity, "repo_id = ?1 AND caller = ''")}) GROUP BY key_id, kind, code`,
        )
        .bind(repoId, range.from, range.to),
    ]);
    const known = new Map(((keys?.results ?? []) as KeyRow[]).map((k) => [k.id, k]));
    const perKey = new Map<string, { kind: "storage" | "ai"; rows: CountRow[] }>();
    for (const row of (counts?.results ?? []) as (CountRow & {
      keyId: string;
      kind: "storage" | "ai";
    })[]) {
      const entry = perKey.get(row.keyId) ?? { kind: row.kind, rows: [] };
      entry.rows.push(row);
      perKey.set(row.keyId, entry);
    }
    const ranked = [...perKey.entries()]
      .map(([id, { kind, rows }]) => {
        const key = known.get(id);
        const counts = countsOf(rows);
        return {
          id,
          kind,
          name: key?.name ?? null,
          key: key?.key ?? null,
          deleted: key ? key.deleted === 1 : true,
          total: rows.reduce((sum, row) => sum + row.n, 0),
          ...counts,
          tokens: tokensOf(rows),
        };
      })
      .sort((a, b) => b.total - a.total || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .filter((k) => !after || k.total < after[0] || (k.total === after[0] && k.id > after[1]));
    const page = ranked.slice(0, limit);
    const last = page.at(-1);
    return {
      success: true as const,
      ...rangeAnswer(range),
      keys: page,
      nextCursor: ranked.length > limit && last ? encodeCursor(last.total, last.id) : null,
    };
  }),
  route(unattributedUsage, async (c, input) => {
    const { workspaceId } = input.params;
    const userId = c.var.userId;
    const range = rangeOf(input.query);
    const d1 = c.env.DB;
    await authorizeFirst(
      d1
        .prepare(
          "SELECT role, workspace_id AS workspaceId FROM workspace_members WHERE workspace_id = ?1 AND user_id = ?2",
        )
        .bind(workspaceId, userId),
      userId,
      "workspace.readUnattributedUsage",
    );
    const [counts] = await d1.batch<Record<string, unknown>>([
      d1
        .prepare(
          `SELECT b, caller, kind, transport, code, sum(n) AS n FROM (${rowsSql(range.granularity, "key_id = ?1")}) GROUP BY b, caller, kind, transport, code`,
        )
        .bind("", range.from, range.to),
    ]);
    type Row = CountRow & { caller: string; kind: "storage" | "ai"; transport: "http" | "rpc" };
    const rows = (counts?.results ?? []) as Row[];
    const callers = new Map<string, { head: Row; rows: Row[] }>();
    const byBucket = new Map<number, Row[]>();
    for (const row of rows) {
      const id = `${row.caller}\u0000${row.kind}\u0000${row.transport}`;
      const entry = callers.get(id) ?? { head: row, rows: [] };
      entry.rows.push(row);
      callers.set(id, entry);
      byBucket.set(row.b, [...(byBucket.get(row.b) ?? []), row]);
    }
    const allRefused = (list: Row[]) => {
      // VALID never names no key; every count here is a refusal.
      const { valid: _, refused } = countsOf(list);
      return refused;
    };
    return {
      success: true as const,
      ...rangeAnswer(range),
      granularity: range.granularity,
      callers: [...callers.values()]
        .map(({ head, rows }) => ({
          caller: head.caller,
          kind: head.kind,
          transport: head.transport,
          total: rows.reduce((sum, row) => sum + row.n, 0),
          refused: allRefused(rows),
        }))
        .sort((a, b) => b.total - a.total),
      series: bucketsOf(range).map((b) => ({
        t: isoOf(b),
        refused: allRefused(byBucket.get(b) ?? []),
      })),
    };
  }),
];
