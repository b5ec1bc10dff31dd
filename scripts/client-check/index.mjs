// `npm run client:check`: packs ./client as npm would publish it, installs the tarball into a
// throwaway project, type-checks a consumer against its .d.ts, and runs the same scenario
// against the real Worker under `npm run dev`, from plain Node and from a Worker (workerd, via
// Miniflare).

import { execFileSync } from "node:child_process";
import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { startDevServer } from "../dev-server.mjs";
import { devToken } from "../dev-token.mjs";

// A TypeScript user's code, type-checked against the installed .d.ts. It lives here, not in a
// .ts file of its own, because the root tsconfig would check it where the package is not installed.
const CONSUMER_TS = `import { FlashgateClient, FlashgateError, type StorageKey } from "@flashgate/client";

const client = new FlashgateClient({ accessToken: "token", baseUrl: "https://api.example.com" });

export async function quickLinks(repoId: string) {
  const { keys } = await client.apiKeys.list(repoId);
  const first: StorageKey | undefined = keys[0];
  const { id, secret } = await client.apiKeys.create(repoId, { name: "CI Bot", access: "READ" });
  await client.apiKeys.update(repoId, id, { name: "CI Bot", accessType: "WRITE" });
  await client.apiKeys.delete(repoId, id);
  const decision = await client.verify.s3({ method: "GET", url: "https://s3.example.com/x", headers: {} });
  const valid: boolean = decision.valid;
  // @ts-expect-error an access level the API does not have
  await client.apiKeys.create(repoId, { name: "CI Bot", access: "OWNER" });
  // @ts-expect-error AI keys have an aiType
  await client.aiApiKeys.create(repoId, { name: "Gateway" });
  return { first, secret, valid, isError: (e: unknown) => e instanceof FlashgateError && e.status };
}
`;

const here = new URL(".", import.meta.url).pathname;
const root = join(here, "../..");
const bin = (name) => join(root, "node_modules/.bin", name);
function run(command, args, cwd) {
  try {
    return execFileSync(command, args, { cwd, stdio: "pipe", encoding: "utf8" });
  } catch (error) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${error.stdout}${error.stderr}`);
  }
}
const step = (what) => console.log(`client:check: ${what}`);

const dir = await mkdtemp(join(tmpdir(), "flashgate-client-check-"));
step("npm run dev (the real Worker, on a free port)");
const api = await startDevServer();
/** The users the scenario acts as, fresh for each run (Node, then the Worker). */
async function people() {
  const id = (label) => `client-check-${label}-${crypto.randomUUID().slice(0, 8)}`;
  const memberId = id("member");
  return {
    baseUrl: api.baseUrl,
    adminToken: await devToken(id("admin")),
    memberToken: await devToken(memberId),
    memberId,
    outsiderToken: await devToken(id("outsider")),
    gatewayToken: await devToken(id("gateway"), { scope: "keys:verify" }),
  };
}
try {
  // `npm pack` runs the package's prepack (tsc), so the tarball always holds a fresh build.
  step("npm pack ./client");
  run("npm", ["pack", "./client", "--pack-destination", dir, "--silent"], root);
  const tarball = (await readdir(dir)).find((name) => name.endsWith(".tgz"));
  if (!tarball) throw new Error("npm pack wrote no tarball");

  step(`install ${tarball} into a new project`);
  const project = join(dir, "project");
  run("mkdir", ["-p", project]);
  await writeFile(
    join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  // No dependencies to fetch: the package has none, so this works offline.
  run(
    "npm",
    ["install", join(dir, tarball), "--offline", "--no-audit", "--no-fund", "--silent"],
    project,
  );
  await copyFile(join(here, "scenario.mjs"), join(project, "scenario.mjs"));

  step("type-check a TypeScript consumer against the installed .d.ts");
  await writeFile(join(project, "consumer.ts"), CONSUMER_TS);
  await writeFile(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        ...{ target: "es2022", lib: ["es2022", "dom"], types: [], noEmit: true, strict: true },
        ...{ module: "nodenext", moduleResolution: "nodenext" },
      },
      files: ["consumer.ts"],
    }),
  );
  run(bin("tsc"), ["-p", "."], project);

  step("run the scenario in plain Node");
  const { run: scenario } = await import(pathToFileURL(join(project, "scenario.mjs")).href);
  await scenario(await people());

  step("run the scenario in a Worker (workerd)");
  const { outputFiles } = await build({
    stdin: {
      contents: `import { run } from "./scenario.mjs";
        export default { fetch: async (request) => new Response(await run(await request.json())) };`,
      resolveDir: project,
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker"],
    write: false,
    logLevel: "warning",
  });
  // Miniflare 5 still takes the classic single-worker options through this converter.
  const worker = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: outputFiles[0].text,
      compatibilityDate: "2026-10-01",
    }),
  );
  try {
    const response = await worker.dispatchFetch("http://worker/", {
      method: "POST",
      body: JSON.stringify(await people()),
    });
    const text = await response.text();
    if (response.status !== 200 || text !== "ok") throw new Error(`in the Worker: ${text}`);
  } finally {
    await worker.dispose();
  }
  step("ok: the packed client installs, type-checks and works in Node and in a Worker");
} finally {
  await api.stop();
  await rm(dir, { recursive: true, force: true });
}
