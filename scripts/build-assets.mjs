// `node scripts/build-assets.mjs`: the Worker's static assets (wrangler.toml [assets]) into
// build/assets/, from sources in this repository and pinned npm packages only. Nothing in them is
// fetched from elsewhere when a page loads.
//
//   assets/                      copied as is: _headers (CSP and friends), the /docs page
//   /docs/scalar.js              @scalar/api-reference's standalone build, the version
//                                package.json pins (upgrading: `npm install -E` a new one)
//   console/public/              copied to /console/
//   console/src/main.ts          bundled by esbuild to /console/console.js, with
//                                @flashgate/client from client/src
//
// `npm run dev`, `npm test`, `npm run build` and `npm run deploy` run it first.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = `${root}build/assets`;
const require = createRequire(import.meta.url);

/** Static Assets refuse files over 25 MiB; a page should stay far below that. */
const MAX_FILE_BYTES = 10 * 1024 * 1024;

/** Every file under `dir`, relative path → bytes. */
function filesOf(dir) {
  const files = new Map();
  if (!existsSync(dir)) return files;
  for (const path of readdirSync(dir, { recursive: true })) {
    const full = join(dir, path);
    if (statSync(full).isFile()) files.set(path, readFileSync(full));
  }
  return files;
}

const sameFiles = (a, b) =>
  a.size === b.size && [...a].every(([path, bytes]) => b.get(path)?.equals(bytes));

/**
 * Builds into a folder of its own, then puts it in place only when something changed: another
 * `npm run dev` (or the e2e suite's) may be serving build/assets while this one starts.
 */
export async function buildAssets({ quiet = false } = {}) {
  const building = `${out}.${process.pid}.building`;
  rmSync(building, { recursive: true, force: true });
  await buildInto(building, quiet);
  if (sameFiles(filesOf(building), filesOf(out))) {
    rmSync(building, { recursive: true, force: true });
    return;
  }
  const old = `${out}.${process.pid}.old`;
  if (existsSync(out)) renameSync(out, old);
  renameSync(building, out);
  rmSync(old, { recursive: true, force: true });
}

async function buildInto(out, quiet) {
  mkdirSync(out, { recursive: true });
  cpSync(`${root}assets`, out, { recursive: true });

  // The package exports no path to its browser build; it sits beside the main entry (dist/).
  const scalarDist = dirname(require.resolve("@scalar/api-reference"));
  cpSync(join(scalarDist, "browser/standalone.js"), `${out}/docs/scalar.js`);

  cpSync(`${root}console/public`, `${out}/console`, { recursive: true });
  await build({
    entryPoints: [`${root}console/src/main.ts`],
    outfile: `${out}/console/console.js`,
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: true,
    sourcemap: true,
    alias: { "@flashgate/client": `${root}client/src/index.ts` },
    logLevel: quiet ? "error" : "warning",
  });

  for (const file of ["docs/scalar.js", "console/console.js"]) {
    const { size } = statSync(`${out}/${file}`);
    if (size > MAX_FILE_BYTES) throw new Error(`${file} is ${size} bytes, over ${MAX_FILE_BYTES}`);
    if (!quiet) console.log(`build/assets/${file}: ${(size / 1024).toFixed(1)} KiB`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildAssets();
