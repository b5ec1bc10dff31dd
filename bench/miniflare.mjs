// What bench/run.mjs and bench/scale.mjs both hand Miniflare: each Worker as one bundled module
// with its bindings and its own socket, the compatibility date its wrangler.toml sets, the
// Workers' log lines kept to warnings and errors, and the fixed credentials and tokens signed
// with them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";

/** The bench's token key and sealing key: fixed, and nothing here is a real secret. */
export const BENCH_CREDENTIALS = {
  JWT_SECRET: "bench-jwt-secret-bench-jwt-secret-0123456789",
  JWT_ISSUER: "https://issuer.bench.invalid/",
  JWT_AUDIENCE: "flashgate-bench",
  ENCRYPTION_KEYS: "v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
};

/** A 2-hour token for `subject` that a Worker bound with BENCH_CREDENTIALS accepts. */
export const benchToken = (subject, claims = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(subject)
    .setIssuer(BENCH_CREDENTIALS.JWT_ISSUER)
    .setAudience(BENCH_CREDENTIALS.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(BENCH_CREDENTIALS.JWT_SECRET));

/** A Worker from one ES module, on its own loopback socket: requests go straight to workerd. */
export function workerConfig(name, code, compatibilityDate, env, config = {}) {
  return {
    config: {
      name,
      compatibilityDate,
      manifest: {
        mainModule: "index.js",
        modules: { "index.js": { type: "esm", contents: code } },
      },
      env,
      ...config,
    },
    dev: { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] },
  };
}

/** Plain-text bindings (vars and secrets), as `wrangler dev` binds `[vars]` and `.dev.vars`. */
export const textBindings = (vars) =>
  Object.fromEntries(Object.entries(vars).map(([key, value]) => [key, { type: "text", value }]));

/** The compatibility_date of a wrangler.toml under `root`. */
export function compatibilityDateOf(root, config) {
  const date = /compatibility_date\s*=\s*"([^"]+)"/.exec(
    readFileSync(join(root, config), "utf8"),
  )?.[1];
  if (!date) throw new Error(`${config} has no compatibility_date`);
  return date;
}

/**
 * Miniflare's handleStructuredLogs: the Worker's line per request (tens of thousands under
 * load) would drown the results; its warnings and errors still reach `log`.
 */
export const warningsAndErrorsTo =
  (log) =>
  ({ level, message }) => {
    if (level === "warn" || level === "error") log(message);
  };
