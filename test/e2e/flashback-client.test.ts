import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, newUser, tokenFor } from "./support/http";

/**
 * The requests Flashback's published ApiClient makes (../shared/wire/flashback.md): base URL
 * plus a path, a bearer token on every call, Content-Type only when there is a body, errors
 * read from a JSON body's `message` when the answer says it is JSON.
 */
class FlashbackStyleClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  async request(method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`${this.base}/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      const isJson = response.headers.get("content-type")?.includes("application/json");
      const parsed = isJson ? JSON.parse(text) : undefined;
      throw Object.assign(new Error(parsed?.message ?? response.statusText), {
        status: response.status,
        statusText: response.statusText,
        body: parsed,
      });
    }
    return text ? JSON.parse(text) : null;
  }

  createRepoKey = (repoId: string, name: string, accessType: string) =>
    this.request("POST", `repo/${repoId}/apikey`, { repoId, name, accessType });
  getRepoKeys = (repoId: string) => this.request("GET", `repo/${repoId}/apikey`);
  updateRepoKey = (repoId: string, id: string, name: string, accessType: string) =>
    this.request("PUT", `repo/${repoId}/apikey/${id}`, { name, accessType });
  deleteRepoKey = (repoId: string, id: string) =>
    this.request("DELETE", `repo/${repoId}/apikey/${id}`);
  createRepoAiApiKey = (repoId: string, name: string, aiType: string) =>
    this.request("POST", `repo/${repoId}/ai/apikey`, { name, aiType });
  getRepoAiApiKeys = (repoId: string) => this.request("GET", `repo/${repoId}/ai/apikey`);
  updateRepoAiApiKey = (repoId: string, id: string, name?: string) =>
    this.request("PUT", `repo/${repoId}/ai/apikey/${id}`, { name });
  deleteRepoAiApiKey = (repoId: string, id: string) =>
    this.request("DELETE", `repo/${repoId}/ai/apikey/${id}`);
}

let client: FlashbackStyleClient;
let outsider: FlashbackStyleClient;
let repoId: string;

beforeAll(async () => {
  const admin = newUser("flashback");
  client = new FlashbackStyleClient(baseUrl, await tokenFor(admin));
  outsider = new FlashbackStyleClient(baseUrl, await tokenFor(newUser("outsider")));
  const ws = await client.request("POST", "workspace", { name: "Flashback team" });
  repoId = (await client.request("POST", "repo", { name: "bucket", workspaceId: ws.id })).id;
});

describe("Flashback's own client, unchanged, through wrangler dev", () => {
  it("creates, lists, updates and deletes storage keys", async () => {
    const created = await client.createRepoKey(repoId, "Bridge", "WRITE");
    expect(created).toEqual({
      success: true,
      id: expect.any(String),
      key: expect.stringMatching(/^FBAK/),
      secret: expect.any(String),
    });
    const { keys } = await client.getRepoKeys(repoId);
    expect(keys).toEqual([
      expect.objectContaining({
        id: created.id,
        name: "Bridge",
        accessType: "WRITE",
        key: created.key,
      }),
    ]);
    expect(keys[0].secret).toBeUndefined();
    expect(await client.updateRepoKey(repoId, created.id, "Bridge 2", "READ")).toEqual({
      success: true,
      message: expect.any(String),
    });
    expect(await client.deleteRepoKey(repoId, created.id)).toEqual({
      success: true,
      message: "API key deleted",
    });
    expect((await client.getRepoKeys(repoId)).keys).toEqual([]);
  });

  it("creates (201), lists, renames and deletes AI keys", async () => {
    const created = await client.createRepoAiApiKey(repoId, "Gateway", "ANTHROPIC");
    expect(created.key).toMatch(/^FB_AI_/);
    expect(created.secret).toMatch(/^fbai_sk_/);
    const { apiKeys } = await client.getRepoAiApiKeys(repoId);
    expect(apiKeys).toEqual([
      {
        id: created.id,
        name: "Gateway",
        repoId,
        key: created.key,
        aiType: "ANTHROPIC",
        createdAt: expect.any(String),
        deletedAt: null,
        // Extra fields Flashback's client ignores: the key's lifecycle.
        status: "ACTIVE",
        expiresAt: null,
        lastUsedAt: null,
        previousSecretExpiresAt: null,
        // …and whether its secret leaked (docs/secret-scanning.md).
        disabledReason: null,
        leakedAt: null,
        leakSource: null,
        leakUrl: null,
        // …its own rate limit, model allow-list and use (docs/rate-limits.md, ai-providers.md,
        // usage.md).
        ratelimit: null,
        models: null,
        usage24h: 0,
      },
    ]);
    expect((await client.updateRepoAiApiKey(repoId, created.id, "Renamed")).success).toBe(true);
    expect((await client.deleteRepoAiApiKey(repoId, created.id)).success).toBe(true);
    expect((await client.getRepoAiApiKeys(repoId)).apiKeys).toEqual([]);
  });

  it("gets errors it can read: JSON with a message and the status", async () => {
    const failures = [
      await outsider.getRepoKeys(repoId).catch((error) => error),
      await client.deleteRepoKey(repoId, crypto.randomUUID()).catch((error) => error),
      await client.deleteRepoAiApiKey(repoId, crypto.randomUUID()).catch((error) => error),
    ];
    expect(failures.map((error) => error.status)).toEqual([403, 404, 404]);
    for (const error of failures) {
      expect(error.body).toMatchObject({ success: false, message: expect.any(String) });
      expect(error.message).toBe(error.body.message);
    }
  });
});
