// `npm run bench [-- --quick]`: our Worker against its floor (bench/floor.ts), both on workerd
// through Miniflare's API in one process, with a local D1 and the audit queue. Prints a table,
// then one JSON line (the last line of stdout). Progress goes to stderr.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { SignJWT } from "jose";
import { Miniflare } from "miniflare";
import { buildProductionBundle, bundleWorker } from "./build.mjs";
import { applyMigrations, resetCreatedRepo, SEEDED_KEYS, seed } from "./seed.mjs";

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
  bundle_gzip_bytes: 100 * 1024,
  d1_round_trips: { list: 1, ai_list: 1, create: 2, update: 2, delete: 2 },
};

// Fixed bench configuration; nothing here is a real secret.
const BENCH_USER = "bench-user";
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

    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(BENCH_USER)
      .setIssuer(vars.JWT_ISSUER)
      .setAudience(vars.JWT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("2h")
      .sign(new TextEncoder().encode(vars.JWT_SECRET));

    log(`seeding ${SEEDED_KEYS} storage keys and ${SEEDED_KEYS} AI keys through the API`);
    const { listedRepoId, createdRepoId } = await seed(app, token);

    const createBody = JSON.stringify({ name: "bench key", accessType: "READ" });
    const endpoints = [
      { name: "list", path: `/repo/${listedRepoId}/apikey` },
      { name: "ai_list", path: `/repo/${listedRepoId}/ai/apikey` },
      { name: "create", path: `/repo/${createdRepoId}/apikey`, method: "POST", body: createBody },
    ];

    await checkSameAnswers({ app, floor, token, endpoints });
    const roundTrips = await countRoundTrips({ counted, token, listedRepoId, createdRepoId });
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
        }),
      })
    ).json();
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
          token,
          seconds: settings.warmupSeconds,
        });
      }
      if (endpoint.method === "POST") await resetCreatedRepo(db, createdRepoId);
    }

    // A B B A …: whichever runs first in a pair alternates, so drift during the run cancels.
    const runs = {};
    for (let round = 0; round < settings.rounds; round++) {
      for (const endpoint of endpoints) {
        const order = round % 2 === 0 ? ["app", "floor"] : ["floor", "app"];
        for (const target of order) {
          const base = target === "app" ? app : floor;
          log(`round ${round + 1}/${settings.rounds}: ${endpoint.name} (${target})`);
          const run = await load(new URL(endpoint.path, base).href, {
            ...endpoint,
            token,
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
    report({ results, roundTrips, profile, production, seconds: (Date.now() - started) / 1000 });
  } finally {
    await mf.dispose();
  }
}

/** The floor only means something if it answers what the Worker answers. */
async function checkSameAnswers({ app, floor, token, endpoints }) {
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  for (const endpoint of endpoints) {
    const answers = [];
    for (const base of [app, floor]) {
      const response = await fetch(new URL(endpoint.path, base), {
        method: endpoint.method ?? "GET",
        headers,
        body: endpoint.body,
      });
      answers.push({ status: response.status, body: await response.json() });
    }
    const [ours, theirs] = answers;
    // Created keys differ in their random parts; their shape must not.
    const shape = (answer) =>
      endpoint.method === "POST"
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
  }
}

/** One request per endpoint through the counting Worker; reads the header it adds. */
async function countRoundTrips({ counted, token, listedRepoId, createdRepoId }) {
  const trips = async (method, path, body) => {
    const response = await fetch(new URL(path, counted), {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body ? { "Content-Type": "application/json" } : {}),
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
  return {
    list: list.trips,
    ai_list: aiList.trips,
    create: create.trips,
    update: update.trips,
    delete: remove.trips,
  };
}

function report({ results, roundTrips, profile, production, seconds }) {
  const ratio = (name) => Number((results[name].app.rps / results[name].floor.rps).toFixed(3));
  const ratios = {
    list_ratio: ratio("list"),
    ai_list_ratio: ratio("ai_list"),
    create_ratio: ratio("create"),
  };
  const verdict = (ok) => (ok ? "ok" : "OVER BUDGET");

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
  for (const [name, key] of [
    ["list", "list_ratio"],
    ["ai_list", "ai_list_ratio"],
    ["create", "create_ratio"],
  ]) {
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
      `${roundTrips[name]} (<= ${BUDGETS.d1_round_trips[name]})`,
    ]);
  }
  for (const name of ["update", "delete"]) {
    rows.push([
      name,
      "-",
      "-",
      "-",
      "-",
      "-",
      "-",
      "-",
      `${roundTrips[name]} (<= ${BUDGETS.d1_round_trips[name]})`,
    ]);
  }
  const lines = [table(rows)];

  const cpuRows = [["CPU per request, D1 replayed (us)", "worker", "floor*", "worker - floor"]];
  for (const [name, { worker, floor }] of Object.entries(profile.requests)) {
    cpuRows.push([
      name,
      String(worker),
      floor === undefined ? "-" : String(floor),
      floor === undefined ? "-" : (worker - floor).toFixed(1),
    ]);
  }
  const stageRows = [["stage of the list request (us per op)", "cost"]];
  for (const [stage, us] of Object.entries(profile.stages)) stageRows.push([stage, String(us)]);

  const tripsOk = Object.entries(roundTrips).every(
    ([name, n]) => n <= BUDGETS.d1_round_trips[name],
  );
  const kib = (bytes) => (bytes / 1024).toFixed(1);
  console.log(
    `\nflashgate bench (${quick ? "quick" : "full"}: ${settings.rounds} rounds x ${settings.seconds}s, ${settings.connections} connections, workerd via Miniflare)\n`,
  );
  console.log(lines.join("\n"));
  console.log(`\n${table(cpuRows)}\n* for health: bare Hono with one route\n\n${table(stageRows)}`);
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
