// The hot statements of `npm run bench -- --scale`, as the Worker itself sends them (recorded by
// bench/recording-worker.ts), their EXPLAIN QUERY PLAN against the grown database, and the rows
// D1 says each one reads.
//
// What counts as a scan, for a gated statement (it fails the bench):
// - `SCAN <table>` (nothing after the name or its alias): every row of the table is read.
// - `SCAN <table> USING [COVERING] INDEX <index>`: every entry of an index is read, which grows
//   with the table just the same. An ordered walk could be stopped early by a LIMIT, but not when
//   a sort follows it: without an index on audit_events(at) the Worker's own retention purge is
//   planned as `SCAN audit_events USING COVERING INDEX audit_events_workspace_idx` and `USE TEMP
//   B-TREE FOR ORDER BY`, reading all of audit_events on every run. No gated statement needs a
//   walk today; one that ever does shows up here and can be argued for then.
// Not scans: SEARCH lines (an index probed by key or range), `SCAN … VIRTUAL TABLE` (json_each
// over a bound array), `SCAN (subquery…)`, `SCAN CONSTANT ROW` and the SCAN of a WITH table the
// plan materializes itself (see explain). A `USE TEMP B-TREE` (rows
// sorted after they are read) is named, not failed: what it sorts is bounded by the SEARCH above.

/** The retention purge as the brief of issue 15 wrote it; checked besides the Worker's own. */
export const PURGE_AS_WRITTEN = "DELETE FROM audit_events WHERE at < ?";

/**
 * Sends each request to the recording Worker once, in order, and returns its statements, each
 * with the request's name, whether it is gated (`gate(sql)`, default all) and a label. Throws
 * unless the request succeeded (`check` may look further at the answer). A request's `path` may
 * be a function of the answers before it, by name (a next page's cursor).
 */
export async function captureStatements(captureUrl, requests) {
  const statements = [];
  const answers = {};
  for (const request of requests) {
    const path = typeof request.path === "function" ? request.path(answers) : request.path;
    const response = await fetch(new URL(path, captureUrl), {
      method: request.method ?? "GET",
      headers: {
        ...(request.token ? { Authorization: `Bearer ${request.token}` } : {}),
        ...(request.body ? { "Content-Type": "application/json" } : {}),
      },
      body: request.body ? JSON.stringify(request.body) : undefined,
    });
    const answer = await response.json();
    const ok = answer.status === null || (answer.status >= 200 && answer.status < 300);
    if (!ok || (request.check && !request.check(answer.body))) {
      throw new Error(`${request.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    answers[request.name] = answer.body;
    for (const statement of answer.statements) {
      statements.push({
        ...statement,
        request: request.name,
        gated: (request.gate ?? (() => true))(statement.sql),
        label: `${request.name}: ${describe(statement.sql)}${statement.deferred ? " (after the answer)" : ""}`,
      });
    }
  }
  return statements;
}

/** "select storage_keys ⋈ repos ⋈ workspace_members" or "membership: select repos ⋈ …". */
function describe(sql) {
  const op = /^\s*(\w+)/.exec(sql)?.[1].toLowerCase() ?? "?";
  const tables = [
    ...new Set([...sql.matchAll(/\b(?:from|join|into|update)\s+["`]?(\w+)/gi)].map((m) => m[1])),
  ].filter((name) => name !== "json_each");
  const membership =
    op === "select" &&
    tables.every((t) => t === "repos" || t === "workspace_members") &&
    tables.includes("workspace_members");
  return `${membership ? "membership, " : ""}${op} ${tables.join(" + ")}`;
}

/**
 * Statements once each (the membership read comes with every list and audit read): the first
 * label kept, the other requests that send it named, gated if any of them gates it.
 */
export function distinct(statements) {
  const bySql = new Map();
  for (const s of statements) {
    const seen = bySql.get(s.sql);
    if (!seen) {
      bySql.set(s.sql, { ...s, alsoIn: [] });
    } else {
      if (!seen.alsoIn.includes(s.request) && seen.request !== s.request) {
        seen.alsoIn.push(s.request);
      }
      seen.gated ||= s.gated;
    }
  }
  return [...bySql.values()];
}

/** A plan line's kind: "scan" (a whole table), "walk" (a whole index, in order), "sort", or "ok". */
export function lineKind(detail) {
  if (/^USE TEMP B-TREE/.test(detail)) return "sort";
  const scan = /^SCAN (\S+)(.*)$/.exec(detail);
  if (!scan) return "ok";
  const [, name, rest] = scan;
  if (name.startsWith("(") || name === "CONSTANT" || /VIRTUAL TABLE/.test(rest)) return "ok";
  // A bare name, or "name AS alias": the table itself, row after row.
  if (/^( AS \S+)?$/.test(rest)) return "scan";
  return /USING (COVERING )?INDEX/.test(rest) ? "walk" : "scan";
}

/**
 * EXPLAIN QUERY PLAN of `sql` with its recorded values: its lines in tree order, indented. A
 * SCAN of a WITH table the plan itself builds (`MATERIALIZE w`, `CO-ROUTINE w`: the usage
 * reads' one-row watermarks) reads those rows, not a stored table: "ok".
 */
export async function explain(db, sql, params) {
  const { results } = await db
    .prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all();
  const built = new Set(
    results
      .map((row) => /^(?:MATERIALIZE|CO-ROUTINE) (\S+)$/.exec(row.detail)?.[1])
      .filter(Boolean),
  );
  const depth = new Map([[0, -1]]);
  return results.map((row) => {
    depth.set(row.id, (depth.get(row.parent) ?? -1) + 1);
    const scanned = /^SCAN (\S+)( AS \S+)?$/.exec(row.detail)?.[1];
    const kind = scanned && built.has(scanned) ? "ok" : lineKind(row.detail);
    return { detail: row.detail, depth: depth.get(row.id), kind };
  });
}

/** Each statement's plan and verdict: "scan" if a line reads a whole table or index, else "ok". */
export async function planAll(db, statements) {
  const planned = [];
  for (const statement of statements) {
    const lines = await explain(db, statement.sql, statement.params);
    const kinds = new Set(lines.map((line) => line.kind));
    planned.push({
      ...statement,
      lines,
      verdict: kinds.has("scan") || kinds.has("walk") ? "scan" : "ok",
      notes: ["walk", "sort"].filter((kind) => kinds.has(kind)),
    });
  }
  return planned;
}

/** The indexes on audit_events whose first column is `at` (what the purge needs), by name. */
export async function auditAtIndexes(db) {
  const { results } = await db
    .prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND sql IS NOT NULL",
    )
    .all();
  return results.filter((row) => /\(\s*[`"]?at[`"]?\s*[,)]/.test(row.sql)).map((row) => row.name);
}

/** One line of SQL, the selected columns elided: what a reader needs to tell statements apart. */
export function shortSql(sql) {
  return sql
    .replace(/\s+/g, " ")
    .replace(/^select (?:distinct )?.*? from /i, "select … from ")
    .trim();
}

/**
 * D1's own count of the rows each statement reads (meta.rows_read, what D1 bills), each run once
 * more from here with its recorded values: a cost that follows the index stays flat as the
 * tables grow. Writes run again too (the same values again change nothing: the lastUsedAt write
 * only moves forward, the cron's cutoffs delete and clear nothing new); inserts do not (null).
 */
export async function rowsRead(db, statements) {
  const counts = [];
  for (const { sql, params } of statements) {
    if (/^\s*insert\b/i.test(sql)) {
      counts.push(null);
      continue;
    }
    const { meta } = await db
      .prepare(sql)
      .bind(...params)
      .all();
    counts.push(meta.rows_read);
  }
  return counts;
}
