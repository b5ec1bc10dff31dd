import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../scripts/dev-server.mjs";
import { tokenFor } from "./support/http";

/**
 * A repository's AI provider keys over a real `npm run dev`: set, replaced, listed, refused and
 * removed, then everything the dev server printed and every file of its local state (D1's
 * database files, the audit queue's) searched for the keys. Only their sealed form may be stored.
 * Also: development accepts a mock provider on loopback, but never the service's own port.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const unique = (label: string) => `sk-e2e-${label}-${crypto.randomUUID().replaceAll("-", "")}`;
const keys = { first: unique("first"), second: unique("second"), other: unique("other") };
/** Keys sent in requests that were refused: they must not be stored or printed either. */
const refusedKeys = { reader: unique("reader"), badUrl: unique("bad-url") };

let output = "";
let stateFiles: { path: string; bytes: Buffer }[] = [];
const statuses: Record<string, number> = {};
const answers: string[] = [];

async function filesUnder(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        const bytes = await readFile(path).catch(() => undefined);
        return bytes && { path: relative(dir, path), bytes };
      }),
  );
  return files.filter((file) => file !== undefined);
}

beforeAll(async () => {
  const server = await startDevServer({ keepState: true });
  try {
    try {
      const admin = await tokenFor("e2e-providers-admin");
      const reader = "e2e-providers-reader";
      const call = async (
        name: string,
        token: string,
        method: string,
        path: string,
        body?: unknown,
      ) => {
        const response = await fetch(`${server.baseUrl}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        statuses[name] = response.status;
        answers.push(text);
        return text ? JSON.parse(text) : undefined;
      };
      const { id: workspaceId } = await call("workspace", admin, "POST", "/workspace", {
        name: "Providers e2e",
      });
      await call("member", admin, "POST", `/workspace/${workspaceId}/users`, {
        userId: reader,
        role: "READ",
      });
      const { id: repoId } = await call("repo", admin, "POST", "/repo", {
        name: "providers",
        workspaceId,
      });
      const provider = `/repo/${repoId}/ai/provider`;
      await call("set", admin, "PUT", `${provider}/OPENAI`, { apiKey: keys.first });
      await call("replace", admin, "PUT", `${provider}/OPENAI`, { apiKey: keys.second });
      const own = new URL(server.baseUrl);
      await call("own host", admin, "PUT", `${provider}/OTHER`, {
        apiKey: refusedKeys.badUrl,
        baseUrl: `http://${own.host}/v1`,
      });
      await call("private", admin, "PUT", `${provider}/OTHER`, {
        apiKey: refusedKeys.badUrl,
        baseUrl: "https://192.168.1.1/v1",
      });
      await call("reader", await tokenFor(reader), "PUT", `${provider}/OTHER`, {
        apiKey: refusedKeys.reader,
        baseUrl: "https://llm.example.com/v1",
      });
      // A mock provider on loopback, as the AI gateway's tests use: allowed in development.
      await call("loopback", admin, "PUT", `${provider}/OTHER`, {
        apiKey: keys.other,
        baseUrl: "http://127.0.0.1:9/v1",
      });
      const listed = await call("list", await tokenFor(reader), "GET", provider);
      statuses.listedTypes = listed.providers.length;
      await call("remove", admin, "DELETE", `${provider}/OPENAI`);
      // The audit events reach D1 through the local queue within a couple of seconds.
      await new Promise((resolve) => setTimeout(resolve, 2500));
    } finally {
      await server.stop();
    }
    output = server.output();
    stateFiles = await filesUnder(server.statePath);
  } finally {
    await rm(server.statePath, { recursive: true, force: true });
  }
}, 300_000);

describe("AI provider keys over npm run dev", () => {
  it("are set, replaced, listed and removed; bad base URLs and a READ member are refused", () => {
    expect(statuses).toMatchObject({
      set: 200,
      replace: 200,
      "own host": 400,
      private: 400,
      reader: 403,
      loopback: 200,
      list: 200,
      listedTypes: 2,
      remove: 204,
    });
    expect(output).toContain('"message":"request"');
  });

  it("never appear in an answer, in what the dev server printed, or in any file of its state", () => {
    const d1Files = stateFiles.filter((file) => file.path.split(/[\\/]/).includes("d1"));
    expect(d1Files.length).toBeGreaterThan(0);
    for (const key of [...Object.values(keys), ...Object.values(refusedKeys)]) {
      // The whole key, and the key without the last 4 characters answers show.
      for (const value of [key, key.slice(0, -4)]) {
        expect(answers.join("\n").includes(value), `answered: ${value.slice(0, 14)}…`).toBe(false);
        expect(output.includes(value), `printed: ${value.slice(0, 14)}…`).toBe(false);
        for (const file of stateFiles) {
          expect(file.bytes.includes(value), `${value.slice(0, 14)}… in ${file.path}`).toBe(false);
        }
      }
    }
  });

  it("cannot carry the development loopback setting into a deployment", async () => {
    const config = await readFile(join(ROOT, "wrangler.toml"), "utf8");
    expect(config).not.toContain("AI_PROVIDER_ALLOW_LOOPBACK");
  });
});
