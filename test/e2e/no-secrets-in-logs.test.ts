import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../scripts/dev-server.mjs";
import { newAiCredentials } from "../../src/crypto/credentials";
import { tokenFor } from "./support/http";
import { fullJourney, type Send } from "./support/journey";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What this run sent and was given that must never be written down outside D1's rows. */
const tokens = new Set<string>();
const secrets = new Set<string>();
/** What D1 holds by design (sealed secrets, digests), and nothing else may. */
const sealed = new Set<string>();
/** Every answer this run got: its request id, method and status. */
const answers: { requestId: string; method: string; status: number }[] = [];

let output = "";
/** Every file of the local state: path relative to it, and its bytes. */
let stateFiles: { path: string; bytes: Buffer }[] = [];
/** wrangler's build output in the project (.wrangler/), shared with other runs. */
let projectFiles: { path: string; bytes: Buffer }[] = [];

async function filesUnder(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        // Another wrangler may remove its own files meanwhile.
        const bytes = await readFile(path).catch(() => undefined);
        return bytes && { path: relative(dir, path), bytes };
      }),
  );
  return files.filter((file) => file !== undefined);
}

/** Every string under a key naming a secret, however deep in an answer. */
function secretsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(secretsIn);
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    typeof inner === "string" && /secret/i.test(key) && !/At$/.test(key)
      ? [inner]
      : secretsIn(inner),
  );
}

/** D1's database files: the one place sealed secrets are stored. */
const isD1File = (path: string) => path.split(/[\\/]/).includes("d1");

/**
 * Every sealed secret and digest in D1's tables, read from copies of its files (a workerd just
 * stopped may still hold the originals' locks).
 */
async function sealedValuesIn(files: { path: string; bytes: Buffer }[]): Promise<string[]> {
  const copies = await mkdtemp(join(tmpdir(), "flashgate-d1-copy-"));
  const values: string[] = [];
  try {
    for (const file of files.filter((f) => isD1File(f.path) && f.path.endsWith(".sqlite"))) {
      const copy = join(copies, basename(file.path));
      await writeFile(copy, file.bytes);
      const wal = files.find((f) => f.path === `${file.path}-wal`);
      if (wal) await writeFile(`${copy}-wal`, wal.bytes);
      const db = new DatabaseSync(copy);
      try {
        const tables = db
          .prepare("SELECT name FROM sqlite_master WHERE name IN ('storage_keys', 'ai_keys')")
          .all() as { name: string }[];
        for (const { name } of tables) {
          const columns = ["sealed_secret", "previous_sealed_secret"];
          if (name === "ai_keys") columns.push("secret_digest", "previous_secret_digest");
          for (const row of db.prepare(`SELECT ${columns.join(", ")} FROM ${name}`).all()) {
            for (const value of Object.values(row))
              if (typeof value === "string") values.push(value);
          }
        }
      } finally {
        db.close();
      }
    }
  } finally {
    await rm(copies, { recursive: true, force: true });
  }
  return values;
}

/**
 * Every documented operation as the README's journey walks them, then credentials where none
 * belongs; notes every token sent, every secret answered and every answer's request id.
 */
async function useEveryEndpoint(baseUrl: string): Promise<void> {
  /** Node's fetch; notes the secrets answered and the answer's request id. */
  const request = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ) => {
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    const json =
      text && response.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined;
    for (const secret of secretsIn(json)) secrets.add(secret);
    answers.push({
      requestId: response.headers.get("x-request-id") ?? "",
      method,
      status: response.status,
    });
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      text,
      body: json,
    };
  };
  const send: Send = (method, path, { token, body }) => {
    const headers: Record<string, string> = {};
    if (token) {
      tokens.add(token);
      headers.Authorization = `Bearer ${token}`;
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return request(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
  };

  // Every documented operation, as the README's journey walks them.
  await fullJourney(send);

  // Then credentials where no credential belongs.
  const token = await tokenFor("no-secrets-user");
  const gateway = await tokenFor("no-secrets-gateway", { scope: "keys:verify" });
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const forged = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
  const basic = btoa(`user:${token}`);
  // Well-formed, checksum and all, but never issued: it is looked up, then refused.
  const wrongAiSecret = newAiCredentials().secret;
  tokens.add(token).add(gateway).add(forged).add(basic).add(wrongAiSecret);
  const refused = [
    await request("GET", `/workspace?access_token=${token}`, {}),
    await request("GET", `/repo?workspaceId=${crypto.randomUUID()}&access_token=${token}`, {}),
    await request("GET", "/workspace", { Authorization: `Bearer ${forged}` }),
    await request("GET", "/workspace", { Authorization: token }),
    await request("GET", "/workspace", { Authorization: `Basic ${basic}` }),
    await request(
      "POST",
      "/workspace",
      { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      `{"name": "${token}`,
    ),
    await request(
      "POST",
      "/workspace",
      { Authorization: `Bearer ${token}`, "Content-Type": "text/plain" },
      token,
    ),
    await request(
      "POST",
      "/verify/ai",
      { Authorization: `Bearer ${gateway}`, "Content-Type": "application/json" },
      `{"secret": "${wrongAiSecret}`,
    ),
    await request(
      "POST",
      "/verify/s3",
      { Authorization: `Bearer ${gateway}`, "Content-Type": "application/json" },
      `{"method": "GET", "url": "https://x.test/a?X-Amz-Signature=${token}"`,
    ),
  ];
  expect(refused.map((answer) => answer.status)).toEqual([
    401, 401, 401, 401, 401, 400, 415, 400, 400,
  ]);
  // The forged AI secret in a well-formed body: refused in the answer, never written down.
  const verified = await request(
    "POST",
    "/verify/ai",
    { Authorization: `Bearer ${gateway}`, "Content-Type": "application/json" },
    JSON.stringify({ secret: wrongAiSecret }),
  );
  expect(verified.body).toMatchObject({ valid: false });
  // The last audit events reach D1 through the local queue within a couple of seconds.
  await new Promise((resolve) => setTimeout(resolve, 2500));
}

beforeAll(async () => {
  const server = await startDevServer({ keepState: true });
  try {
    try {
      await useEveryEndpoint(server.baseUrl);
    } finally {
      await server.stop();
    }
    output = server.output();
    stateFiles = await filesUnder(server.statePath);
    projectFiles = await filesUnder(join(ROOT, ".wrangler"));
    for (const value of await sealedValuesIn(stateFiles)) sealed.add(value);
  } finally {
    await rm(server.statePath, { recursive: true, force: true });
  }
}, 300_000);

describe("a full run of every endpoint over npm run dev", () => {
  it("handled real tokens, secrets and ciphertexts (so the checks below check something)", () => {
    expect(tokens.size).toBeGreaterThanOrEqual(6);
    // Storage and AI keys, each created and rolled: four secrets at least.
    expect(secrets.size).toBeGreaterThanOrEqual(4);
    expect([...sealed].some((value) => value.startsWith("aesgcm."))).toBe(true);
    expect(output).toContain('"message":"request"');
  });

  it("printed no token, secret or ciphertext: not the Worker's logs, not wrangler's", () => {
    for (const value of [...tokens, ...secrets, ...sealed]) {
      expect(output.includes(value), `printed: ${value.slice(0, 12)}…`).toBe(false);
    }
  });

  it("wrote no token or secret into any file of its local state, and ciphertexts into D1's only", () => {
    for (const file of [...stateFiles, ...projectFiles]) {
      for (const value of [...tokens, ...secrets]) {
        expect(file.bytes.includes(value), `${file.path} holds ${value.slice(0, 12)}…`).toBe(false);
      }
      if (isD1File(file.path) && stateFiles.includes(file)) continue;
      for (const value of sealed) {
        expect(file.bytes.includes(value), `${file.path} holds ${value.slice(0, 12)}…`).toBe(false);
      }
    }
  });

  it("logged each request as one JSON line: its id, method, route pattern, status and time, no query", () => {
    const lines = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));
    const requests = lines.filter((line) => line.message === "request");
    for (const line of requests) {
      expect(line).toEqual({
        level: "info",
        message: "request",
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        method: expect.stringMatching(/^[A-Z]+$/),
        route: expect.stringMatching(/^\/[^?]*$/),
        status: expect.any(Number),
        durationMs: expect.any(Number),
      });
      expect(JSON.stringify(line)).not.toContain("?");
    }
    // Every answer this run got has its line.
    const byId = new Map(requests.map((line) => [line.requestId, line]));
    for (const { requestId, method, status } of answers) {
      expect(byId.get(requestId), `${method} ${requestId}`).toMatchObject({ method, status });
    }
  });
});
