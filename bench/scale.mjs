// `npm run bench -- --scale [--sizes=1000,100000,1000000]`: the scaling curve (issue 15, item 2).
// One local D1 grown from 1k to 100k to 1M storage keys, as many AI keys and as many audit
// events (bench/scale-seed.mjs), with 30 days of usage analytics for 1 key in 200; at each size
// the production bundle (`wrangler deploy --dry-run`, on workerd through Miniflare) is loaded
// the same way on: one repo's key list, both verifications, a page of a workspace's audit trail,
// a key's usage (30 days by day, 24 hours by hour) and a busy repo's busiest keys. Cost should follow the indexes, not the
// tables: each series at the largest size must keep 0.8 of its throughput at the smallest. The
// machine may be shared, so a reference copy of the API on a twin database that stays at the
// smallest size is loaded interleaved with it (A B B A), and the verdict compares the two in the
// same seconds: what differs is the size, not what else the machine was doing. The
// Worker's own hot statements (recorded by bench/recording-worker.ts) are EXPLAINed at each size
// and run once more for D1's rows_read; the bench fails if one scans a table or reads more rows
// as the tables grow (bench/scale-plans.mjs says what counts). Bytes per row come from dbstat
// over the database file (bench/scale-bytes.mjs). Progress goes to stderr; the last line of
// stdout is the JSON summary.
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { buildProductionBundle, bundleWorker } from "./build.mjs";
import {
  BENCH_CREDENTIALS,
  benchToken,
  compatibilityDateOf,
  workerConfig as miniflareWorker,
  textBindings,
  warningsAndErrorsTo,
} from "./miniflare.mjs";
import { databaseBytes, databaseFile } from "./scale-bytes.mjs";
import {
  auditAtIndexes,
  captureStatements,
  distinct,
  PURGE_AS_WRITTEN,
  planAll,
  rowsRead,
  shortSql,
} from "./scale-plans.mjs";
import {
  awaitEvents,
  BULK_SHAPE,
  growTo,
  rowWeights,
  seedMeasured,
  seedRepoUsage,
  USAGE_ACTIVE_EVERY,
  USAGE_DAYS,
  USAGE_DENSITY,
  USAGE_MINUTE_EVERY,
  usageWatermarks,
} from "./scale-seed.mjs";
import { applyMigrations, signedS3Body } from "./seed.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const workDir = join(root, ".bench", "scale");

const DEFAULT_SIZES = [1_000, 100_000, 1_000_000];
// Per series and size: a warm-up of each, then A B B A (the grown database, the reference) in
// slices of `sliceSeconds`, `rounds` times: each side is loaded `rounds` x 2 x `sliceSeconds`
// in all. Short slices, so that what else the machine runs falls on both sides alike; the
// side-by-side ratio is the median of the rounds', so one round hit by a burst does not decide.
const LOAD = { connections: 10, warmupSeconds: 1, sliceSeconds: 1, rounds: 4 };
const LOADED_SECONDS = LOAD.rounds * 2 * LOAD.sliceSeconds;
const TARGET_RATIO = 0.8;
// The measured rows (made through the API): one repo's lists, and the keys verifications cycle
// through, enough distinct keys that each request finds its row somewhere else in the indexes.
const LISTED_KEYS = 50;
const VERIFIED_KEYS = 200;
const AUDIT_PAGE = 50;
// The repo usage list's default page (of the used repo's 2 x USED_KEYS active keys).
const USAGE_PAGE = 50;
// The keys of each kind in the repo whose usage is read (all active: 30 days of usage each).
const USED_KEYS = 50;
// D1's largest database.
const D1_LIMIT_BYTES = 10 * 1000 ** 3;
const TABLES = [
  "workspaces",
  "workspace_members",
  "repos",
  "storage_keys",
  "ai_keys",
  "audit_events",
  "key_usage",
];

// Fixed bench configuration (credentials shared with bench/run.mjs); nothing is a real secret.
const BENCH_USER = "bench-user";
const vars = {
  ...BENCH_CREDENTIALS,
  STORAGE_KEY_QUOTA: "1000000",
  AI_KEY_QUOTA: "1000000",
  AUDIT_DEAD_LETTER_QUEUE: "flashgate-audit-dlq",
  // No key memory: every verification reads its row, which is what grows with the tables. (With
  // the memory on, a remembered key reads nothing, at any size.)
  VERIFY_CACHE_TTL_SECONDS: "0",
};

const log = (message) => process.stderr.write(`${message}\n`);
const sizeName = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

/** The API (or the recording Worker) on `database`, publishing audit events to `queue`. */
const workerConfig = (name, code, compatibilityDate, { database, queue, extra = {}, config }) =>
  miniflareWorker(
    name,
    code,
    compatibilityDate,
    {
      DB: { type: "d1", id: database },
      AUDIT: { type: "queue", name: queue },
      ...textBindings({ ...vars, ...extra }),
    },
    config,
  );

/**
 * The requests whose statements are checked, sent once each to the recording Worker. Gated:
 * both key lists (whole and paged), both verifications (their lastUsedAt write included), the
 * audit pages (a workspace's first and next page, a repo's), the membership reads they carry, and
 * the cron's statements on audit_events (the retention purge). Shown, not gated: a key's
 * creation and the cron's re-seal sweep.
 */
function hotRequests(measured, token, gatewayToken, s3Body) {
  const { listedRepoId, verifiedRepoId, workspaceId } = measured;
  const keys = (answer) => answer.keys ?? answer.apiKeys ?? [];
  const valid = (answer) => answer.code === "VALID";
  return [
    {
      name: "list",
      path: `/repo/${listedRepoId}/apikey`,
      check: (a) => keys(a).length === LISTED_KEYS,
    },
    { name: "list page", path: `/repo/${listedRepoId}/apikey?limit=20` },
    {
      name: "ai list",
      path: `/repo/${listedRepoId}/ai/apikey`,
      check: (a) => keys(a).length === LISTED_KEYS,
    },
    { name: "ai list page", path: `/repo/${listedRepoId}/ai/apikey?limit=20` },
    {
      name: "verify s3",
      method: "POST",
      path: "/verify/s3",
      body: s3Body,
      token: gatewayToken,
      check: valid,
    },
    {
      name: "verify ai",
      method: "POST",
      path: "/verify/ai",
      body: { secret: measured.aiKeys[0].secret },
      token: gatewayToken,
      check: valid,
    },
    {
      name: "audit",
      path: `/workspace/${workspaceId}/audit`,
      check: (a) => a.events.length === AUDIT_PAGE && a.nextCursor,
    },
    {
      name: "audit next page",
      path: (answers) => `/workspace/${workspaceId}/audit?cursor=${answers.audit.nextCursor}`,
    },
    { name: "repo audit", path: `/repo/${verifiedRepoId}/audit` },
    ...usageRequests(measured).map(({ name, path, kind }) => ({
      name,
      path,
      check: (a) => (kind === "repo" ? a.keys.length > 0 : a.series.length >= 24),
    })),
    {
      name: "create key",
      method: "POST",
      path: `/repo/${verifiedRepoId}/apikey`,
      body: { name: "scale bench capture", accessType: "READ" },
      gate: () => false,
    },
    {
      name: "cron",
      method: "POST",
      path: "/__scale/scheduled",
      // The retention purge, and the usage rollup's and purge's reads of key_usage.
      gate: (sql) => /\b(audit_events|key_usage)\b/i.test(sql),
    },
  ].map((request) => ({ token, ...request }));
}

const DAY_MS = 86_400_000;

/**
 * The usage reads, as the console asks them (console/src/usage.ts): a key's last 30 days by day
 * and last 24 hours by hour (storage and AI keys of the used repo, every one with 30 days of
 * usage), the repo's busiest keys over the last 24 hours (by hour) and the last 30 days (by day).
 * Ranges end now: each size asks its own.
 */
function usageRequests(measured, now = Date.now()) {
  const since = (ms) => encodeURIComponent(new Date(now - ms).toISOString());
  const month = `from=${since(30 * DAY_MS)}&granularity=day`;
  const day = `from=${since(DAY_MS)}&granularity=hour`;
  const repo = `/repo/${measured.usedRepoId}`;
  const keys = (range) =>
    measured.usedStorageKeyIds.flatMap((id, i) => [
      `${repo}/apikey/${id}/usage?${range}`,
      `${repo}/ai/apikey/${measured.usedAiKeyIds[i]}/usage?${range}`,
    ]);
  return [
    { name: "key usage 30 d", kind: "key", paths: keys(month), path: keys(month)[0] },
    { name: "ai key usage 24 h", kind: "key", paths: keys(day), path: keys(day)[1] },
    {
      name: "repo usage 24 h",
      kind: "repo",
      paths: [`${repo}/usage?${day}`],
      path: `${repo}/usage?${day}`,
    },
    {
      name: "repo usage 30 d",
      kind: "repo",
      paths: [`${repo}/usage?${month}`],
      path: `${repo}/usage?${month}`,
    },
  ];
}

/** One autocannon run: `requests` cycled by each connection. Throws on any error or non-2xx. */
async function run({ url, requests }, seconds) {
  const result = await autocannon({
    url,
    connections: LOAD.connections,
    pipelining: 1,
    duration: seconds,
    requests,
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${url}${requests[0].path}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const rateOf = (slices) =>
  slices.reduce((n, slice) => n + slice.requests, 0) /
  slices.reduce((n, slice) => n + slice.seconds, 0);

/** A side's slices as one figure: requests over seconds; latencies the median slice's. */
function combine(slices) {
  return {
    rps: Math.round(rateOf(slices)),
    p50: median(slices.map((slice) => slice.p50)),
    p99: median(slices.map((slice) => slice.p99)),
  };
}

/**
 * One series at one size: both sides warmed, then A B B A slices (see LOAD). Answers each side's
 * req/s and the median over the rounds of grown/reference.
 */
async function measure(grown, reference) {
  await run(grown, LOAD.warmupSeconds);
  await run(reference, LOAD.warmupSeconds);
  const slices = { grown: [], reference: [] };
  const ratios = [];
  for (let round = 0; round < LOAD.rounds; round++) {
    const these = { grown: [], reference: [] };
    for (const side of ["grown", "reference", "reference", "grown"]) {
      these[side].push(await run(side === "grown" ? grown : reference, LOAD.sliceSeconds));
    }
    ratios.push(rateOf(these.grown) / rateOf(these.reference));
    slices.grown.push(...these.grown);
    slices.reference.push(...these.reference);
  }
  return {
    grown: combine(slices.grown),
    reference: combine(slices.reference),
    sideBySide: Number(median(ratios).toFixed(3)),
  };
}

/** The load of each series: the same requests at every size, the S3 ones signed afresh. */
async function seriesRequests(measured, token, gatewayToken) {
  const auth = (bearer) => ({
    Authorization: `Bearer ${bearer}`,
    "Content-Type": "application/json",
  });
  const verify = (path, bodies) =>
    bodies.map((body) => ({
      method: "POST",
      path,
      headers: auth(gatewayToken),
      body: JSON.stringify(body),
    }));
  // S3 refuses a signature more than 15 minutes old: each size signs its own.
  const s3Bodies = [];
  for (const key of measured.storageKeys) {
    s3Bodies.push(await signedS3Body(key, measured.verifiedRepoId));
  }
  const get = (path) => [{ method: "GET", path, headers: auth(token) }];
  return {
    list: get(`/repo/${measured.listedRepoId}/apikey`),
    verify_s3: verify("/verify/s3", s3Bodies),
    verify_ai: verify(
      "/verify/ai",
      measured.aiKeys.map(({ secret }) => ({ secret })),
    ),
    audit: get(`/workspace/${measured.workspaceId}/audit`),
    ...Object.fromEntries(
      usageRequests(measured)
        .filter(({ name }) => USAGE_SERIES[name])
        .map(({ name, paths }) => [
          USAGE_SERIES[name],
          paths.map((path) => ({ method: "GET", path, headers: auth(token) })),
        ]),
    ),
  };
}

/** The usage series, by the request each loads (the key ones cycling through the used keys). */
const USAGE_SERIES = {
  "key usage 30 d": "usage_key_30d",
  "ai key usage 24 h": "usage_key_24h",
  "repo usage 24 h": "usage_repo_24h",
};

/**
 * Each series' requests answered as they must be before they are timed: the lists with every
 * listed key, every verification VALID for its own key, the audit page full with a next cursor,
 * every usage answer whole and the busy repo's first page full.
 */
async function checkAnswers(app, series, measured) {
  const answer = async ({ method, path, headers, body }) => {
    const response = await fetch(new URL(path, app), { method, headers, body });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
    return response.json();
  };
  const listed = await answer(series.list[0]);
  if (listed.keys.length !== LISTED_KEYS) throw new Error(`list: ${listed.keys.length} keys`);
  for (const [name, keys] of [
    ["verify_s3", measured.storageKeys],
    ["verify_ai", measured.aiKeys],
  ]) {
    const answers = await Promise.all(series[name].map(answer));
    answers.forEach((verified, i) => {
      if (verified.code !== "VALID" || verified.keyId !== keys[i].id) {
        throw new Error(`${name} of key ${keys[i].id}: ${JSON.stringify(verified)}`);
      }
    });
  }
  const page = await answer(series.audit[0]);
  if (page.events.length !== AUDIT_PAGE || !page.nextCursor) {
    throw new Error(`audit: ${page.events.length} events, next cursor ${page.nextCursor}`);
  }
  // Every key's usage answers its whole range, and the keys have verifications in it (a key may
  // have none in a given 24 hours: the series as a whole must).
  for (const name of ["usage_key_30d", "usage_key_24h"]) {
    const answers = await Promise.all(series[name].map(answer));
    const short = answers.findIndex(
      (usage) => usage.series.length < (name === "usage_key_30d" ? 30 : 24),
    );
    if (short >= 0) {
      throw new Error(
        `${name} ${series[name][short].path}: ${answers[short].series.length} points`,
      );
    }
    const valid = answers.reduce((sum, usage) => sum + usage.totals.valid, 0);
    if (!(valid > 0)) throw new Error(`${name}: no verifications in any key's usage`);
  }
  const busiest = await answer(series.usage_repo_24h[0]);
  if (busiest.keys.length !== USAGE_PAGE || !busiest.nextCursor) {
    throw new Error(
      `usage_repo_24h: ${busiest.keys.length} keys, next cursor ${busiest.nextCursor}`,
    );
  }
}

/** Wall time of one cron run (re-seal sweep and retention purge), on the recording Worker. */
async function timeCron(recording) {
  const started = performance.now();
  const response = await fetch(new URL("/__scale/scheduled", recording), { method: "POST" });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`cron run: ${response.status}`);
  return Math.round(performance.now() - started);
}

const GROWN_DB = "flashgate-scale";
/** The audit consumer, as deployed: the measured rows' events reach D1 through it. */
const auditConsumer = (name) => ({ type: "queue", name, maxBatchSize: 100, maxBatchTimeout: 1 });

const SERIES = [
  "list",
  "verify_s3",
  "verify_ai",
  "audit",
  "usage_key_30d",
  "usage_key_24h",
  "usage_repo_24h",
];

export async function runScale(argv = process.argv) {
  const sizesArg = argv.find((arg) => arg.startsWith("--sizes="));
  const sizes = sizesArg
    ? sizesArg
        .slice("--sizes=".length)
        .split(",")
        .map(Number)
        .sort((a, b) => a - b)
    : DEFAULT_SIZES;
  if (
    sizes.some((n) => !Number.isInteger(n) || n < 2 * (LISTED_KEYS + VERIFIED_KEYS + USED_KEYS))
  ) {
    throw new Error(
      `--sizes: whole numbers of at least ${2 * (LISTED_KEYS + VERIFIED_KEYS + USED_KEYS)}`,
    );
  }
  const started = Date.now();
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });

  log("building: wrangler deploy --dry-run (the API), the recording worker");
  const production = await buildProductionBundle(root, join(workDir, "dist"));
  const recordingCode = await bundleWorker(
    join(root, "bench/recording-worker.ts"),
    join(workDir, "recording-worker.js"),
  );
  const compatibilityDate = compatibilityDateOf(root, "wrangler.toml");
  const stateDir = join(workDir, "state");
  const mf = new Miniflare({
    host: "127.0.0.1",
    logRequests: false,
    port: 0,
    handleStructuredLogs: warningsAndErrorsTo(log),
    // On disk, so that the database file can be weighed.
    resourcePersistencePath: stateDir,
    workers: [
      workerConfig("flashgate-apikeys", production.code, compatibilityDate, {
        database: GROWN_DB,
        queue: "flashgate-audit",
        config: { triggers: [auditConsumer("flashgate-audit")] },
      }),
      // The same bundle on the reference database, with its own queue and consumer.
      workerConfig("flashgate-reference", production.code, compatibilityDate, {
        database: "flashgate-scale-reference",
        queue: "flashgate-audit-reference",
        config: { triggers: [auditConsumer("flashgate-audit-reference")] },
      }),
      // Its cron run deletes nothing: the cutoff is 100 years back, the statements the same.
      workerConfig("scale-recording", recordingCode, compatibilityDate, {
        database: GROWN_DB,
        queue: "flashgate-audit",
        extra: { AUDIT_RETENTION_DAYS: "36500" },
      }),
    ],
  });
  const stop = () => mf.dispose().finally(() => process.exit(130));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  try {
    await mf.ready;
    const app = String(await mf.unsafeGetDirectURL("flashgate-apikeys"));
    const referenceApp = String(await mf.unsafeGetDirectURL("flashgate-reference"));
    const recording = String(await mf.unsafeGetDirectURL("scale-recording"));
    const db = await mf.getD1Database("DB", "flashgate-apikeys");
    const referenceDb = await mf.getD1Database("DB", "flashgate-reference");
    await applyMigrations(db, join(root, "migrations"));
    await applyMigrations(referenceDb, join(root, "migrations"));
    const token = await benchToken(BENCH_USER);
    const gatewayToken = await benchToken("bench-gateway", { scope: "keys:verify" });

    log(
      `seeding the measured rows through the API: ${LISTED_KEYS} + ${LISTED_KEYS} listed keys, ${VERIFIED_KEYS} + ${VERIFIED_KEYS} verified keys, ${USED_KEYS} + ${USED_KEYS} used keys`,
    );
    let at = Date.now();
    const counts = { listed: LISTED_KEYS, verified: VERIFIED_KEYS, used: USED_KEYS };
    const measured = await seedMeasured(app, token, counts);
    await awaitEvents(db, measured.workspaceId, measured.events);
    const apiSeedSeconds = (Date.now() - at) / 1000;
    const repoFloor = (await db.prepare("SELECT max(rowid) AS n FROM repos").first()).n;
    // Usage: the rollups' watermarks as in service, then 30 days of it for the listed keys.
    const usageNow = new Date().toISOString();
    const usageMarks = await usageWatermarks(db, usageNow);
    await seedRepoUsage(db, measured.usedRepoId, usageMarks);
    log(`the reference database: the same through its own API, then ${sizeName(sizes[0])} in bulk`);
    const referenceMeasured = await seedMeasured(referenceApp, token, counts);
    await awaitEvents(referenceDb, referenceMeasured.workspaceId, referenceMeasured.events);
    const referenceMarks = await usageWatermarks(referenceDb, usageNow);
    await seedRepoUsage(referenceDb, referenceMeasured.usedRepoId, referenceMarks);
    await growTo(referenceDb, {
      size: sizes[0],
      usageMarks: referenceMarks,
      eventsTarget: sizes.at(-1),
      repoFloor: (await referenceDb.prepare("SELECT max(rowid) AS n FROM repos").first()).n,
      now: new Date().toISOString(),
    });

    log("recording the Worker's hot statements");
    const statements = distinct(
      await captureStatements(
        recording,
        hotRequests(
          measured,
          token,
          gatewayToken,
          await signedS3Body(measured.storageKeys[0], measured.verifiedRepoId),
        ),
      ),
    );
    // A century back, as the recording Worker's own purge: the plan is the same, nothing goes.
    const purgeCutoff = new Date(Date.now() - 36_500 * 86_400_000).toISOString();
    statements.push({
      sql: PURGE_AS_WRITTEN,
      params: [purgeCutoff],
      request: "purge as written",
      label: "the retention purge as issue 15 writes it: delete audit_events",
      gated: true,
      alsoIn: [],
    });

    const file = await databaseFile(stateDir, measured.workspaceId);
    const now = new Date().toISOString();
    const steps = [];
    for (const size of sizes) {
      log(`growing to ${sizeName(size)} keys of each kind and ${sizeName(size)} audit events`);
      const grown = await growTo(db, {
        size,
        eventsTarget: sizes.at(-1),
        repoFloor,
        now,
        usageMarks,
      });
      log(`  ${grown.seconds.toFixed(1)} s; weighing the database (dbstat)`);
      at = Date.now();
      const bytes = await databaseBytes(file, TABLES);
      const weighSeconds = (Date.now() - at) / 1000;
      const plans = await planAll(db, statements);
      const rows = await rowsRead(db, statements);
      const cronMs = await timeCron(recording);
      const series = await seriesRequests(measured, token, gatewayToken);
      const referenceSeries = await seriesRequests(referenceMeasured, token, gatewayToken);
      await checkAnswers(app, series, measured);
      await checkAnswers(referenceApp, referenceSeries, referenceMeasured);
      const results = {};
      for (const name of SERIES) {
        log(`  ${name}: A B B A against the reference, ${LOADED_SECONDS} s each`);
        results[name] = await measure(
          { url: app, requests: series[name] },
          { url: referenceApp, requests: referenceSeries[name] },
        );
      }
      steps.push({
        size,
        seedSeconds: grown.seconds,
        usageSeedSeconds: grown.usageSeconds,
        weighSeconds,
        bytes,
        plans,
        rows,
        cronMs,
        results,
      });
    }
    const weights = await rowWeights(db, {
      workspaceId: measured.workspaceId,
      repoIds: [measured.listedRepoId, measured.verifiedRepoId],
    });
    const atIndexes = await auditAtIndexes(db);
    return report({
      steps,
      apiSeedSeconds,
      weights,
      atIndexes,
      seconds: (Date.now() - started) / 1000,
    });
  } finally {
    await mf.dispose();
  }
}

/** Rows of cells as aligned columns, the first row a header. */
function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) =>
    row.map((cell, column) => cell.padEnd(widths[column])).join("  "),
  );
  lines.splice(1, 0, widths.map((width) => "-".repeat(width)).join("  "));
  return lines.join("\n");
}

const mib = (bytes) => (bytes / 1024 ** 2).toFixed(1);

/** Bytes per row of each table at a step: its b-tree and its indexes, over its rows. */
function perRow(step, name) {
  const t = step.bytes.tables[name];
  return {
    rows: t.rows,
    table: t.tableBytes / t.rows,
    indexes: t.indexBytes / t.rows,
    total: (t.tableBytes + t.indexBytes) / t.rows,
  };
}

/** Bytes each row added between two steps (the bulk rows' own weight, at scale). */
function marginal(before, after, name) {
  const [a, b] = [before.bytes.tables[name], after.bytes.tables[name]];
  const rows = b.rows - a.rows;
  return rows > 0 ? (b.tableBytes + b.indexBytes - a.tableBytes - a.indexBytes) / rows : NaN;
}

function report({ steps, apiSeedSeconds, weights, atIndexes, seconds }) {
  const first = steps[0];
  const last = steps.at(-1);
  const previous = steps.at(-2) ?? first;
  const names = steps.map((step) => sizeName(step.size));
  const out = [];
  const print = (line = "") => out.push(line);

  print(
    `flashgate scale bench: ${names.join(" -> ")} keys of each kind and audit events in one local D1; ` +
      `${LOAD.connections} connections, per series ${LOAD.warmupSeconds} s warm-up then ${LOADED_SECONDS} s on each of the grown and the reference database (A B B A in ${LOAD.sliceSeconds} s slices); workerd via Miniflare`,
  );
  print();
  const seedRows = [
    [
      "size",
      "storage_keys",
      "ai_keys",
      "audit_events",
      "workspaces",
      "repos",
      "members",
      "key_usage",
      "seed s (usage)",
      "database MiB",
    ],
  ];
  for (const step of steps) {
    const t = step.bytes.tables;
    seedRows.push([
      sizeName(step.size),
      String(t.storage_keys.rows),
      String(t.ai_keys.rows),
      String(t.audit_events.rows),
      String(t.workspaces.rows),
      String(t.repos.rows),
      String(t.workspace_members.rows),
      String(t.key_usage.rows),
      `${step.seedSeconds.toFixed(1)} (${step.usageSeedSeconds.toFixed(1)})`,
      mib(step.bytes.databaseBytes),
    ]);
  }
  print(table(seedRows));
  print(
    `Seeded in bulk SQL (INSERT … SELECT over recursive CTEs; each bulk workspace ${BULK_SHAPE.members} members, ` +
      `${BULK_SHAPE.repos} repos of ${BULK_SHAPE.keysPerRepo} storage + ${BULK_SHAPE.keysPerRepo} AI keys), each size on top of the last; ` +
      `before that ${2 * (LISTED_KEYS + VERIFIED_KEYS + USED_KEYS)} measured keys through the API (${apiSeedSeconds.toFixed(1)} s, their events through the Queue).`,
  );
  const density = (scale) =>
    `${USAGE_DENSITY[scale].active}% of ${scale}s active, ${USAGE_DENSITY[scale].refused}% with a refusal`;
  print(
    `Usage (key_usage): ${USAGE_DAYS} days for 1 key in ${USAGE_ACTIVE_EVERY} of each kind (${density("day")}; ${density("hour")}), ` +
      `minute rows for the last 47 h of 1 in ${USAGE_MINUTE_EVERY} (${density("minute")}); a VALID row per active bucket, AI keys a TOKENS row too; ` +
      `day rows below the day rollup's watermark, hour rows below the hour's; plus the same for the ${2 * USED_KEYS} keys of the used repo (the usage series read them; all of them with minute rows). "(usage)" is the part of the seeding that wrote them.`,
  );
  print(
    `Characters per row, API-written vs bulk: ${Object.entries(weights)
      .map(([name, w]) => `${name} ${w.api} vs ${w.bulk}`)
      .join("; ")}.`,
  );

  print();
  const ratios = {};
  const sideBySide = {};
  const throughputRows = [
    [
      "series (req/s)",
      ...names,
      `reference (${names[0]}) beside each`,
      `p50/p99 ms at ${names.at(-1)}`,
      `${names.at(-1)}/${names[0]} in turn`,
      "grown/reference at each",
      "verdict",
    ],
  ];
  for (const name of SERIES) {
    const grown = steps.map((step) => step.results[name].grown.rps);
    const reference = steps.map((step) => step.results[name].reference.rps);
    ratios[name] = Number((grown.at(-1) / grown[0]).toFixed(3));
    // Each size against the twin database that stayed at the smallest, loaded in the same
    // seconds. At the smallest size the two are alike, so that ratio is the noise floor.
    sideBySide[name] = steps.map((step) => step.results[name].sideBySide);
    const verdictRatio = sideBySide[name].at(-1);
    const end = last.results[name].grown;
    throughputRows.push([
      name,
      ...grown.map(String),
      reference.join(" / "),
      `${end.p50}/${end.p99}`,
      ratios[name].toFixed(3),
      sideBySide[name].map((ratio) => ratio.toFixed(2)).join(" / "),
      verdictRatio >= TARGET_RATIO
        ? `ok (${verdictRatio.toFixed(2)} >= ${TARGET_RATIO})`
        : `BELOW TARGET (${verdictRatio.toFixed(2)} < ${TARGET_RATIO})`,
    ]);
  }
  print(table(throughputRows));
  print(
    `list: GET a repo's whole key list (${LISTED_KEYS} keys; the AI list is the same read on ai_keys, its plan and rows read are checked below); ` +
      `verify_s3/verify_ai: POST /verify/s3 (SigV4 header-signed GET) and /verify/ai, cycling through ${VERIFIED_KEYS} keys each, the key memory off ` +
      `(VERIFY_CACHE_TTL_SECONDS=0: one D1 read per request); audit: GET a workspace's first page (${AUDIT_PAGE} events). ` +
      `The reference is the same bundle on a twin database that stays at ${names[0]}, loaded in turn with the grown one (A B B A in ${LOAD.sliceSeconds} s slices, ${LOAD.rounds} rounds) at each size; ` +
      "grown/reference is the median of the rounds' ratios. " +
      `"${names.at(-1)}/${names[0]} in turn" compares runs minutes apart and moves with whatever else the machine runs; ` +
      `the verdict reads grown/reference at ${names.at(-1)}: ${names.at(-1)} against ${names[0]} in the same seconds (at ${names[0]} that ratio is the noise floor). ` +
      `usage_key_30d/usage_key_24h: GET a key's usage, 30 days by day / 24 hours by hour, cycling through the used repo's ${2 * USED_KEYS} keys (storage and AI); ` +
      `usage_repo_24h: GET the used repo's busiest keys over 24 hours (a page of ${USAGE_PAGE} of its ${2 * USED_KEYS} active keys). ` +
      "verify_rps in the JSON is verify_s3; verify_ai_rps is the AI one.",
  );
  const throughputOk = SERIES.every((name) => sideBySide[name].at(-1) >= TARGET_RATIO);

  print();
  print(
    `query plans at ${names.at(-1)} (EXPLAIN QUERY PLAN of the statements the Worker sent, with their values). ` +
      "A gated statement fails on a SCAN of a table or a walk of a whole index (bench/scale-plans.mjs); temp sorts are named, not failed.",
  );
  const failures = [];
  for (const [i, plan] of last.plans.entries()) {
    const failed = plan.gated && plan.verdict === "scan";
    if (failed) failures.push(plan.label);
    const mark = plan.verdict === "scan" ? (plan.gated ? "FAIL: SCAN" : "SCAN, not gated") : "ok";
    const notes = plan.notes.length ? ` [${plan.notes.join(", ")}]` : "";
    const also = plan.alsoIn.length ? ` (also in: ${plan.alsoIn.join(", ")})` : "";
    print(`[${mark}]${notes} ${plan.label}${also}${plan.gated ? "" : " (not gated)"}`);
    print(`    ${shortSql(plan.sql)}`);
    for (const line of plan.lines) {
      const flag = line.kind === "ok" ? "" : `   <- ${line.kind}`;
      print(`      ${"  ".repeat(line.depth)}${line.detail}${flag}`);
    }
    const changed = steps
      .filter((step) => step !== last)
      .filter((step) => JSON.stringify(step.plans[i].lines) !== JSON.stringify(plan.lines))
      .map((step) => sizeName(step.size));
    if (changed.length) print(`    (the plan differed at ${changed.join(", ")})`);
  }
  print(
    atIndexes.length
      ? `audit_events(at): indexed by ${atIndexes.join(", ")}; the retention purge searches it.`
      : "audit_events(at): NO INDEX in migrations/ yet: the retention purge reads all of audit_events, and fails here until the migration adding the index lands.",
  );
  const plansOk = failures.length === 0;

  print();
  print(
    "D1 rows read per statement (meta.rows_read, what D1 bills; each run once more with its recorded values):",
  );
  const readRows = [["statement", ...names, ""]];
  const growing = [];
  const readFailures = [];
  for (const [i, plan] of last.plans.entries()) {
    const counts = steps.map((step) => step.rows[i]);
    const [from, to] = [counts[0], counts.at(-1)];
    // Flat is what an index gives; a count that follows the table is named.
    const grows = from !== null && to > Math.max(2 * from, from + 20);
    if (grows) growing.push(plan.label);
    if (grows && plan.gated) readFailures.push(plan.label);
    readRows.push([
      plan.label,
      ...counts.map((n) => (n === null ? "-" : String(n))),
      grows ? (plan.gated ? "FAIL: GROWS WITH THE TABLE" : "grows with the table (not gated)") : "",
    ]);
  }
  print(table(readRows));
  const readsOk = readFailures.length === 0;
  print(
    `one cron run (re-seal sweep and retention purge, both with nothing to do), wall ms: ${steps
      .map((step) => `${sizeName(step.size)} ${step.cronMs}`)
      .join(", ")}`,
  );

  print();
  const byteRows = [
    [
      "table",
      "rows",
      "table B/row",
      "indexes B/row",
      "total B/row",
      `added ${names.at(-2) ?? names[0]}->${names.at(-1)} B/row`,
      "rows per 10 GB",
    ],
  ];
  const bytesPerRow = {};
  for (const name of ["storage_keys", "ai_keys", "audit_events", "key_usage"]) {
    const r = perRow(last, name);
    const added = marginal(previous, last, name);
    bytesPerRow[name] = Math.round(r.total);
    byteRows.push([
      name,
      String(r.rows),
      r.table.toFixed(0),
      r.indexes.toFixed(0),
      r.total.toFixed(0),
      Number.isNaN(added) ? "-" : added.toFixed(0),
      Math.floor(D1_LIMIT_BYTES / r.total).toLocaleString("en-US"),
    ]);
  }
  print(table(byteRows));
  // What the workspaces, repos and members around the keys add, per storage key.
  const around = ["workspaces", "repos", "workspace_members"].reduce((sum, name) => {
    const t = last.bytes.tables[name];
    return sum + t.tableBytes + t.indexBytes;
  }, 0);
  const aroundPerKey = around / last.bytes.tables.storage_keys.rows;
  const indexLines = ["storage_keys", "ai_keys", "audit_events", "key_usage"].map(
    (name) =>
      `${name}: ${Object.entries(last.bytes.tables[name].indexes)
        .map(([index, bytes]) => `${index} ${(bytes / last.bytes.tables[name].rows).toFixed(0)}`)
        .join(", ")}`,
  );
  print(`index bytes per row: ${indexLines.join("; ")}`);
  print(
    `database at ${names.at(-1)}: ${mib(last.bytes.databaseBytes)} MiB (page_count x page_size); on disk ${mib(last.bytes.fileBytes)} MiB file + ${mib(last.bytes.walBytes)} MiB WAL. ` +
      `Workspaces, repos and members add ${aroundPerKey.toFixed(0)} B per storage key. Measured with dbstat (sum of pgsize: whole 4 KiB pages, free space included) ` +
      "over workerd's SQLite file, read with node:sqlite (D1 itself refuses dbstat and page_count).",
  );
  const mix =
    bytesPerRow.storage_keys + bytesPerRow.ai_keys + bytesPerRow.audit_events + aroundPerKey;
  const capacity =
    `Capacity (from the ${names.at(-1)} weights): a storage key with its indexes takes ~${bytesPerRow.storage_keys} B, an AI key ~${bytesPerRow.ai_keys} B, ` +
    `an audit event ~${bytesPerRow.audit_events} B, and the workspaces, repos and members around keys ~${aroundPerKey.toFixed(0)} B per storage key ` +
    `(${BULK_SHAPE.keysPerRepo} keys of each kind per repo). A 10 GB D1 database holds ~${Math.floor(D1_LIMIT_BYTES / bytesPerRow.storage_keys / 1e6)}M storage keys, ` +
    `or ~${Math.floor(D1_LIMIT_BYTES / bytesPerRow.ai_keys / 1e6)}M AI keys, or ~${Math.floor(D1_LIMIT_BYTES / bytesPerRow.audit_events / 1e6)}M audit events alone; ` +
    `with as many AI keys and audit events as storage keys (this bench's mix), ~${(D1_LIMIT_BYTES / mix / 1e6).toFixed(1)}M of each. ` +
    "Audit events are the part that grows with time: plan them as events per day x AUDIT_RETENTION_DAYS (default 400). " +
    `A usage row takes ~${bytesPerRow.key_usage} B (${last.bytes.tables.key_usage.rows} rows here, ~${Math.round((last.bytes.tables.key_usage.rows * bytesPerRow.key_usage) / 1024 ** 2)} MiB): ` +
    "plan usage as active keys x rows per key (hour rows for 90 days and day rows for 400 per key and outcome code).";
  print(capacity);

  print();
  print(
    `verdict: throughput ${throughputOk ? "ok" : "BELOW TARGET"} (each series at ${names.at(-1)} >= ${TARGET_RATIO} x its ${names[0]} twin, loaded in the same seconds); ` +
      `query plans ${plansOk ? "ok (no gated statement scans a table)" : `FAIL (${failures.join("; ")})`}; ` +
      `rows read ${readsOk ? "ok (no gated statement reads more as the tables grow)" : `FAIL (${readFailures.join("; ")})`}; ${seconds.toFixed(0)} s`,
  );
  const rpsOf = (name, side = "grown") => steps.map((step) => step.results[name][side].rps);
  print(
    JSON.stringify({
      scale: {
        sizes: steps.map((step) => step.size),
        list_rps: rpsOf("list"),
        verify_rps: rpsOf("verify_s3"),
        audit_rps: rpsOf("audit"),
        verify_ai_rps: rpsOf("verify_ai"),
        usage_key_30d_rps: rpsOf("usage_key_30d"),
        usage_key_24h_rps: rpsOf("usage_key_24h"),
        usage_repo_24h_rps: rpsOf("usage_repo_24h"),
        usage_rows: steps.map((step) => step.bytes.tables.key_usage.rows),
        usage_seed_seconds: steps.map((step) => Number(step.usageSeedSeconds.toFixed(1))),
        verify_rps_is: "verify_s3",
        reference_rps: Object.fromEntries(SERIES.map((name) => [name, rpsOf(name, "reference")])),
        ratios,
        ratios_side_by_side: sideBySide,
        target_ratio: TARGET_RATIO,
        seed_seconds: steps.map((step) => Number(step.seedSeconds.toFixed(1))),
        database_bytes: steps.map((step) => step.bytes.databaseBytes),
        bytes_per_row: bytesPerRow,
        bytes_per_storage_key_around: Math.round(aroundPerKey),
        plan_failures: failures,
        rows_read_growing: growing,
        rows_read_failures: readFailures,
        cron_ms: steps.map((step) => step.cronMs),
        audit_at_index: atIndexes,
        throughput_ok: throughputOk,
        plans_ok: plansOk,
        rows_read_ok: readsOk,
      },
      seconds: Math.round(seconds),
    }),
  );
  console.log(out.join("\n"));
  return throughputOk && plansOk && readsOk ? 0 : 1;
}
