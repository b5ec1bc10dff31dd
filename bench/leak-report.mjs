// The leak-report scenario of `npm run bench`: one GitHub secret scanning report of 1,000 tokens
// (real storage and AI secrets among well-formed ones nobody issued and other services' tokens),
// signed with a local P-256 key whose public half a local server publishes as GitHub does. Wall
// time on the production bundle; D1 round trips through the counting Worker. Its own Miniflare,
// so the API's load runs are untouched.
import { generateKeyPairSync, sign } from "node:crypto";
import http from "node:http";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { Miniflare } from "miniflare";
import {
  BENCH_CREDENTIALS,
  benchToken,
  textBindings,
  warningsAndErrorsTo,
  workerConfig,
} from "./miniflare.mjs";
import { applyMigrations } from "./seed.mjs";

const TOKENS = 1_000;
/** Real secrets per report: half storage, half AI, fresh for each acting report. */
const REAL = 20;
const REPORTS = 7;
const KEY_ID = "bench-github-key";
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A well-formed secret (prefix, base62, CRC-32 checksum) that no key has. */
function unissued(prefix, length) {
  let body = "";
  for (let i = 0; i < length; i++) body += BASE62[Math.floor(Math.random() * 62)];
  let value = crc32(body);
  let checksum = "";
  for (let i = 0; i < 6; i++) {
    checksum = BASE62[value % 62] + checksum;
    value = Math.floor(value / 62);
  }
  return prefix + body + checksum;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Runs the scenario; resolves to { tokens, acting: {p50Ms, roundTrips}, repeated: {…} }:
 * `acting` reports carry fresh real secrets (lookup + write), `repeated` the same report again
 * (idempotent: lookup only).
 */
export async function benchLeakReport({
  root,
  productionCode,
  countedCode,
  compatibilityDate,
  log,
}) {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const keys = JSON.stringify({
    public_keys: [
      {
        key_identifier: KEY_ID,
        key: publicKey.export({ type: "spki", format: "pem" }),
        is_current: true,
      },
    ],
  });
  const keyServer = http.createServer((_, response) => {
    response.setHeader("Content-Type", "application/json");
    response.end(keys);
  });
  await new Promise((resolve) => keyServer.listen(0, "127.0.0.1", resolve));
  const env = {
    DB: { type: "d1", id: "flashgate-leaks-bench" },
    AUDIT: { type: "queue", name: "flashgate-leaks-audit" },
    ...textBindings({
      ...BENCH_CREDENTIALS,
      SECRET_SCANNING_KEYS_URL: `http://127.0.0.1:${keyServer.address().port}/keys`,
    }),
  };
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    logRequests: false,
    handleStructuredLogs: warningsAndErrorsTo(log),
    workers: [
      workerConfig("leaks-app", productionCode, compatibilityDate, env),
      workerConfig("leaks-counted", countedCode, compatibilityDate, env),
    ],
  });
  try {
    await mf.ready;
    const app = String(await mf.unsafeGetDirectURL("leaks-app"));
    const counted = String(await mf.unsafeGetDirectURL("leaks-counted"));
    await applyMigrations(await mf.getD1Database("DB", "leaks-app"), join(root, "migrations"));
    const token = await benchToken("bench-leaks");
    const call = async (method, path, body) => {
      const response = await fetch(new URL(path, app), {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
      return response.json();
    };
    const workspaceId = (await call("POST", "/workspace", { name: "leaks" })).id;
    const repoId = (await call("POST", "/repo", { name: "leaks", workspaceId })).id;
    const freshSecrets = async () => {
      const made = [];
      for (let i = 0; i < REAL / 2; i++) {
        made.push(
          (await call("POST", `/repo/${repoId}/apikey`, { name: "s", accessType: "READ" })).secret,
          (await call("POST", `/repo/${repoId}/ai/apikey`, { name: "a", aiType: "OTHER" })).secret,
        );
      }
      return made;
    };
    const reportOf = (real) => {
      const findings = real.map((token) => ({
        token,
        type: "t",
        url: "https://github.com/x",
        source: "commit",
      }));
      while (findings.length < TOKENS) {
        const kind = findings.length % 3;
        const token =
          kind === 0
            ? unissued("fbsk_", 29)
            : kind === 1
              ? unissued("fbai_sk_", 44)
              : `ghp_${findings.length}x`;
        findings.push({ token, type: "t", url: "https://github.com/x", source: "commit" });
      }
      return JSON.stringify(findings);
    };
    const post = async (base, body) => {
      const started = performance.now();
      const response = await fetch(new URL("/secret-scanning/github", base), {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Github-Public-Key-Identifier": KEY_ID,
          "Github-Public-Key-Signature": sign("sha256", Buffer.from(body), privateKey).toString(
            "base64",
          ),
        },
        body,
      });
      const feedback = await response.json();
      const ms = performance.now() - started;
      if (response.status !== 200)
        throw new Error(`report: ${response.status} ${JSON.stringify(feedback)}`);
      const truePositives = feedback.filter((f) => f.label === "true_positive").length;
      if (truePositives !== REAL)
        throw new Error(`report: ${truePositives} true positives, ${REAL} expected`);
      return { ms, roundTrips: Number(response.headers.get("X-Bench-D1-Round-Trips")) };
    };

    log(`leak report: ${REPORTS} reports of ${TOKENS} tokens (${REAL} real), and each again`);
    const acting = [];
    const repeated = [];
    // The first of each is warm-up (the key set's fetch, the JIT).
    for (let i = 0; i <= REPORTS; i++) {
      const body = reportOf(await freshSecrets());
      const first = await post(app, body);
      const again = await post(app, body);
      if (i > 0) {
        acting.push(first.ms);
        repeated.push(again.ms);
      }
    }
    const countedBody = reportOf(await freshSecrets());
    const actingTrips = (await post(counted, countedBody)).roundTrips;
    const repeatedTrips = (await post(counted, countedBody)).roundTrips;
    return {
      tokens: TOKENS,
      real: REAL,
      acting: { p50Ms: Number(median(acting).toFixed(1)), roundTrips: actingTrips },
      repeated: { p50Ms: Number(median(repeated).toFixed(1)), roundTrips: repeatedTrips },
    };
  } finally {
    await mf.dispose();
    keyServer.close();
  }
}
