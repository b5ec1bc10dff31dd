// `npm run deploy [-- wrangler deploy options]`: remote D1 migrations, then wrangler deploy.
// It refuses while wrangler.toml still has the placeholder database_id: wrangler would only fail
// later, after login, with an error about a database that does not exist.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { buildAssets } from "./build-assets.mjs";

const PLACEHOLDER = "00000000-0000-0000-0000-000000000000";

/** database_id of the [[d1_databases]] entry bound as DB; enough TOML for wrangler.toml. */
function databaseId(toml) {
  const entries = [];
  let entry = null; // the [[d1_databases]] table being read, if any
  for (const raw of toml.split("\n")) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line.startsWith("[")) {
      entry = line === "[[d1_databases]]" ? {} : null;
      if (entry) entries.push(entry);
      continue;
    }
    const match = entry && line.match(/^(\w+)\s*=\s*["']([^"']*)["']$/);
    if (match) entry[match[1]] = match[2];
  }
  return entries.find((e) => e.binding === "DB")?.database_id;
}

const id = databaseId(readFileSync(new URL("../wrangler.toml", import.meta.url), "utf8"));
if (!id || /^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(id)) {
  console.error(
    [
      `npm run deploy: refusing to deploy: wrangler.toml's [[d1_databases]] entry for binding "DB" has ${
        id ? `the placeholder database_id "${PLACEHOLDER}"` : "no database_id"
      },`,
      "so there is no real D1 database to migrate or bind. Create it once and record its id:",
      "",
      "  npx wrangler d1 create flashgate",
      "",
      'then put the printed database_id in wrangler.toml (database_id = "<that id>" under',
      '[[d1_databases]] binding = "DB") and run npm run deploy again. README: Deploying to production.',
    ].join("\n"),
  );
  process.exit(1);
}

const wrangler = (args) =>
  spawnSync("npx", ["--no-install", "wrangler", ...args], { stdio: "inherit" }).status ?? 1;

await buildAssets();
const migrated = wrangler(["d1", "migrations", "apply", "DB", "--remote"]);
if (migrated !== 0) process.exit(migrated);
process.exit(wrangler(["deploy", ...process.argv.slice(2)]));
