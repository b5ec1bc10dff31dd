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
 * `npm run dev -- --port <free> --inspector-port <free> --persist-to <temp dir>`, ready when
 * GET /health answers. Resolves to `{ baseUrl, output(), stop() }`.
 */
export async function startDevServer({ extraArgs = [] } = {}) {
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const state = await mkdtemp(join(tmpdir(), "flashgate-dev-state-"));
  const args = ["run", "dev", "--", "--port", String(port)];
  args.push("--inspector-port", String(inspectorPort), "--persist-to", state, ...extraArgs);
  // Its own process group, so stop() ends npm, wrangler and workerd together.
  const child = spawn("npm", args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
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
    await rm(state, { recursive: true, force: true });
  };

  const deadline = Date.now() + STARTUP_MS;
  while (Date.now() < deadline) {
    if (exited !== null) {
      await stop();
      throw new Error(`npm run dev exited with ${exited} before it was ready:\n${log}`);
    }
    try {
      const response = await fetch(`${baseUrl}/health`);
      if (response.ok) return { baseUrl, output: () => log, stop };
    } catch {}
    await sleep(250);
  }
  await stop();
  throw new Error(`npm run dev was not ready within ${STARTUP_MS / 1000} s:\n${log}`);
}
