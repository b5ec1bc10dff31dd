// Starts `npm run dev` exactly as the README does, on free ports and a throwaway local state,
// for the end-to-end tests and `npm run client:check`; stops it and everything it started.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const STARTUP_MS = 120_000;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `npm run dev -- --port <free> --gateway-port <free> --ai-gateway-port <free> --persist-to <temp
 * dir>` (its devtools ports are free ones by default), ready when the API's GET /health, the S3
 * gateway and the AI gateway answer. Resolves to
 * `{ baseUrl, gatewayUrl, aiGatewayUrl, statePath, output(), stop() }`: `output()` is everything it printed
 * (stdout and stderr, the Workers' logs among it); `statePath` its local state, which stop()
 * removes unless `keepState` (then the caller reads it and removes it). `env` adds to or, with
 * undefined, removes from the environment it runs in.
 *
 * @param {{ extraArgs?: string[]; keepState?: boolean; env?: Record<string, string | undefined> }} [options]
 */
export async function startDevServer({ extraArgs = [], keepState = false, env = {} } = {}) {
  const [port, gatewayPort, aiGatewayPort] = [await freePort(), await freePort(), await freePort()];
  const state = await mkdtemp(join(tmpdir(), "flashgate-dev-state-"));
  const args = ["run", "dev", "--", "--port", String(port), "--gateway-port", String(gatewayPort)];
  args.push("--ai-gateway-port", String(aiGatewayPort));
  args.push("--persist-to", state, ...extraArgs);
  // Its own process group, so stop() ends npm, wrangler and workerd together.
  const child = spawn("npm", args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      FORCE_COLOR: "0",
      // Its own registry of local Workers: the gateway binds to this API, not to another
      // `npm run dev` a developer has running.
      WRANGLER_REGISTRY_PATH: join(state, "registry"),
      // wrangler's own debug log files, kept with the rest of this run's local state.
      WRANGLER_LOG_PATH: join(state, "wrangler-logs"),
      // Not X_LOCAL_OBSERVABILITY: `npm run dev` itself turns wrangler's local trace store off
      // (scripts/dev.mjs), and test/e2e/no-secrets-in-logs.test.ts checks that it did.
      ...env,
    },
  });
  let log = "";
  child.stdout.on("data", (chunk) => (log += chunk));
  child.stderr.on("data", (chunk) => (log += chunk));
  let exited = null;
  const exit = new Promise((resolve) =>
    child.once("exit", (code) => {
      exited = code ?? 1;
      resolve(exited);
    }),
  );

  const baseUrl = `http://127.0.0.1:${port}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const aiGatewayUrl = `http://127.0.0.1:${aiGatewayPort}`;
  const stop = async () => {
    if (exited === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }, 5000);
      await exit;
      clearTimeout(timer);
    }
    if (!keepState) await rm(state, { recursive: true, force: true });
  };

  const deadline = Date.now() + STARTUP_MS;
  while (Date.now() < deadline) {
    if (exited !== null) {
      await stop();
      await rm(state, { recursive: true, force: true });
      throw new Error(`npm run dev exited with ${exited} before it was ready:\n${log}`);
    }
    try {
      const api = await fetch(`${baseUrl}/health`);
      // Any answer from the gateway (an S3 error for "/") means it is up.
      const gateway = await fetch(`${gatewayUrl}/`);
      await gateway.arrayBuffer();
      // The AI gateway answers an unknown path with its own 404 once it is up.
      const aiGateway = await fetch(`${aiGatewayUrl}/`);
      await aiGateway.arrayBuffer();
      if (api.ok) {
        return { baseUrl, gatewayUrl, aiGatewayUrl, statePath: state, output: () => log, stop };
      }
    } catch {}
    await sleep(250);
  }
  await stop();
  await rm(state, { recursive: true, force: true });
  throw new Error(`npm run dev was not ready within ${STARTUP_MS / 1000} s:\n${log}`);
}
