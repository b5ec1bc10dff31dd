// `npm run dev [-- wrangler dev options] [--gateway-port M] [--ai-gateway-port A]`: secrets on
// first run, local migrations, then the API (wrangler dev, port 8787 unless --port), the S3
// gateway (its own wrangler dev, gateway/wrangler.toml, port 8788 unless --gateway-port) and the
// AI gateway (ai-gateway/wrangler.toml, port 8789 unless --ai-gateway-port), sharing one local
// state. Each devtools inspector gets a free port unless --inspector-port /
// --gateway-inspector-port / --ai-gateway-inspector-port.
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAssets } from "./build-assets.mjs";
import { ensureDevVars } from "./dev-vars.mjs";

if (ensureDevVars()) console.log("Wrote .dev.vars with a random JWT_SECRET and ENCRYPTION_KEYS.");
// The /docs and /console pages (wrangler.toml [assets]), from this checkout's sources.
await buildAssets({ quiet: true });

/** Takes `--name value` or `--name=value` out of `args`; returns the value. */
function takeOption(args, name) {
  const at = args.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (at < 0) return undefined;
  if (args[at].includes("=")) return args.splice(at, 1)[0].slice(name.length + 1);
  return args.splice(at, 2)[1];
}

/** A port nothing listens on now. */
const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(String(port)));
    });
  });

const apiArgs = process.argv.slice(2);
const gatewayPort = takeOption(apiArgs, "--gateway-port") ?? "8788";
// Each wrangler dev holds a devtools port. wrangler's own choice starts at 9229, so two started
// together (this API and gateway, or another checkout's `npm run dev`) can both take it.
const apiInspectorPort = takeOption(apiArgs, "--inspector-port") ?? (await freePort());
const gatewayInspectorPort = takeOption(apiArgs, "--gateway-inspector-port") ?? (await freePort());
const aiGatewayPort = takeOption(apiArgs, "--ai-gateway-port") ?? "8789";
const aiGatewayInspectorPort =
  takeOption(apiArgs, "--ai-gateway-inspector-port") ?? (await freePort());
// Both Workers and the migrations use the same local state, so keys made through the API are
// at once known to the gateway's verifier (the API itself).
const persistAt = apiArgs.findIndex((a) => a === "--persist-to" || a.startsWith("--persist-to="));
const persist =
  persistAt < 0
    ? []
    : apiArgs[persistAt].includes("=")
      ? [apiArgs[persistAt]]
      : apiArgs.slice(persistAt, persistAt + 2);
// The AI gateway keeps nothing, so it gets a state directory of its own inside: three workerd
// starting at once on the same SQLite files (each Worker's Cache API store) can meet SQLITE_BUSY.
const aiGatewayPersist = [
  "--persist-to",
  join(
    persist.length === 0 ? ".wrangler/state" : persist.at(-1).replace(/^--persist-to=/, ""),
    "ai-gateway",
  ),
];

// wrangler's own entry, run by this Node: a signal sent to a child reaches wrangler itself
// (through npx it would not), so stopping `npm run dev` stops both servers and their workerd.
const WRANGLER = fileURLToPath(
  new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url),
);
const REGISTRY = fileURLToPath(new URL("../.wrangler/registry", import.meta.url));
// X_LOCAL_OBSERVABILITY=false: wrangler dev otherwise keeps a local trace store of every request's
// full URL under its state directory, whatever wrangler.toml's [observability] says, and a URL can
// carry a credential (a refused ?access_token=, a presigned URL's signature).
// WRANGLER_REGISTRY_PATH: wrangler keeps one machine-wide registry of running dev Workers, and the
// gateway's KeyVerifier binding reaches whichever API registered last; each checkout keeps its
// own under .wrangler/, so two `npm run dev` never cross-wire (a caller's own setting wins).
// CLOUDFLARE_CF_FETCH_ENABLED=false: nothing here reads Request.cf, so each Worker gets wrangler's
// placeholder rather than fetching it from workers.cloudflare.com at every start and reload (and,
// offline, printing the same stack trace each time).
const wrangler = (args, options) => [
  process.execPath,
  [WRANGLER, ...args],
  {
    ...options,
    env: {
      ...process.env,
      X_LOCAL_OBSERVABILITY: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_REGISTRY_PATH: process.env.WRANGLER_REGISTRY_PATH || REGISTRY,
    },
  },
];

// wrangler draws the migrations table again after each migration it applies; the last one, all
// applied, is the one worth reading. A failure prints everything wrangler said.
const migrations = spawnSync(
  ...wrangler(["d1", "migrations", "apply", "DB", "--local", ...persist], {
    stdio: ["inherit", "pipe", "pipe"],
    encoding: "utf8",
  }),
);
if (migrations.status !== 0) {
  process.stdout.write(migrations.stdout ?? "");
  process.stderr.write(migrations.stderr ?? "");
  process.exit(migrations.status ?? 1);
}
process.stderr.write(migrations.stderr);
// A table is consecutive lines that start with a box-drawing corner or edge.
const applied = migrations.stdout
  .match(/(?:^[┌│├└].*\n?)+/gm)
  ?.at(-1)
  ?.trimEnd();
if (migrations.stdout.includes("No migrations to apply")) {
  console.log("Local D1: no migrations to apply.");
} else if (applied) {
  console.log(`Local D1: migrations applied.\n${applied}`);
} else {
  process.stdout.write(migrations.stdout);
}

const apiPort = takeOption([...apiArgs], "--port") ?? "8787";
console.log("Get a token with: npm run --silent token -- <userId>");
console.log(
  `Console: http://127.0.0.1:${apiPort}/console · API reference: http://127.0.0.1:${apiPort}/docs`,
);
console.log(`S3 gateway: http://127.0.0.1:${gatewayPort} (bucket = repo id, path-style)`);
console.log(
  `AI gateway: http://127.0.0.1:${aiGatewayPort}/v1 (OpenAI's and Anthropic's SDKs, fbai_sk_ secrets)`,
);
console.log(
  `Devtools: the API on port ${apiInspectorPort}, the gateway on ${gatewayInspectorPort}, the AI gateway on ${aiGatewayInspectorPort}`,
);
const children = [
  spawn(
    ...wrangler(
      [
        ...["dev", "--inspector-port", apiInspectorPort],
        // Development only (never in wrangler.toml, so never deployed): AI provider base URLs
        // may point at a mock provider on loopback (docs/ai-providers.md).
        ...["--var", "AI_PROVIDER_ALLOW_LOOPBACK:true", ...apiArgs],
      ],
      { stdio: "inherit" },
    ),
  ),
  spawn(
    ...wrangler(
      [
        ...["dev", "-c", "gateway/wrangler.toml", "--port", gatewayPort],
        ...["--inspector-port", gatewayInspectorPort, ...persist],
      ],
      { stdio: "inherit" },
    ),
  ),
  spawn(
    ...wrangler(
      [
        ...["dev", "-c", "ai-gateway/wrangler.toml", "--port", aiGatewayPort],
        ...["--inspector-port", aiGatewayInspectorPort, ...aiGatewayPersist],
      ],
      { stdio: "inherit" },
    ),
  ),
];
// One stops, all stop; Ctrl-C stops them all.
let exiting = false;
const stopAll = (code) => {
  if (exiting) return;
  exiting = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  process.exitCode = code;
};
for (const child of children) child.on("exit", (code) => stopAll(code ?? 1));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stopAll(0));
