import { generateKeyPairSync, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../scripts/dev-server.mjs";
import { devToken } from "../../scripts/dev-token.mjs";
import { browserAvailable, closeBrowser, openPage } from "./support/browser";

// GitHub's public key endpoint, served locally from a local P-256 key pair (no internet), and an
// `npm run dev` of its own told to fetch GitHub's keys from there.
const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const KEY_ID = "local-github-key";
let keyServer: Server;
let dev: Awaited<ReturnType<typeof startDevServer>>;

beforeAll(async () => {
  keyServer = createServer((_, response) => {
    response.setHeader("Content-Type", "application/json");
    response.end(
      JSON.stringify({
        public_keys: [
          {
            key_identifier: KEY_ID,
            key: publicKey.export({ type: "spki", format: "pem" }),
            is_current: true,
          },
        ],
      }),
    );
  });
  await new Promise<void>((resolve) => keyServer.listen(0, "127.0.0.1", resolve));
  const { port } = keyServer.address() as AddressInfo;
  dev = await startDevServer({
    extraArgs: ["--var", `SECRET_SCANNING_KEYS_URL:http://127.0.0.1:${port}/secret_scanning`],
  });
}, 120_000);

afterAll(async () => {
  await closeBrowser();
  await dev?.stop();
  keyServer?.close();
});

async function api(token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${dev.baseUrl}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** What GitHub POSTs: the findings, signed (DER ECDSA P-256 / SHA-256) over the raw body. */
function reportToGithubEndpoint(tokens: string[]) {
  const body = JSON.stringify(
    tokens.map((token) => ({
      token,
      type: token.startsWith("fbsk_") ? "flashgate_storage_secret" : "flashgate_ai_secret",
      url: "https://github.com/acme/site/blob/main/.env",
      source: "commit",
    })),
  );
  return fetch(`${dev.baseUrl}/secret-scanning/github`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "Github-Public-Key-Identifier": KEY_ID,
      "Github-Public-Key-Signature": sign("sha256", Buffer.from(body), privateKey).toString(
        "base64",
      ),
    },
    body,
  });
}

const s3For = (key: { key: string; secret: string }) =>
  new S3Client({
    endpoint: dev.gatewayUrl,
    region: "auto",
    forcePathStyle: true,
    credentials: { accessKeyId: key.key, secretAccessKey: key.secret },
    maxAttempts: 1,
  });

/** The S3 error code of a call, or "OK". */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (error) {
    return (error as { name: string }).name;
  }
}

describe("a secret GitHub finds in public is refused within the cache bound", () => {
  it("storage and AI keys: reported, refused at the gateway and /verify/ai, audited, shown, rolled and enabled again", async () => {
    const admin = `leak-admin-${Date.now()}`;
    const token = await devToken(admin);
    const gateway = await devToken("leak-gateway", { claims: { scope: "keys:verify" } });
    const workspaceId = (await api(token, "POST", "/workspace", { name: "Leaky" })).body.id;
    const repoId = (await api(token, "POST", "/repo", { name: "site", workspaceId })).body.id;
    const storage = (
      await api(token, "POST", `/repo/${repoId}/apikey`, { name: "ci", accessType: "READ" })
    ).body;
    const ai = (
      await api(token, "POST", `/repo/${repoId}/ai/apikey`, { name: "bot", aiType: "OPENAI" })
    ).body;
    expect(storage.secret).toMatch(/^fbsk_/);
    const list = () => s3For(storage).send(new ListObjectsV2Command({ Bucket: repoId }));
    expect(await outcome(list())).toBe("OK");

    const reported = await reportToGithubEndpoint([storage.secret, ai.secret]);
    expect(reported.status).toBe(200);
    const feedback = await reported.json();
    expect(feedback.map((f: { label: string }) => f.label)).toEqual([
      "true_positive",
      "true_positive",
    ]);

    // Refused within VERIFY_CACHE_TTL_SECONDS (10 s in wrangler.toml), whatever isolate answers.
    const deadline = Date.now() + 15_000;
    let refused = await outcome(list());
    while (refused === "OK" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      refused = await outcome(list());
    }
    // As AWS answers for an inactive access key.
    expect(refused).toBe("InvalidAccessKeyId");
    const verified = await api(gateway, "POST", "/verify/ai", { secret: ai.secret });
    expect(verified.body).toMatchObject({ valid: false, code: "DISABLED" });

    const keys = (await api(token, "GET", `/repo/${repoId}/apikey`)).body.keys;
    expect(keys[0]).toMatchObject({
      status: "INACTIVE",
      disabledReason: "LEAKED",
      leakSource: "commit",
      leakUrl: "https://github.com/acme/site/blob/main/.env",
    });
    let events: { type: string; changes?: unknown }[] = [];
    for (let i = 0; i < 40 && events.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      events = (await api(token, "GET", `/repo/${repoId}/audit`)).body.events.filter(
        (event: { type: string }) => event.type.endsWith(".leaked"),
      );
    }
    expect(events.map((event) => event.type).sort()).toEqual(["ai_apikey.leaked", "apikey.leaked"]);
    expect(JSON.stringify(events)).not.toContain(storage.secret);

    // The console shows both keys as leaked, when and where, and offers Roll, not Enable.
    if (browserAvailable) {
      const opened = await openPage(dev.baseUrl, "console-leaked");
      try {
        const { page } = opened;
        await page.goto(`${dev.baseUrl}/console#/repo/${repoId}`);
        await page.getByLabel("Access token").fill(token);
        await page.getByRole("button", { name: "Sign in" }).click();
        const badges = page.locator(".badge.leaked");
        await expect.poll(() => badges.count(), { timeout: 15_000 }).toBe(2);
        expect(await badges.first().textContent()).toBe("Leaked — disabled");
        const row = page.locator("tbody tr", { has: page.locator(".badge.leaked") }).first();
        expect(await row.locator("small.leak").textContent()).toMatch(/^found .+ in commit$/);
        expect(await row.locator("small.leak a").getAttribute("href")).toBe(
          "https://github.com/acme/site/blob/main/.env",
        );
        expect(await row.getByRole("button", { name: "Roll" }).count()).toBe(1);
        expect(await row.getByRole("button", { name: "Enable" }).count()).toBe(0);
        await opened.screenshot("leaked-badge");
      } finally {
        await opened.close();
      }
    }

    const path = `/repo/${repoId}/apikey/${storage.id}`;
    expect((await api(token, "PUT", path, { status: "ACTIVE" })).status).toBe(409);
    const rolled = (await api(token, "POST", `${path}/roll`, {})).body;
    expect((await api(token, "PUT", path, { status: "ACTIVE" })).status).toBe(200);
    expect(
      await outcome(
        s3For({ key: storage.key, secret: rolled.secret }).send(
          new ListObjectsV2Command({ Bucket: repoId }),
        ),
      ),
    ).toBe("OK");
  }, 90_000);
});
