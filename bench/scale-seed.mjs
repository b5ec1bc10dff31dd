// The database of `npm run bench -- --scale`. First the rows that are measured, made through
// the API (so verification checks real signatures and digests): one workspace with a listed repo
// and a verified repo. Then plausible rows in bulk, straight into D1 with INSERT … SELECT over a
// recursive CTE, a chunk per statement, until each table holds the size asked for. Bulk rows have
// the real formats and lengths (random UUIDs, FBAK…/FB_AI_… keys, sealed secrets and digests of
// the sealed lengths, ISO times), but no secret opens them: nothing ever verifies one.

/** Each bulk workspace: 3 members (ADMIN, WRITE, READ), 5 repos, 10 keys of each kind per repo. */
export const BULK_SHAPE = { members: 3, repos: 5, keysPerRepo: 10 };
const KEYS_PER_WORKSPACE = BULK_SHAPE.repos * BULK_SHAPE.keysPerRepo;
// Rows per INSERT … SELECT: big enough that statements are few, small enough that one D1 call
// through Miniflare's proxy lasts seconds, not minutes (20,000 keys, 10,000 events).
const WORKSPACES_PER_STATEMENT = 1_000;
const REPOS_PER_STATEMENT = 2_000;
const EVENTS_PER_STATEMENT = 10_000;
// A statement whose connection dropped is tried again, up to this many times in all.
const ATTEMPTS = 4;
// Bulk audit events are spread over the year before the run, oldest first as they would have
// arrived (so the `at` index fills as it does in service), within any retention period.
const EVENT_SPAN_DAYS = 365;
const KEY_SPAN_DAYS = 730;
const DAY_MS = 86_400_000;

/** `chars` random upper-case hex characters. */
const hex = (chars) => `substr(hex(randomblob(${Math.ceil(chars / 2)})), 1, ${chars})`;
/** A random version 4 UUID, lower case, as crypto.randomUUID() makes them. */
const uuid = `lower(${hex(8)} || '-' || ${hex(4)} || '-4' || ${hex(3)} || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || ${hex(3)} || '-' || ${hex(12)})`;
/** An ISO time (as the Worker writes them) up to `days` before the bound time ?1. */
const isoBefore = (days) =>
  `strftime('%Y-%m-%dT%H:%M:%fZ', julianday(?1) - (abs(random()) % ${days * DAY_MS}) / ${DAY_MS}.0)`;
const iso = (julian) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${julian})`;
/** A JWT subject as identity providers write them: "auth0|" and 24 hex characters. */
const subject = `'auth0|' || lower(${hex(24)})`;
const oneOf = (dice, values) =>
  `CASE ${dice} % ${values.length} ${values.map((v, i) => `WHEN ${i} THEN '${v}'`).join(" ")} END`;
/** The numbers 1 to `n` as a table `name(n)`, for a recursive WITH (D1 caps compound SELECTs). */
const numbers = (name, n) =>
  `${name}(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM ${name} WHERE n < ${n})`;

const WORKSPACES_SQL = `INSERT INTO workspaces (id, name, created_by, created_at)
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?2)
SELECT ${uuid}, 'team-' || lower(${hex(10)}), ${subject}, ${isoBefore(KEY_SPAN_DAYS + 30)} FROM seq`;

const MEMBERS_SQL = `INSERT INTO workspace_members (workspace_id, user_id, role, created_at)
WITH RECURSIVE ${numbers("m", BULK_SHAPE.members)}
SELECT w.id, CASE m.n WHEN 1 THEN w.created_by ELSE ${subject} END,
  CASE m.n WHEN 1 THEN 'ADMIN' WHEN 2 THEN 'WRITE' ELSE 'READ' END, w.created_at
FROM workspaces w, m WHERE w.rowid > ?1 AND w.rowid <= ?2`;

const REPOS_SQL = `INSERT INTO repos (id, workspace_id, name, created_by, created_at)
WITH RECURSIVE ${numbers("m", BULK_SHAPE.repos)}
SELECT ${uuid}, w.id, 'repo-' || m.n || '-' || lower(${hex(6)}), w.created_by, w.created_at
FROM workspaces w, m WHERE w.rowid > ?1 AND w.rowid <= ?2`;

// One row per (repo, n), its time and dice drawn once (MATERIALIZED: random() not re-run per use).
// Of each 100 keys: 5 deleted, 5 disabled, 10 with an expiry, half used in the last 30 days.
const keyRows = `WITH RECURSIVE ${numbers("m", BULK_SHAPE.keysPerRepo)},
k AS MATERIALIZED (
  SELECT r.id AS repo_id, r.created_by AS by, m.n AS n, abs(random()) % 100 AS dice,
    julianday(?1) - (abs(random()) % ${KEY_SPAN_DAYS * DAY_MS}) / ${DAY_MS}.0 AS born
  FROM repos r, m WHERE r.rowid > ?2 AND r.rowid <= ?3)`;
const keyLifecycle = `${iso("k.born")}, ${iso("k.born")},
  CASE WHEN k.dice >= 50 THEN ${iso(`julianday(?1) - (abs(random()) % ${30 * DAY_MS}) / ${DAY_MS}.0`)} END,
  CASE WHEN k.dice < 5 THEN ${iso("k.born + 1")} END, CASE WHEN k.dice < 5 THEN k.by END,
  CASE WHEN k.dice BETWEEN 5 AND 9 THEN 'INACTIVE' ELSE 'ACTIVE' END,
  CASE WHEN k.dice BETWEEN 10 AND 19 THEN ${iso("julianday(?1) + 90 + k.dice")} END`;
const keyName = `${oneOf("k.dice", ["deploy key", "ci read-only", "backup writer", "analytics export", "staging app"])} || ' ' || k.n`;

// Sealed secrets as Keyring.seal writes them: "aesgcm.v1." + 16-char IV + "." + the ciphertext
// (a 40-character storage secret: 75 characters; a 58-character AI secret: 99), base64url.
const STORAGE_KEYS_SQL = `INSERT INTO storage_keys (id, repo_id, name, access_type, key, sealed_secret,
  created_by, created_at, updated_at, last_used_at, deleted_at, deleted_by, status, expires_at)
${keyRows}
SELECT ${uuid}, k.repo_id, ${keyName}, ${oneOf("k.n", ["READ", "WRITE", "ADMIN"])},
  'FBAK' || ${hex(16)}, 'aesgcm.v1.' || ${hex(16)} || '.' || ${hex(75)}, k.by, ${keyLifecycle}
FROM k`;

// AI keys add the keyed digest the verification reads by: "v1." + 43 base64url characters.
const AI_KEYS_SQL = `INSERT INTO ai_keys (id, repo_id, name, ai_type, key, sealed_secret, secret_digest,
  created_by, created_at, updated_at, last_used_at, deleted_at, deleted_by, status, expires_at)
${keyRows}
SELECT ${uuid}, k.repo_id, ${keyName}, ${oneOf("k.n", ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"])},
  'FB_AI_' || ${hex(24)}, 'aesgcm.v1.' || ${hex(16)} || '.' || ${hex(99)}, 'v1.' || ${hex(43)},
  k.by, ${keyLifecycle}
FROM k`;

// Event ?2..?3 of the run's ?4 goes to bulk repo ?5 + i % ?6, at its place in the year before ?1.
// 9 in 10 events name a repo; a created key's changes name it, its access and its key.
const EVENTS_SQL = `INSERT INTO audit_events (id, type, at, actor_id, workspace_id, repo_id, target_id,
  request_id, client_request_id, ip, user_agent, changes, dead_lettered, stored_at)
WITH RECURSIVE seq(i) AS (SELECT ?2 UNION ALL SELECT i + 1 FROM seq WHERE i < ?3),
e AS MATERIALIZED (
  SELECT r.id AS repo_id, r.workspace_id AS workspace_id, r.created_by AS actor,
    abs(random()) % 100 AS dice,
    julianday(?1) - ${EVENT_SPAN_DAYS}.0 * (?4 - seq.i) / ?4 - (abs(random()) % 60000) / ${DAY_MS}.0 AS at
  FROM seq JOIN repos r ON r.rowid = ?5 + seq.i % ?6)
SELECT ${uuid},
  ${oneOf("e.dice", ["apikey.created", "apikey.updated", "ai_apikey.created", "apikey.deleted", "apikey.rolled", "ai_apikey.updated", "workspace.member_added", "apikey.created", "repo.created", "ai_apikey.rolled"])},
  ${iso("e.at")}, e.actor, e.workspace_id, CASE WHEN e.dice < 90 THEN e.repo_id END,
  ${uuid}, ${uuid}, CASE WHEN e.dice < 10 THEN 'deploy-' || lower(${hex(12)}) END,
  CASE WHEN e.dice % 3 = 0 THEN '2001:db8:' || lower(${hex(4)}) || '::' || lower(${hex(4)})
    ELSE '198.51.100.' || (1 + abs(random()) % 254) END,
  ${oneOf("e.dice", [
    "flashgate-client/0.1.0 node/22.12.0 linux-x64",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "terraform-provider-flashgate/1.4.2",
  ])},
  CASE WHEN e.dice % 4 = 3 THEN '{"name":{"before":"deploy key ' || (e.dice % 7) || '","after":"deploy key ' || e.dice || '"}}'
    ELSE '{"name":{"after":"deploy key ' || e.dice || '"},"accessType":{"after":"WRITE"},"key":{"after":"FBAK' || ${hex(16)} || '"}}' END,
  0, ${iso("e.at + 1.5 / 86400")}
FROM e`;

// Usage analytics (key_usage, src/usage): the rows of 30 days of verifications for 1 key in
// USAGE_ACTIVE_EVERY of each kind (10k of 2M keys at 1M of each), as the rollups leave them:
// day rows below the day watermark, hour rows below the hour watermark, minute rows for the
// last 47 hours (of the 48 kept) of 1 active key in 10. Per bucket a key is active or not (dice);
// an active bucket has a VALID row, sometimes a refusal, and for AI keys a TOKENS row (over
// rpc, as the AI gateway reports them); a third of the verifications came over http.
export const USAGE_ACTIVE_EVERY = 200;
export const USAGE_MINUTE_EVERY = 10 * USAGE_ACTIVE_EVERY;
export const USAGE_DAYS = 30;
/** Per scale: the share of buckets (percent) a key has traffic in, and the share with a refusal. */
export const USAGE_DENSITY = {
  day: { active: 90, refused: 50 },
  hour: { active: 20, refused: 10 },
  minute: { active: 10, refused: 5 },
};
const USAGE_SECONDS = { minute: 60, hour: 3_600, day: 86_400 };
// Minute rows start an hour inside the 48 h kept: the cron (run at each size, its statements run
// again for their rows read) then has none to purge while the bench runs.
const MINUTE_SPAN_SECONDS = 47 * 3_600;
// Keys (of the rowids they are drawn from) per usage statement: ~5,000 rowids, 25 active keys.
const USAGE_ROWIDS_PER_STATEMENT = 25 * USAGE_ACTIVE_EVERY;
const ROLLUP_GRACE_SECONDS = 5 * 60;

/** Rows of one scale for the keys of `table` that `filter` picks (its own ?8…). */
const usageSql = (table, kind, filter) => `INSERT INTO key_usage
  (scale, key_id, t, kind, code, transport, caller, repo_id, n, input_tokens, output_tokens)
WITH RECURSIVE b(t) AS (SELECT ?2 UNION ALL SELECT t + ?4 FROM b WHERE t + ?4 < ?3),
${numbers("slot", 3)},
kb AS MATERIALIZED (
  SELECT k.id AS id, k.repo_id AS repo_id, b.t AS t, abs(random()) % 100 AS dice
  FROM ${table} k, b WHERE ${filter})
SELECT ?1, kb.id, kb.t, '${kind}',
  CASE slot.n WHEN 1 THEN 'VALID' WHEN 2 THEN ${oneOf("abs(random())", ["SIGNATURE_MISMATCH", "RATE_LIMITED", "DISABLED", "EXPIRED"])} ELSE 'TOKENS' END,
  CASE WHEN kb.dice % 3 = 0 AND slot.n < 3 THEN 'http' ELSE 'rpc' END, '', kb.repo_id,
  CASE slot.n WHEN 1 THEN 1 + abs(random()) % ?7 WHEN 2 THEN 1 + abs(random()) % 20 ELSE 0 END,
  CASE slot.n WHEN 3 THEN abs(random()) % (500 * ?7) ELSE 0 END,
  CASE slot.n WHEN 3 THEN abs(random()) % (200 * ?7) ELSE 0 END
FROM kb, slot
WHERE kb.dice < ?5 AND (slot.n = 1 OR (slot.n = 2 AND kb.dice < ?6) OR (slot.n = 3 AND '${kind}' = 'ai'))`;
const USAGE_TABLES = [
  ["storage_keys", "storage"],
  ["ai_keys", "ai"],
];
const BULK_USAGE_SQL = Object.fromEntries(
  USAGE_TABLES.map(([table, kind]) => [
    table,
    usageSql(table, kind, "k.rowid > ?8 AND k.rowid <= ?9 AND k.rowid % ?10 = 0"),
  ]),
);
const REPO_USAGE_SQL = Object.fromEntries(
  USAGE_TABLES.map(([table, kind]) => [table, usageSql(table, kind, "k.repo_id = ?8")]),
);
// Counts per bucket up to this (a verification's n, tokens ×500 and ×200 of it), per scale.
const USAGE_MAX_N = { minute: 20, hour: 400, day: 4_000 };

/**
 * The rollups' watermarks as a service running for a while has them (hours up to the last
 * final one, days up to the hour's day), set once on an empty usage_rollups: every bulk usage
 * row is then where src/usage/read.ts looks for it. Answers them, in Unix seconds.
 */
export async function usageWatermarks(db, now) {
  const seconds = Math.floor(Date.parse(now) / 1000);
  const floor = (t, scale) => t - (t % USAGE_SECONDS[scale]);
  const hour = floor(seconds - ROLLUP_GRACE_SECONDS, "hour");
  const set = (scale, through) =>
    db
      .prepare(
        "INSERT INTO usage_rollups (scale, through) VALUES (?1, ?2) ON CONFLICT (scale) DO NOTHING",
      )
      .bind(scale, through);
  await db.batch([set("hour", hour), set("day", floor(hour, "day"))]);
  const { results } = await db.prepare("SELECT scale, through FROM usage_rollups").all();
  const mark = Object.fromEntries(results.map((row) => [row.scale, row.through]));
  return { seconds, hour: mark.hour, day: mark.day };
}

/** Each scale's bucket range [lo, hi) of the seeded usage, and its rows' statement values. */
function usageRanges({ seconds, hour, day }) {
  const floor = (t, scale) => t - (t % USAGE_SECONDS[scale]);
  const since = seconds - USAGE_DAYS * 86_400;
  return {
    day: [floor(since, "day"), day],
    hour: [floor(since, "hour"), hour],
    minute: [floor(seconds - MINUTE_SPAN_SECONDS, "minute"), floor(seconds, "minute") + 60],
  };
}
const usageValues = (scale, [lo, hi]) => [
  scale,
  lo,
  hi,
  USAGE_SECONDS[scale],
  USAGE_DENSITY[scale].active,
  USAGE_DENSITY[scale].refused,
  USAGE_MAX_N[scale],
];

/**
 * 30 days of usage for every key of repo `repoId` (the measured usage series read them), at the
 * bulk keys' density, all of them with minute rows.
 */
export async function seedRepoUsage(db, repoId, marks) {
  const ranges = usageRanges(marks);
  const statements = [];
  for (const [table] of USAGE_TABLES) {
    for (const scale of ["day", "hour", "minute"]) {
      statements.push(
        db.prepare(REPO_USAGE_SQL[table]).bind(...usageValues(scale, ranges[scale]), repoId),
      );
    }
  }
  await db.batch(statements);
}

/** The number of rows in `table`. */
export async function countRows(db, table) {
  return (await db.prepare(`SELECT count(*) AS n FROM ${table}`).first()).n;
}

/**
 * Whether `error` is Miniflare's D1 proxy losing its connection (`fetch failed`, ECONNRESET,
 * "other side closed") rather than the statement failing: only then is it tried again.
 */
function droppedConnection(error) {
  const DROPPED =
    /ECONNRESET|ECONNREFUSED|EPIPE|UND_ERR_SOCKET|other side closed|fetch failed|socket hang up/i;
  for (let at = error; at; at = at.cause) {
    if (DROPPED.test(`${at.code ?? ""} ${at.message ?? ""}`)) return true;
  }
  return false;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `read()`, tried again (up to ATTEMPTS in all) when the connection drops: it only reads. */
async function reading(read) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= ATTEMPTS || !droppedConnection(error)) throw error;
      await pause(1000 * attempt);
    }
  }
}

const maxRowid = (db, table) =>
  reading(
    async () => (await db.prepare(`SELECT coalesce(max(rowid), 0) AS n FROM ${table}`).first()).n,
  );

/**
 * One write of bulk rows into `table`, tried again when the connection to D1 dropped during it.
 * SQLite ran the statement (or the batch) whole or not at all, and rows only ever go to the
 * end of the table: if its last rowid moved, the write landed before the drop and is not
 * repeated; if not, it is sent again.
 */
async function appended(db, table, write, log) {
  for (let attempt = 1; ; attempt++) {
    const before = await maxRowid(db, table);
    try {
      await write();
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS || !droppedConnection(error)) throw error;
      await pause(1000 * attempt);
      if ((await maxRowid(db, table)) > before) return;
      log(`  ${table}: the connection to D1 dropped (${error.message}); sending it again`);
    }
  }
}

/**
 * Adds bulk rows until storage_keys and ai_keys hold `size` rows each (whole workspaces of 50
 * keys of each kind, so a size is met to within one workspace) and audit_events `size` rows
 * (over the bulk repos, `repoFloor` and below being the measured ones). `eventsTarget` is the
 * final size: events are placed in time as if the year had `eventsTarget` of them.
 */
export async function growTo(
  db,
  {
    size,
    eventsTarget,
    repoFloor,
    now,
    usageMarks,
    log = (line) => process.stderr.write(`${line}\n`),
  },
) {
  const started = Date.now();
  const keys = await reading(() => countRows(db, "storage_keys"));
  const keysBefore = {};
  for (const [table] of USAGE_TABLES) keysBefore[table] = await maxRowid(db, table);
  const workspaces = Math.max(0, Math.ceil((size - keys) / KEYS_PER_WORKSPACE));
  const progress = (what, done, total) => {
    const percent = Math.round((100 * done) / Math.max(1, total));
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    log(`  growing to ${size}: ${what} ${done}/${total} (${percent}%), ${seconds} s`);
  };
  for (let done = 0; done < workspaces; done += WORKSPACES_PER_STATEMENT) {
    const count = Math.min(WORKSPACES_PER_STATEMENT, workspaces - done);
    const low = await maxRowid(db, "workspaces");
    const reposLow = await maxRowid(db, "repos");
    await appended(db, "workspaces", () => db.prepare(WORKSPACES_SQL).bind(now, count).run(), log);
    const high = await maxRowid(db, "workspaces");
    // Members and repos in one batch (one transaction): the repos' last rowid tells it landed.
    const membersAndRepos = () =>
      db.batch([db.prepare(MEMBERS_SQL).bind(low, high), db.prepare(REPOS_SQL).bind(low, high)]);
    await appended(db, "repos", membersAndRepos, log);
    const reposHigh = await maxRowid(db, "repos");
    for (let from = reposLow; from < reposHigh; from += REPOS_PER_STATEMENT) {
      const to = Math.min(from + REPOS_PER_STATEMENT, reposHigh);
      const storage = () => db.prepare(STORAGE_KEYS_SQL).bind(now, from, to).run();
      await appended(db, "storage_keys", storage, log);
      await appended(db, "ai_keys", () => db.prepare(AI_KEYS_SQL).bind(now, from, to).run(), log);
    }
    progress("keys of each kind", Math.min(size, keys + (done + count) * KEYS_PER_WORKSPACE), size);
  }
  const events = await reading(() => countRows(db, "audit_events"));
  const bulkRepos = (await maxRowid(db, "repos")) - repoFloor;
  for (let from = events + 1; from <= size; from += EVENTS_PER_STATEMENT) {
    const to = Math.min(from + EVENTS_PER_STATEMENT - 1, size);
    const insert = () =>
      db
        .prepare(EVENTS_SQL)
        .bind(now, from, to, eventsTarget, repoFloor + 1, bulkRepos)
        .run();
    await appended(db, "audit_events", insert, log);
    if ((to - events) % (10 * EVENTS_PER_STATEMENT) === 0 || to === size) {
      progress("audit events", to, size);
    }
  }
  const usageStarted = Date.now();
  if (usageMarks) await growUsage(db, keysBefore, usageMarks, log);
  const ended = Date.now();
  return {
    seconds: (ended - started) / 1000,
    usageSeconds: (ended - usageStarted) / 1000,
    workspaces,
  };
}

/**
 * Usage rows (see USAGE_DENSITY) for the active keys among those added since `keysBefore`
 * (rowid per table): 1 in USAGE_ACTIVE_EVERY, so the active keys grow with the table, and for
 * 1 in USAGE_MINUTE_EVERY minute rows too. A statement per scale and ~25 active keys.
 */
async function growUsage(db, keysBefore, marks, log) {
  const started = Date.now();
  const ranges = usageRanges(marks);
  const before = await reading(() => countRows(db, "key_usage"));
  for (const [table] of USAGE_TABLES) {
    const high = await maxRowid(db, table);
    const low = keysBefore[table];
    for (let from = low; from < high; from += USAGE_ROWIDS_PER_STATEMENT) {
      const to = Math.min(from + USAGE_ROWIDS_PER_STATEMENT, high);
      for (const scale of ["day", "hour", "minute"]) {
        const every = scale === "minute" ? USAGE_MINUTE_EVERY : USAGE_ACTIVE_EVERY;
        // A span without a key of that rowid sends nothing.
        if (Math.floor(to / every) === Math.floor(from / every)) continue;
        const insert = () =>
          db
            .prepare(BULK_USAGE_SQL[table])
            .bind(...usageValues(scale, ranges[scale]), from, to, every)
            .run();
        await appended(db, "key_usage", insert, log);
      }
      const done = to - low;
      const step = 20 * USAGE_ROWIDS_PER_STATEMENT;
      if (done % step === 0 || to === high) {
        const seconds = ((Date.now() - started) / 1000).toFixed(0);
        log(
          `  usage of ${table}: keys ${done}/${high - low} (${Math.round((100 * done) / Math.max(1, high - low))}%), ${seconds} s`,
        );
      }
    }
  }
  const rows = (await reading(() => countRows(db, "key_usage"))) - before;
  log(`  usage: ${rows} rows in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function call(baseUrl, token, method, path, body) {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      "User-Agent": "flashgate-bench/scale",
      ...(body ? { "Content-Type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json();
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  }
  return json;
}

/** `count` calls of `make(i)`, `inFlight` at a time, answers in order. */
async function concurrently(count, inFlight, make) {
  const answers = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        answers[i] = await make(i);
      }
    }),
  );
  return answers;
}

/**
 * The measured rows, through the API on the empty database: a workspace owned by the bench user
 * with a "listed" repo of `listed` storage and `listed` AI keys (the list reads), a "verified"
 * repo with `verified` keys of each kind (the verifications cycle through them) and a "used"
 * repo with `used` keys of each kind (their usage is read).
 * Their audit events reach D1 through the Queue and its consumer, as in service: they are the
 * measured workspace's trail.
 */
export async function seedMeasured(baseUrl, token, { listed, verified, used }) {
  const workspace = await call(baseUrl, token, "POST", "/workspace", { name: "scale" });
  const repo = (name) => call(baseUrl, token, "POST", "/repo", { name, workspaceId: workspace.id });
  const listedRepo = await repo("listed");
  const verifiedRepo = await repo("verified");
  const usedRepo = await repo("used");
  const access = ["READ", "WRITE", "ADMIN"];
  const aiTypes = ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"];
  const storageKey = (repoId, i) =>
    call(baseUrl, token, "POST", `/repo/${repoId}/apikey`, {
      name: `storage key ${i}`,
      accessType: access[i % access.length],
    });
  const aiKey = (repoId, i) =>
    call(baseUrl, token, "POST", `/repo/${repoId}/ai/apikey`, {
      name: `ai key ${i}`,
      aiType: aiTypes[i % aiTypes.length],
    });
  // The listed keys one at a time, so their created_at differ as they would.
  for (let i = 0; i < listed; i++) {
    await storageKey(listedRepo.id, i);
    await aiKey(listedRepo.id, i);
  }
  const storage = await concurrently(verified, 8, (i) => storageKey(verifiedRepo.id, i));
  const ai = await concurrently(verified, 8, (i) => aiKey(verifiedRepo.id, i));
  const usedStorage = await concurrently(used, 8, (i) => storageKey(usedRepo.id, i));
  const usedAi = await concurrently(used, 8, (i) => aiKey(usedRepo.id, i));
  return {
    workspaceId: workspace.id,
    listedRepoId: listedRepo.id,
    verifiedRepoId: verifiedRepo.id,
    // A repo of `used` keys of each kind with 30 days of usage (seedRepoUsage): the usage series.
    usedRepoId: usedRepo.id,
    usedStorageKeyIds: usedStorage.map(({ id }) => id),
    usedAiKeyIds: usedAi.map(({ id }) => id),
    storageKeys: storage.map(({ id, key, secret }) => ({ id, key, secret })),
    aiKeys: ai.map(({ id, key, secret }) => ({ id, key, secret })),
    // The API's own events: the workspace, its three repos and every key created.
    events: 4 + 2 * listed + 2 * verified + 2 * used,
  };
}

/** Waits until the Queue consumer has stored `count` events of the workspace. */
export async function awaitEvents(db, workspaceId, count, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const { n } = await db
      .prepare("SELECT count(*) AS n FROM audit_events WHERE workspace_id = ?")
      .bind(workspaceId)
      .first();
    if (n >= count) return n;
    if (Date.now() > deadline) {
      throw new Error(`only ${n} of ${count} audit events stored after ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Characters per row (the sum of its values' lengths, NULLs none) of `sample` rows the API wrote
 * and `sample` bulk rows, per table: the bulk rows should weigh what real ones weigh.
 */
export async function rowWeights(db, { workspaceId, repoIds }, sample = 200) {
  const weigh = (rows) =>
    Math.round(
      rows.reduce(
        (sum, row) =>
          sum + Object.values(row).reduce((n, v) => n + (v === null ? 0 : String(v).length), 0),
        0,
      ) / Math.max(1, rows.length),
    );
  const inRepos = repoIds.map(() => "?").join(", ");
  const read = async (sql, ...params) =>
    (
      await db
        .prepare(sql)
        .bind(...params, sample)
        .all()
    ).results;
  const weights = {};
  for (const table of ["storage_keys", "ai_keys"]) {
    weights[table] = {
      api: weigh(
        await read(`SELECT * FROM ${table} WHERE repo_id IN (${inRepos}) LIMIT ?`, ...repoIds),
      ),
      bulk: weigh(
        await read(`SELECT * FROM ${table} WHERE repo_id NOT IN (${inRepos}) LIMIT ?`, ...repoIds),
      ),
    };
  }
  weights.audit_events = {
    api: weigh(
      await read("SELECT * FROM audit_events WHERE workspace_id = ? LIMIT ?", workspaceId),
    ),
    bulk: weigh(
      await read("SELECT * FROM audit_events WHERE workspace_id <> ? LIMIT ?", workspaceId),
    ),
  };
  return weights;
}
