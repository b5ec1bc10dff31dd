// What bench/run.mjs and bench/scale.mjs both hand Miniflare: each Worker as one bundled module
// with its bindings and its own socket, the compatibility date its wrangler.toml sets, and the
// Workers' log lines kept to warnings and errors.
import { readFileSync } from "node:fs";
import { join } from "node:path";

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
