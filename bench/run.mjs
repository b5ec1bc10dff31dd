// `npm run bench [-- --quick]`: our Worker against its floor (bench/floor.ts), both on workerd
// through Miniflare's API in one process, with a local D1 and the audit queue. Prints a table,
// then one JSON line (the last line of stdout). Progress goes to stderr.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32 } from "node:zlib";
import autocannon from "autocannon";
import { SignJWT } from "jose";
import { Miniflare } from "miniflare";
import { buildProductionBundle, bundleWorker } from "./build.mjs";
import { applyMigrations, resetCreatedRepo, SEEDED_KEYS, seed, signedS3Body } from "./seed.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const workDir = join(root, ".bench");
const quick = process.argv.includes("--quick");
// --cpu: build, seed and profile only; no load runs (for comparing prototypes quickly).
const cpuOnly = process.argv.includes("--cpu");

// Full mode: four rounds of A B B A per endpoint; quick mode: one A B pair, short runs.
const settings = quick
  ? { rounds: 2, seconds: 2, warmupSeconds: 1, connections: 8, profileIterations: 200 }
  : { rounds: 4, seconds: 6, warmupSeconds: 2, connections: 8, profileIterations: 2000 };

const BUDGETS = {
  list_ratio: 0.85,
  ai_list_ratio: 0.85,
  create_ratio: 0.8,
  verify_s3_ratio: 0.85,
  verify_ai_ratio: 0.85,
  bundle_gzip_bytes: 100 * 1024,
  d1_round_trips: {
    list: 1,
    ai_list: 1,
    create: 2,
    update: 2,
    delete: 2,
    // The verification plane: a key's first verification (or every one, with the memory off)
    // reads its row once; while the row is remembered, verifying it reads nothing.
    verify_s3: { uncached: 1, cached: 0 },
    verify_ai: { uncached: 1, cached: 0 },
  },
};

// The measured endpoints whose req/s is set against the floor's, and their budgets' names.
const RATIOS = [
  ["list", "list_ratio"],
  ["ai_list", "ai_list_ratio"],
  ["create", "create_ratio"],
  ["verify_s3", "verify_s3_ratio"],
  ["verify_ai", "verify_ai_ratio"],
];
// S3 refuses a signature more than 15 minutes from its clock: the bench signs its request at
// the start, and signs it again before a round once it is this old.
const RESIGN_AFTER_MS = 10 * 60 * 1000;
// Verifications counted through the counting Worker: 3 per kind of key (see countRoundTrips).
const COUNTED_VERIFICATIONS = 6;

// Fixed bench configuration; nothing here is a real secret.
const BENCH_USER = "bench-user";
const BENCH_GATEWAY = "bench-gateway";
const vars = {
  JWT_SECRET: "bench-jwt-secret-bench-jwt-secret-0123456789",
  JWT_ISSUER: "https://issuer.bench.invalid/",
  JWT_AUDIENCE: "flashgate-bench",
  ENCRYPTION_KEYS: "v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
  // Creates run by the thousand; the created repo is emptied between runs besides.
  STORAGE_KEY_QUOTA: "1000000000",
  AI_KEY_QUOTA: String(SEEDED_KEYS),
  AUDIT_DEAD_LETTER_QUEUE: "flashgate-audit-dlq",
};

const log = (message) => process.stderr.write(`${message}\n`);

function workerConfig(name, code, compatibilityDate) {
  const env = {
    DB: { type: "d1", id: "flashgate-bench" },
    AUDIT: { type: "queue", name: "flashgate-audit" },
  };
  for (const [key, value] of Object.entries(vars)) env[key] = { type: "text", value };
  return {
    config: {
      name,
      compatibilityDate,
      manifest: {
        mainModule: "index.js",
        modules: { "index.js": { type: "esm", contents: code } },
      },
      env,
    },
    // Each Worker on its own loopback socket: requests go straight to workerd, no proxy.
    dev: { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] },
  };
}

async function load(url, { method = "GET", body, token, seconds }) {
  const result = await autocannon({
    url,
    method,
    body,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body ? { "Content-Type": "application/json" } : {}),
    },
    connections: settings.connections,
    pipelining: 1,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${method} ${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
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

function summarise(runs) {
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  return {
    rps: Math.round(requests / seconds),
    p50: median(runs.map((run) => run.p50)),
    p99: median(runs.map((run) => run.p99)),
  };
}

async function main() {
  const started = Date.now();
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });

  log("building: wrangler deploy --dry-run, floor, counted worker");
  const production = buildProductionBundle(root, join(workDir, "dist"));
  const floorCode = await bundleWorker(join(root, "bench/floor.ts"), join(workDir, "floor.js"));
  const countedCode = await bundleWorker(
    join(root, "bench/counted-worker.ts"),
    join(workDir, "counted.js"),
  );
  const profileCode = await bundleWorker(
    join(root, "bench/profile-worker.ts"),
    join(workDir, "profile.js"),
  );
  const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(
    readFileSync(join(root, "wrangler.toml"), "utf8"),
  )?.[1];

  const mf = new Miniflare({
    host: "127.0.0.1",
    // Requests reach each Worker on its own socket; nothing to log on the entry.
    logRequests: false,
    port: 0,
    workers: [
      workerConfig("app", production.code, compatibilityDate),
      workerConfig("floor", floorCode, compatibilityDate),
      workerConfig("counted", countedCode, compatibilityDate),
      workerConfig("profile", profileCode, compatibilityDate),
    ],
  });
  const stop = () => mf.dispose().finally(() => process.exit(130));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);

  try {
    await mf.ready;
    const app = String(await mf.unsafeGetDirectURL("app"));
    const floor = String(await mf.unsafeGetDirectURL("floor"));
    const counted = String(await mf.unsafeGetDirectURL("counted"));
    const profiler = String(await mf.unsafeGetDirectURL("profile"));
    const db = await mf.getD1Database("DB", "app");
    await applyMigrations(db, join(root, "migrations"));

    const jwt = (subject, claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setSubject(subject)
        .setIssuer(vars.JWT_ISSUER)
        .setAudience(vars.JWT_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime("2h")
        .sign(new TextEncoder().encode(vars.JWT_SECRET));
    const token = await jwt(BENCH_USER, {});
    // A gateway's token: the verification endpoints take nothing else.
    const gatewayToken = await jwt(BENCH_GATEWAY, { scope: "keys:verify" });

    log(`seeding ${SEEDED_KEYS} storage keys and ${SEEDED_KEYS} AI keys through the API`);
    const { listedRepoId, createdRepoId, verifiedRepoId, storageKey, aiKey } = await seed(
      app,
      token,
    );
    const expected = { verifiedRepoId, storageKey, aiKey };

    const createBody = JSON.stringify({ name: "bench key", accessType: "READ" });
    let s3Signed = { at: Date.now(), body: await signedS3Body(storageKey, verifiedRepoId) };
    const aiBody = { secret: aiKey.secret };
    const verifyS3 = {
      name: "verify_s3",
      path: "/verify/s3",
      method: "POST",
      body: JSON.stringify(s3Signed.body),
      token: gatewayToken,
    };
    const endpoints = [
      { name: "list", path: `/repo/${listedRepoId}/apikey` },
      { name: "ai_list", path: `/repo/${listedRepoId}/ai/apikey` },
      { name: "create", path: `/repo/${createdRepoId}/apikey`, method: "POST", body: createBody },
      verifyS3,
      {
        name: "verify_ai",
        path: "/verify/ai",
        method: "POST",
        body: JSON.stringify(aiBody),
        token: gatewayToken,
      },
    ];
    const resignIfOld = async () => {
      if (Date.now() - s3Signed.at < RESIGN_AFTER_MS) return;
      s3Signed = { at: Date.now(), body: await signedS3Body(storageKey, verifiedRepoId) };
      verifyS3.body = JSON.stringify(s3Signed.body);
    };

    await checkSameAnswers({ app, floor, token, endpoints, expected, s3Body: s3Signed.body });
    const roundTrips = await countRoundTrips({
      counted,
      token,
      gatewayToken,
      listedRepoId,
      createdRepoId,
      s3Body: s3Signed.body,
      aiBody,
    });
    log("profiling CPU per request with D1 replayed");
    const profile = await (
      await fetch(profiler, {
        method: "POST",
        body: JSON.stringify({
          token,
          userId: BENCH_USER,
          repoId: listedRepoId,
          createRepoId: createdRepoId,
          iterations: settings.profileIterations,
          gatewayToken,
          s3Body: s3Signed.body,
          aiBody,
        }),
      })
    ).json();
    if (profile.requests === undefined)
      throw new Error(`profiling failed: ${JSON.stringify(profile)}`);
    // The lastUsedAt writes the counted verifications scheduled (waitUntil, ~1 s later) have
    // landed by now, profiling took longer than that; they are reported apart.
    const deferredTrips = await deferredRoundTrips(counted);
    await resetCreatedRepo(db, createdRepoId);
    if (cpuOnly) {
      console.log(JSON.stringify(profile));
      return;
    }

    // Warm both Workers' JIT before anything is recorded.
    for (const endpoint of endpoints) {
      for (const base of [app, floor]) {
        await load(new URL(endpoint.path, base).href, {
          ...endpoint,
          token: endpoint.token ?? token,
          seconds: settings.warmupSeconds,
        });
      }
      if (endpoint.method === "POST") await resetCreatedRepo(db, createdRepoId);
    }

    // A B B A …: whichever runs first in a pair alternates, so drift during the run cancels.
    const runs = {};
    for (let round = 0; round < settings.rounds; round++) {
      await resignIfOld();
      for (const endpoint of endpoints) {
        const order = round % 2 === 0 ? ["app", "floor"] : ["floor", "app"];
        for (const target of order) {
          const base = target === "app" ? app : floor;
          log(`round ${round + 1}/${settings.rounds}: ${endpoint.name} (${target})`);
          const run = await load(new URL(endpoint.path, base).href, {
            ...endpoint,
            token: endpoint.token ?? token,
            seconds: settings.seconds,
          });
          const key = `${endpoint.name}:${target}`;
          runs[key] = [...(runs[key] ?? []), run];
          if (endpoint.method === "POST") await resetCreatedRepo(db, createdRepoId);
        }
      }
    }

    const results = {};
    for (const endpoint of endpoints) {
      results[endpoint.name] = {
        app: summarise(runs[`${endpoint.name}:app`]),
        floor: summarise(runs[`${endpoint.name}:floor`]),
      };
    }
    report({
      results,
      roundTrips,
      deferredTrips,
      profile,
      production,
      seconds: (Date.now() - started) / 1000,
    });
  } finally {
    await mf.dispose();
  }
}

/** JSON with every object's keys sorted: two answers compare equal whatever their key order. */
const canonical = (value) =>
  JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

/** A well-formed AI secret (format and checksum right) that nobody issued. */
function unissuedAiSecret() {
  const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let body = "";
  for (let i = 0; i < 44; i++) body += base62[Math.floor(Math.random() * 62)];
  let value = crc32(body);
  let checksum = "";
  for (let i = 0; i < 6; i++) {
    checksum = base62[value % 62] + checksum;
    value = Math.floor(value / 62);
  }
  return `fbai_sk_${body}${checksum}`;
}

/**
 * The floor only means something if it answers what the Worker answers. The verifications
 * must answer byte for byte the same JSON (key order aside), VALID with the seeded key, and
 * refuse the same forgeries the same way: a floor that skipped the signature or the digest
 * check would answer VALID to them.
 */
async function checkSameAnswers({ app, floor, token, endpoints, expected, s3Body }) {
  const ask = async (base, endpoint) => {
    const response = await fetch(new URL(endpoint.path, base), {
      method: endpoint.method ?? "GET",
      headers: {
        Authorization: `Bearer ${endpoint.token ?? token}`,
        "Content-Type": "application/json",
      },
      body: endpoint.body,
    });
    return { status: response.status, body: await response.json() };
  };
  const verifications = endpoints.filter((e) => e.name.startsWith("verify_"));
  const gatewayToken = verifications[0]?.token;
  const tampered = structuredClone(s3Body);
  tampered.headers.authorization = tampered.headers.authorization.replace(/.$/, (c) =>
    c === "0" ? "1" : "0",
  );
  const forgeries = [
    { name: "verify_s3 (tampered signature)", body: tampered, code: "SIGNATURE_MISMATCH" },
    {
      name: "verify_s3 (more access than the key has)",
      body: { ...s3Body, requiredAccess: "ADMIN" },
      code: "INSUFFICIENT_ACCESS",
    },
    { name: "verify_ai (unissued secret)", ai: { secret: unissuedAiSecret() }, code: "INVALID" },
  ].map(({ name, body, ai, code }) => ({
    name,
    code,
    path: ai ? "/verify/ai" : "/verify/s3",
    method: "POST",
    body: JSON.stringify(ai ?? body),
    token: gatewayToken,
  }));

  for (const endpoint of [...endpoints, ...forgeries]) {
    const ours = await ask(app, endpoint);
    const theirs = await ask(floor, endpoint);
    const verification = endpoint.path.startsWith("/verify/");
    // Created keys differ in their random parts; their shape must not.
    const shape = (answer) =>
      verification
        ? canonical(answer)
        : endpoint.method === "POST"
          ? JSON.stringify([answer.status, Object.keys(answer.body)])
          : JSON.stringify(answer);
    if (ours.status !== 200 || shape(ours) !== shape(theirs)) {
      throw new Error(
        `${endpoint.name}: the floor answers differently from the Worker:\n${shape(ours).slice(0, 300)}\n${shape(theirs).slice(0, 300)}`,
      );
    }
    if (endpoint.name === "list" && ours.body.keys.length !== SEEDED_KEYS) {
      throw new Error(`list returned ${ours.body.keys.length} keys, expected ${SEEDED_KEYS}`);
    }
    const wanted = endpoint.code ?? (verification ? "VALID" : undefined);
    if (wanted && ours.body.code !== wanted) {
      throw new Error(`${endpoint.name}: answered ${canonical(ours.body)}, expected ${wanted}`);
    }
    const keyId = { verify_s3: expected.storageKey.id, verify_ai: expected.aiKey.id }[
      endpoint.name
    ];
    if (keyId && (ours.body.keyId !== keyId || ours.body.repoId !== expected.verifiedRepoId)) {
      throw new Error(`${endpoint.name}: verified ${canonical(ours.body)}, not the seeded key`);
    }
  }
}

/**
 * One request per endpoint through the counting Worker; reads the header it adds. Each
 * verification is counted uncached (the key's memory off: VERIFY_CACHE_TTL_SECONDS = "0", then
 * the first request with it on, which reads and remembers) and cached (the next request).
 */
async function countRoundTrips({
  counted,
  token,
  gatewayToken,
  listedRepoId,
  createdRepoId,
  s3Body,
  aiBody,
}) {
  const trips = async (method, path, body, { bearer = token, cacheTtl } = {}) => {
    const response = await fetch(new URL(path, counted), {
      method,
      headers: {
        Authorization: `Bearer ${bearer}`,
        ...(body ? { "Content-Type": "application/json" } : {}),
        ...(cacheTtl === undefined ? {} : { "X-Bench-Verify-Cache-Ttl": cacheTtl }),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await response.json();
    if (!response.ok)
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return { trips: Number(response.headers.get("X-Bench-D1-Round-Trips")), json };
  };
  const list = await trips("GET", `/repo/${listedRepoId}/apikey`);
  const aiList = await trips("GET", `/repo/${listedRepoId}/ai/apikey`);
  const create = await trips("POST", `/repo/${createdRepoId}/apikey`, {
    name: "counted",
    accessType: "WRITE",
  });
  const keyPath = `/repo/${createdRepoId}/apikey/${create.json.id}`;
  const update = await trips("PUT", keyPath, { name: "counted, renamed", accessType: "READ" });
  const remove = await trips("DELETE", keyPath);
  const verification = async (path, body) => {
    const gateway = { bearer: gatewayToken };
    const answers = [
      await trips("POST", path, body, { ...gateway, cacheTtl: "0" }),
      await trips("POST", path, body, gateway),
      await trips("POST", path, body, gateway),
    ];
    for (const { json } of answers) {
      if (json.code !== "VALID") throw new Error(`${path}: ${JSON.stringify(json)}`);
    }
    const [memoryOff, first, next] = answers.map((answer) => answer.trips);
    // The memory off, then on: its first request reads and remembers, the next reads nothing.
    return { uncached: Math.max(memoryOff, first), cached: next };
  };
  return {
    list: list.trips,
    ai_list: aiList.trips,
    create: create.trips,
    update: update.trips,
    delete: remove.trips,
    verify_s3: await verification("/verify/s3", s3Body),
    verify_ai: await verification("/verify/ai", aiBody),
  };
}

/**
 * D1 round trips the counted Worker made after answering: the lastUsedAt write verifications
 * schedule in waitUntil a second later, at most once a minute per key, uses of both kinds of key
 * gathered into one batch (so it is one number, not one per endpoint). Read after profiling,
 * seconds after the counted verifications; waits up to 3 s more if nothing has landed yet.
 */
async function deferredRoundTrips(counted) {
  const url = new URL("/__bench/deferred-round-trips", counted);
  let trips = 0;
  const deadline = Date.now() + 3000;
  while (true) {
    const deferred = await (await fetch(url)).json();
    for (const n of Object.values(deferred)) trips += n;
    if (trips > 0 || Date.now() > deadline) {
      return { last_used_at: trips, verifications: COUNTED_VERIFICATIONS, keys: 2 };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function report({ results, roundTrips, deferredTrips, profile, production, seconds }) {
  const ratio = (name) => Number((results[name].app.rps / results[name].floor.rps).toFixed(3));
  const ratios = Object.fromEntries(RATIOS.map(([name, key]) => [key, ratio(name)]));
  const verdict = (ok) => (ok ? "ok" : "OVER BUDGET");
  // A budget of round trips is a number, or {uncached, cached} for the verification plane.
  const tripsWithin = (name) => {
    const budget = BUDGETS.d1_round_trips[name];
    const trips = roundTrips[name];
    return typeof budget === "number"
      ? trips <= budget
      : trips.uncached <= budget.uncached && trips.cached <= budget.cached;
  };
  const tripsCell = (name) => {
    const budget = BUDGETS.d1_round_trips[name];
    const trips = roundTrips[name];
    return typeof budget === "number"
      ? `${trips} (<= ${budget})`
      : `${trips.uncached} uncached, ${trips.cached} cached (<= ${budget.uncached}, ${budget.cached})`;
  };

  const rows = [
    [
      "endpoint",
      "worker req/s",
      "floor req/s",
      "ratio",
      "budget",
      "p50 ms",
      "p99 ms",
      "floor p50/p99",
      "D1 trips",
    ],
  ];
  for (const [name, key] of RATIOS) {
    const { app, floor } = results[name];
    rows.push([
      name,
      String(app.rps),
      String(floor.rps),
      ratios[key].toFixed(3),
      `>= ${BUDGETS[key]} ${verdict(ratios[key] >= BUDGETS[key])}`,
      String(app.p50),
      String(app.p99),
      `${floor.p50}/${floor.p99}`,
      tripsCell(name),
    ]);
  }
  for (const name of ["update", "delete"]) {
    rows.push([name, "-", "-", "-", "-", "-", "-", "-", tripsCell(name)]);
  }
  const lines = [table(rows)];

  const cpuRows = [["CPU per request, D1 replayed (us)", "worker", "floor*", "worker - floor"]];
  const cpuRow = (name, worker, floor) =>
    cpuRows.push([
      name,
      String(worker),
      floor === undefined ? "-" : String(floor),
      floor === undefined ? "-" : (worker - floor).toFixed(1),
    ]);
  for (const [name, { worker, floor }] of Object.entries(profile.requests)) {
    if (typeof worker === "number") {
      cpuRow(name, worker, floor);
    } else {
      for (const path of ["cached", "uncached"])
        cpuRow(`${name} ${path}`, worker[path], floor[path]);
    }
  }
  const stageRows = [["stage of the list request (us per op)", "cost"]];
  for (const [stage, us] of Object.entries(profile.stages)) stageRows.push([stage, String(us)]);
  const verifyStageRows = [["stage of a verification, key remembered (us per op)", "cost"]];
  for (const [stage, us] of Object.entries(profile.verifyStages)) {
    verifyStageRows.push([stage, String(us)]);
  }

  const tripsOk = Object.keys(roundTrips).every(tripsWithin);
  const kib = (bytes) => (bytes / 1024).toFixed(1);
  console.log(
    `\nflashgate bench (${quick ? "quick" : "full"}: ${settings.rounds} rounds x ${settings.seconds}s, ${settings.connections} connections, workerd via Miniflare)\n`,
  );
  console.log(lines.join("\n"));
  console.log(
    `verify_*: req/s with the key remembered (the steady state); D1 trips on the request path. ` +
      `Off it (waitUntil, ~1 s later): lastUsedAt, ${deferredTrips.last_used_at} round trip(s) for ` +
      `the ${deferredTrips.verifications} counted verifications of ${deferredTrips.keys} keys (at most one write a minute per key, batched).`,
  );
  console.log(
    `\n${table(cpuRows)}\n* for health: bare Hono with one route\n\n${table(stageRows)}\n\n${table(verifyStageRows)}`,
  );
  console.log(
    `\nbundle: ${kib(production.bytes)} KiB, ${kib(production.gzipBytes)} KiB gzip (budget 100 KiB: ${verdict(production.gzipBytes <= BUDGETS.bundle_gzip_bytes)}); D1 round trips ${verdict(tripsOk)}; ${seconds.toFixed(0)} s\n`,
  );

  const byEndpoint = (pick) =>
    Object.fromEntries(Object.entries(results).map(([name, r]) => [name, pick(r)]));
  console.log(
    JSON.stringify({
      floor_rps: byEndpoint((r) => r.floor.rps),
      rps: byEndpoint((r) => r.app.rps),
      ...ratios,
      d1_round_trips: roundTrips,
      // Not on the request path: the lastUsedAt batch the counted verifications scheduled.
      d1_deferred_round_trips: deferredTrips,
      p50_ms: byEndpoint((r) => r.app.p50),
      p99_ms: byEndpoint((r) => r.app.p99),
      floor_p99_ms: byEndpoint((r) => r.floor.p99),
      cpu_us: profile.requests,
      bundle_gzip_bytes: production.gzipBytes,
      mode: quick ? "quick" : "full",
    }),
  );
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

await main();
