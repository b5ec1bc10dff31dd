// `node bench/v8-profile.mjs [verify_s3|verify_ai|health] [--floor] [--seconds=N]`: a V8 CPU
// profile of one request kind, key remembered, D1 replayed, served in a loop inside workerd by
// bench/profile-worker.ts (unminified), recorded through workerd's inspector. Prints where the
// time went: self time by function and the inclusive time of each of our source files, in µs
// per request. `--out=file.cpuprofile` also writes the profile (Chrome DevTools opens it).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { buildProductionBundle } from "./build.mjs";
import {
  BENCH_CREDENTIALS,
  benchToken,
  compatibilityDateOf,
  textBindings,
  warningsAndErrorsTo,
  workerConfig,
} from "./miniflare.mjs";
import { applyMigrations, seed, signedS3Body } from "./seed.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const workDir = join(root, ".bench", "v8-profile");
const name = process.argv.find((arg) => /^(verify_s3|verify_ai|health)$/.test(arg)) ?? "verify_s3";
const target = process.argv.includes("--floor") ? "floor" : "worker";
const iterations = Number(
  process.argv.find((arg) => arg.startsWith("--iterations="))?.split("=")[1] ?? 20000,
);
const out = process.argv.find((arg) => arg.startsWith("--out="))?.slice("--out=".length);
const log = (message) => process.stderr.write(`${message}\n`);

mkdirSync(workDir, { recursive: true });
const production = await buildProductionBundle(root, join(workDir, "dist"));
const profileFile = join(workDir, "profile-worker.js");
await build({
  entryPoints: [join(root, "bench/profile-worker.ts")],
  outfile: profileFile,
  bundle: true,
  format: "esm",
  platform: "neutral",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["module", "main"],
  target: "es2022",
  external: ["cloudflare:*"],
  // Unminified, names kept: the profile names each function.
  minify: false,
  logLevel: "warning",
});
const { readFileSync } = await import("node:fs");
const compatibilityDate = compatibilityDateOf(root, "wrangler.toml");
const env = () => ({
  DB: { type: "d1", id: "flashgate-v8-profile" },
  AUDIT: { type: "queue", name: "flashgate-audit" },
  ...textBindings({ ...BENCH_CREDENTIALS, STORAGE_KEY_QUOTA: "1000", AI_KEY_QUOTA: "1000" }),
});
const inspectorPort = 9300 + Math.floor(Math.random() * 500);
const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  inspectorPort,
  logRequests: false,
  handleStructuredLogs: warningsAndErrorsTo(log),
  workers: [
    workerConfig("flashgate-apikeys", production.code, compatibilityDate, env()),
    workerConfig("profile", readFileSync(profileFile, "utf8"), compatibilityDate, env()),
  ],
});

/** One Chrome DevTools Protocol session over the inspector's WebSocket. */
async function inspect(url) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let id = 0;
  const waiting = new Map();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.id !== undefined) waiting.get(message.id)?.(message);
  };
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        waiting.set(n, (message) =>
          message.error
            ? reject(new Error(JSON.stringify(message.error)))
            : resolve(message.result),
        );
        socket.send(JSON.stringify({ id: n, method, params }));
      }),
    close: () => socket.close(),
  };
}

try {
  await mf.ready;
  const app = String(await mf.unsafeGetDirectURL("flashgate-apikeys"));
  const profiler = String(await mf.unsafeGetDirectURL("profile"));
  await applyMigrations(
    await mf.getD1Database("DB", "flashgate-apikeys"),
    join(root, "migrations"),
  );
  const token = await benchToken("bench-user");
  const gatewayToken = await benchToken("bench-gateway", { scope: "keys:verify" });
  log("seeding");
  const seeded = await seed(app, token, await mf.getD1Database("DB", "flashgate-apikeys"));
  const body = {
    token,
    userId: "bench-user",
    repoId: seeded.listedRepoId,
    createRepoId: seeded.createdRepoId,
    gatewayToken,
    s3Body: await signedS3Body(seeded.storageKey, seeded.verifiedRepoId),
    aiBody: { secret: seeded.aiKey.secret },
  };
  const loop = async (n) => {
    const response = await fetch(profiler, {
      method: "POST",
      body: JSON.stringify({ ...body, iterations: n, loop: { name, target } }),
    });
    const answer = await response.json();
    if (answer.us === undefined) throw new Error(JSON.stringify(answer));
    return answer.us;
  };
  // Warm: rows remembered, JIT settled.
  await loop(2000);

  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const profileTarget = targets.find((t) => /profile/.test(t.title ?? t.id ?? t.url));
  if (!profileTarget) throw new Error(`no inspector target: ${JSON.stringify(targets)}`);
  const session = await inspect(profileTarget.webSocketDebuggerUrl);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 50 });
  await session.send("Profiler.start");
  const us = await loop(iterations);
  const { profile } = await session.send("Profiler.stop");
  session.close();
  if (out) writeFileSync(out, JSON.stringify(profile));
  summarise(profile, us);
} finally {
  await mf.dispose();
}

function summarise(profile, usPerRequest) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const counts = new Map();
  for (const sample of profile.samples) counts.set(sample, (counts.get(sample) ?? 0) + 1);
  const total = profile.samples.length;
  const perRequest = (samples) => ((samples / total) * usPerRequest).toFixed(1);
  const label = (frame) =>
    `${frame.functionName || "(anonymous)"} ${frame.url.split("/").pop()}:${frame.lineNumber + 1}`;
  const self = new Map();
  const inclusive = new Map();
  for (const [id, n] of counts) {
    const node = byId.get(id);
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + n);
    // Inclusive: every distinct function on the stack once.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = label(byId.get(at).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + n);
    }
  }
  const top = (map, count) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([key, n]) => `${perRequest(n).padStart(7)} µs  ${key}`)
      .join("\n");
  console.log(
    `${name} (${target}): ${usPerRequest} µs per request (wall, in the loop), ${total} samples`,
  );
  console.log(`\nself time, µs per request\n${top(self, 40)}`);
  console.log(`\ninclusive time, µs per request\n${top(inclusive, 60)}`);
}
