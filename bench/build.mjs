// Builds the bundles the bench serves: the production Workers (exactly what `wrangler deploy`
// would upload: the API, and the S3 gateway with gateway/wrangler.toml), the floors, the
// round-trip-counting Worker and the profilers.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { buildAssets } from "../scripts/build-assets.mjs";

/**
 * `wrangler deploy --dry-run --outdir` (with `--config`, another Worker of the repo): the
 * production bundle, and its size as uploaded.
 */
export async function buildProductionBundle(root, outdir, config) {
  // The API's wrangler.toml names build/assets ([assets]); a fresh clone has none until built.
  if (!config) await buildAssets({ quiet: true });
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const result = spawnSync(
    process.execPath,
    [wrangler, "deploy", "--dry-run", "--outdir", outdir, ...(config ? ["--config", config] : [])],
    {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    },
  );
  if (result.status !== 0) {
    throw new Error(`wrangler deploy --dry-run failed:\n${result.stdout}\n${result.stderr}`);
  }
  const code = readFileSync(join(outdir, "index.js"));
  return { code: code.toString("utf8"), bytes: code.length, gzipBytes: gzipSync(code).length };
}

/** Bundles a bench-only Worker the way wrangler would: ESM, workerd export conditions, minified. */
export async function bundleWorker(entry, outfile) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    target: "es2022",
    // Runtime modules workerd provides, as wrangler leaves them (src/verify/entrypoint.ts).
    external: ["cloudflare:*"],
    minify: true,
    logLevel: "warning",
  });
  return readFileSync(outfile, "utf8");
}
