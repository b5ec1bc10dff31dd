// The AI gateway scenario of `npm run bench` (also alone: `node bench/ai-gateway.mjs [--quick]`):
// OpenAI chat completions through the AI gateway (ai-gateway/, its production bundle) and the
// API's KeyVerifier (and the AiCall stub it answers) over a service binding, against the same
// requests sent straight to the mock provider (test/e2e/support/mock-provider.mjs) with its key.
// Its own Miniflare, so the API's load runs are untouched.
//
// The mock answers after LATENCY_MS, a fast model's time to answer (real ones take hundreds of
// ms to seconds): the gateway's throughput against the direct calls' is then what its hops cost a
// client, not a race against a server that answers in microseconds. Fields:
//   ai_gateway_ratio              non-streaming req/s through the gateway ÷ direct
//   ai_gateway_overhead_ms        non-streaming p50 latency through the gateway − direct
//   ai_gateway_ttfb_overhead_ms   streaming: median time to the first chunk, gateway − direct
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { startMockProvider } from "../test/e2e/support/mock-provider.mjs";
import { buildProductionBundle } from "./build.mjs";
import {
  BENCH_CREDENTIALS,
  benchToken,
  compatibilityDateOf,
  textBindings,
  warningsAndErrorsTo,
  workerConfig,
} from "./miniflare.mjs";
import { applyMigrations } from "./seed.mjs";

const LATENCY_MS = 50;
const CHUNK_DELAY_MS = 5;
const PROVIDER_KEY = "sk-bench-0000000000000000000000000000";

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round = (value, digits = 2) => Number(value.toFixed(digits));

/** Load on one URL for `seconds`: req/s and p50 latency; any non-2xx fails the bench. */
async function load(url, headers, body, seconds, connections) {
  const result = await autocannon({
    url,
    method: "POST",
    headers,
    body,
    connections,
    pipelining: 1,
    duration: seconds,
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  return { requests: result.requests.total, seconds: result.duration, p50: result.latency.p50 };
}

/** Milliseconds from sending a streaming request to its first body chunk (the rest is drained). */
async function timeToFirstChunk(url, headers, body) {
  const started = performance.now();
  const response = await fetch(url, { method: "POST", headers, body });
  if (!response.ok || !response.body) throw new Error(`${url}: ${response.status}`);
  const reader = response.body.getReader();
  await reader.read();
  const ms = performance.now() - started;
  while (!(await reader.read()).done);
  return ms;
}

/**
 * Runs the scenario; resolves to the fields above plus what they came from. `productionCode` is
 * the API's production bundle (bench/run.mjs builds it; alone, this builds it).
 */
export async function benchAiGateway({ root, workDir, productionCode, quick, log }) {
  const rounds = quick ? 1 : 2;
  const seconds = quick ? 2 : 5;
  const connections = 8;
  const streams = quick ? 15 : 40;
  const aiGateway = await buildProductionBundle(
    root,
    join(workDir, "ai-gateway-dist"),
    "ai-gateway/wrangler.toml",
  );
  const mock = await startMockProvider({
    apiKey: PROVIDER_KEY,
    latencyMs: LATENCY_MS,
    chunkDelayMs: CHUNK_DELAY_MS,
    record: false,
  });
  const env = {
    DB: { type: "d1", id: "flashgate-ai-bench" },
    AUDIT: { type: "queue", name: "flashgate-ai-audit" },
    ...textBindings({ ...BENCH_CREDENTIALS, AI_PROVIDER_ALLOW_LOOPBACK: "true" }),
  };
  const entrypoint = (exportName) => ({ type: "worker", worker: "flashgate-apikeys", exportName });
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    logRequests: false,
    handleStructuredLogs: warningsAndErrorsTo(log),
    workers: [
      workerConfig(
        "flashgate-apikeys",
        productionCode,
        compatibilityDateOf(root, "wrangler.toml"),
        env,
      ),
      workerConfig(
        "ai-gateway",
        aiGateway.code,
        compatibilityDateOf(root, "ai-gateway/wrangler.toml"),
        {
          KEY_VERIFIER: entrypoint("KeyVerifier"),
        },
      ),
    ],
  });
  try {
    await mf.ready;
    const app = String(await mf.unsafeGetDirectURL("flashgate-apikeys"));
    const gateway = String(await mf.unsafeGetDirectURL("ai-gateway"));
    await applyMigrations(
      await mf.getD1Database("DB", "flashgate-apikeys"),
      join(root, "migrations"),
    );
    const token = await benchToken("bench-ai-gateway");
    const call = async (method, path, body) => {
      const response = await fetch(new URL(path, app), {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok)
        throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    const workspaceId = (await call("POST", "/workspace", { name: "ai" })).id;
    const repoId = (await call("POST", "/repo", { name: "ai", workspaceId })).id;
    await call("PUT", `/repo/${repoId}/ai/provider/OPENAI`, {
      apiKey: PROVIDER_KEY,
      baseUrl: `${mock.url}/v1`,
    });
    const { secret } = await call("POST", `/repo/${repoId}/ai/apikey`, {
      name: "b",
      aiType: "OPENAI",
    });

    const targets = {
      direct: { url: `${mock.url}/v1/chat/completions`, key: PROVIDER_KEY },
      gateway: { url: new URL("/v1/chat/completions", gateway).href, key: secret },
    };
    const headersOf = (target) => ({
      authorization: `Bearer ${targets[target].key}`,
      "content-type": "application/json",
    });
    const chat = JSON.stringify({ model: "gpt-mock", messages: [{ role: "user", content: "hi" }] });
    const streamed = JSON.stringify({ ...JSON.parse(chat), stream: true });

    // Warm-up (JIT, the key memory), then A B B A rounds.
    for (const target of ["direct", "gateway"]) {
      await load(targets[target].url, headersOf(target), chat, 1, connections);
    }
    log(`ai gateway: ${rounds * 2} runs of ${seconds} s each, mock latency ${LATENCY_MS} ms`);
    const runs = { direct: [], gateway: [] };
    for (let round = 0; round < rounds; round++) {
      for (const target of round % 2 ? ["gateway", "direct"] : ["direct", "gateway"]) {
        runs[target].push(
          await load(targets[target].url, headersOf(target), chat, seconds, connections),
        );
      }
    }
    const rps = (target) =>
      runs[target].reduce((sum, run) => sum + run.requests, 0) /
      runs[target].reduce((sum, run) => sum + run.seconds, 0);
    const p50 = (target) => median(runs[target].map((run) => run.p50));

    log(`ai gateway: time to first chunk of ${streams} streams each, one at a time, interleaved`);
    const firstChunk = { direct: [], gateway: [] };
    for (let i = 0; i <= streams; i++) {
      for (const target of ["direct", "gateway"]) {
        const ms = await timeToFirstChunk(targets[target].url, headersOf(target), streamed);
        if (i > 0) firstChunk[target].push(ms);
      }
    }
    return {
      ai_gateway_ratio: round(rps("gateway") / rps("direct")),
      ai_gateway_overhead_ms: round(p50("gateway") - p50("direct"), 1),
      ai_gateway_ttfb_overhead_ms: round(median(firstChunk.gateway) - median(firstChunk.direct), 1),
      ai_gateway: {
        mock_latency_ms: LATENCY_MS,
        rps: { direct: Math.round(rps("direct")), gateway: Math.round(rps("gateway")) },
        p50_ms: { direct: p50("direct"), gateway: p50("gateway") },
        first_chunk_ms: {
          direct: round(median(firstChunk.direct), 1),
          gateway: round(median(firstChunk.gateway), 1),
        },
        gzip_bytes: aiGateway.gzipBytes,
      },
    };
  } finally {
    await mf.dispose();
    await mock.stop();
  }
}

// Alone: builds the API's bundle too, prints the fields as one JSON line.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const workDir = join(root, ".bench");
  const log = (message) => process.stderr.write(`${message}\n`);
  const production = await buildProductionBundle(root, join(workDir, "dist"));
  const result = await benchAiGateway({
    root,
    workDir,
    productionCode: production.code,
    quick: process.argv.includes("--quick"),
    log,
  });
  console.log(JSON.stringify(result));
}
