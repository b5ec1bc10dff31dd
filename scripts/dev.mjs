// `npm run dev [-- wrangler dev options]`: secrets on first run, local migrations, then wrangler dev.
import { spawnSync } from "node:child_process";
import { ensureDevVars } from "./dev-vars.mjs";

if (ensureDevVars()) console.log("Wrote .dev.vars with a random JWT_SECRET and ENCRYPTION_KEYS.");

const wrangler = (args) =>
  spawnSync("npx", ["--no-install", "wrangler", ...args], { stdio: "inherit" }).status ?? 1;

const devArgs = process.argv.slice(2);
// With --persist-to the local database lives elsewhere, so the migrations must go there too.
const at = devArgs.findIndex((arg) => arg === "--persist-to" || arg.startsWith("--persist-to="));
const persist = at < 0 ? [] : devArgs[at].includes("=") ? [devArgs[at]] : devArgs.slice(at, at + 2);

const migrated = wrangler(["d1", "migrations", "apply", "DB", "--local", ...persist]);
if (migrated !== 0) process.exit(migrated);

console.log("Get a token with: npm run --silent token -- <userId>");
process.exit(wrangler(["dev", ...devArgs]));
