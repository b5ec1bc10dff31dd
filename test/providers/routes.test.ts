import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { keyringFrom } from "../../src/crypto/seal";
import type { Bindings } from "../../src/env";
import { providerBinding, providerFor } from "../../src/providers/store";
import { call, createRepo, createWorkspace, expectError, newUser, team } from "../support/api";
import { callWith, countingDb } from "../support/keys";
import { providerKey, providerRow, repoEvents, setProvider, setProviderOk } from "./support";

afterEach(() => {
  vi.restoreAllMocks();
});

const list = (as: string, repoId: string) => call("GET", `/repo/${repoId}/ai/provider`, { as });
const remove = (as: string, repoId: string, aiType: string) =>
  call("DELETE", `/repo/${repoId}/ai/provider/${aiType}`, { as });

describe("PUT /repo/{repoId}/ai/provider/{aiType}", () => {
  it("sets a provider key: the answer shows its last 4 characters and the default base URL", async () => {
    const { admin, repoId } = await team();
    const apiKey = providerKey();
    const response = await setProvider(admin, repoId, "OPENAI", { apiKey });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({
      success: true,
      aiType: "OPENAI",
      baseUrl: "https://api.openai.com/v1",
      apiKeyLast4: apiKey.slice(-4),
      setAt: expect.any(String),
      setBy: admin,
    });
    expect(response.text).not.toContain(apiKey);
    expect(await providerFor(env as Bindings, repoId, "OPENAI")).toEqual({
      aiType: "OPENAI",
      apiKey,
      baseUrl: "https://api.openai.com/v1",
    });
  });

  it("uses each type's default base URL, and none for AWS", async () => {
    const { admin, repoId } = await team();
    const defaults = {
      ANTHROPIC: "https://api.anthropic.com",
      GOOGLE: "https://generativelanguage.googleapis.com/v1beta/openai",
      AWS: null,
    };
    for (const [aiType, baseUrl] of Object.entries(defaults)) {
      const body = await setProviderOk(admin, repoId, aiType, { apiKey: providerKey() });
      expect(body.baseUrl).toBe(baseUrl);
    }
    expect((await providerFor(env as Bindings, repoId, "AWS"))?.baseUrl).toBe("");
  });

  it("replaces the key and base URL of a type already set, keeping one row", async () => {
    const { admin, repoId } = await team();
    await setProviderOk(admin, repoId, "OTHER", {
      apiKey: providerKey("first"),
      baseUrl: "https://llm.example.com/v1",
    });
    const second = providerKey("second");
    const body = await setProviderOk(admin, repoId, "OTHER", {
      apiKey: second,
      baseUrl: "https://llm2.example.com/v1/",
    });
    expect(body).toMatchObject({
      baseUrl: "https://llm2.example.com/v1",
      apiKeyLast4: second.slice(-4),
    });
    const listed = await list(admin, repoId);
    expect(listed.body.providers).toHaveLength(1);
    expect(await providerFor(env as Bindings, repoId, "OTHER")).toEqual({
      aiType: "OTHER",
      apiKey: second,
      baseUrl: "https://llm2.example.com/v1",
    });
  });

  it("stores the key sealed, bound to its repo and type: the row never holds it", async () => {
    const { admin, repoId } = await team();
    const apiKey = providerKey();
    await setProviderOk(admin, repoId, "ANTHROPIC", { apiKey });
    const row = await providerRow(repoId, "ANTHROPIC");
    expect(JSON.stringify(row)).not.toContain(apiKey);
    expect(JSON.stringify(row)).not.toContain(apiKey.slice(0, -4));
    expect(row?.sealed_api_key).toMatch(/^aesgcm\.t2\./);
    const keyring = keyringFrom(env.ENCRYPTION_KEYS);
    expect(await keyring.open(row?.sealed_api_key, providerBinding(repoId, "ANTHROPIC"))).toBe(
      apiKey,
    );
    // Moved to another type or repo, the ciphertext opens nowhere.
    await expect(
      keyring.open(row?.sealed_api_key, providerBinding(repoId, "OPENAI")),
    ).rejects.toThrow();
    await expect(
      keyring.open(row?.sealed_api_key, providerBinding(crypto.randomUUID(), "ANTHROPIC")),
    ).rejects.toThrow();
  });

  const invalid: [string, string, unknown][] = [
    ["an http URL", "OPENAI", { apiKey: providerKey(), baseUrl: "http://llm.example.com/v1" }],
    ["a private IPv4 address", "OTHER", { apiKey: providerKey(), baseUrl: "https://10.0.0.8/v1" }],
    ["192.168/16", "OTHER", { apiKey: providerKey(), baseUrl: "https://192.168.1.20/v1" }],
    ["a metadata address", "OTHER", { apiKey: providerKey(), baseUrl: "https://169.254.169.254/" }],
    [
      "a unique-local IPv6 address",
      "OTHER",
      { apiKey: providerKey(), baseUrl: "https://[fd00::1]/" },
    ],
    [
      "the service's own host",
      "OTHER",
      { apiKey: providerKey(), baseUrl: "https://flashgate.test/v1" },
    ],
    [
      "a URL with credentials",
      "OTHER",
      { apiKey: providerKey(), baseUrl: "https://u:p@llm.example.com" },
    ],
    ["not a URL", "OTHER", { apiKey: providerKey(), baseUrl: "llm.example.com" }],
    ["OTHER without a base URL", "OTHER", { apiKey: providerKey() }],
    ["an empty key", "OPENAI", { apiKey: "" }],
    ["a 7-character key", "OPENAI", { apiKey: "sk-1234" }],
    ["a 513-character key", "OPENAI", { apiKey: "k".repeat(513) }],
    ["a key with a space", "OPENAI", { apiKey: "sk-test with-space" }],
    ["no key", "OPENAI", { baseUrl: "https://api.openai.com/v1" }],
    ["an unknown field", "OPENAI", { apiKey: providerKey(), model: "gpt-4o" }],
    ["an unknown type", "MISTRAL", { apiKey: providerKey() }],
    ["a lower-case type", "openai", { apiKey: providerKey() }],
  ];
  for (const [what, aiType, body] of invalid) {
    it(`refuses ${what} with 400 and stores nothing`, async () => {
      const { admin, repoId } = await team();
      const response = await setProvider(admin, repoId, aiType, body);
      expectError(response, 400);
      const apiKey = (body as { apiKey?: string }).apiKey;
      if (apiKey) expect(response.text).not.toContain(apiKey);
      const { results } = await env.DB.prepare("SELECT * FROM ai_providers WHERE repo_id = ?")
        .bind(repoId)
        .all();
      expect(results).toEqual([]);
    });
  }

  it("refuses loopback base URLs unless AI_PROVIDER_ALLOW_LOOPBACK is true", async () => {
    const { admin, repoId } = await team();
    for (const baseUrl of [
      "http://127.0.0.1:9999/v1",
      "https://localhost:9999",
      "https://[::1]/",
    ]) {
      const refused = await callWith(
        { AI_PROVIDER_ALLOW_LOOPBACK: undefined },
        "PUT",
        `/repo/${repoId}/ai/provider/OTHER`,
        { as: admin, body: { apiKey: providerKey(), baseUrl } },
      );
      expectError(refused, 400);
      expect(refused.body.issues).toEqual([{ path: "baseUrl", message: expect.any(String) }]);
    }
    expect(await providerRow(repoId, "OTHER")).toBeNull();
    // The test configuration allows it, as development does: a local mock provider.
    const allowed = await setProviderOk(admin, repoId, "OTHER", {
      apiKey: providerKey(),
      baseUrl: "http://127.0.0.1:9999/v1",
    });
    expect(allowed.baseUrl).toBe("http://127.0.0.1:9999/v1");
  });

  it("is ADMIN's alone: WRITE, READ and outsiders get 403 and change nothing", async () => {
    const { admin, writer, reader, outsider, repoId } = await team();
    const kept = providerKey("kept");
    await setProviderOk(admin, repoId, "OPENAI", { apiKey: kept });
    for (const who of [writer, reader, outsider]) {
      expectError(
        await setProvider(who, repoId, "OPENAI", { apiKey: providerKey() }),
        403,
        "Insufficient permissions",
      );
      expectError(await remove(who, repoId, "OPENAI"), 403, "Insufficient permissions");
    }
    expect((await providerFor(env as Bindings, repoId, "OPENAI"))?.apiKey).toBe(kept);
  });

  it("answers an unknown repo as it answers one the caller cannot reach (403)", async () => {
    const admin = newUser("admin");
    await createWorkspace(admin);
    expectError(
      await setProvider(admin, crypto.randomUUID(), "OPENAI", { apiKey: providerKey() }),
      403,
    );
    expectError(await list(admin, crypto.randomUUID()), 403);
  });

  it("records ai_provider.set with the last 4 characters, never the key", async () => {
    const { admin, repoId } = await team();
    const first = providerKey("first");
    const second = providerKey("second");
    await setProviderOk(admin, repoId, "OPENAI", { apiKey: first });
    await setProviderOk(admin, repoId, "OPENAI", {
      apiKey: second,
      baseUrl: "https://openai-proxy.example.com/v1",
    });
    const events = await repoEvents(repoId, "ai_provider.set", 2);
    expect(events.map((event) => JSON.parse(event.changes))).toEqual([
      {
        aiType: { after: "OPENAI" },
        apiKeyLast4: { after: first.slice(-4) },
        baseUrl: { after: "https://api.openai.com/v1" },
      },
      {
        aiType: { after: "OPENAI" },
        apiKeyLast4: { before: first.slice(-4), after: second.slice(-4) },
        baseUrl: {
          before: "https://api.openai.com/v1",
          after: "https://openai-proxy.example.com/v1",
        },
      },
    ]);
    expect(events.map((event) => event.actor_id)).toEqual([admin, admin]);
    expect(events.map((event) => event.target_id)).toEqual(["OPENAI", "OPENAI"]);
    const text = JSON.stringify(events);
    expect(text).not.toContain(first);
    expect(text).not.toContain(second);
  });
});

describe("GET /repo/{repoId}/ai/provider", () => {
  it("lists what is configured, by type, to every member (READ included), never a key", async () => {
    const { admin, writer, reader, repoId } = await team();
    const openai = providerKey("openai");
    const anthropic = providerKey("anthropic");
    await setProviderOk(admin, repoId, "OPENAI", { apiKey: openai });
    await setProviderOk(admin, repoId, "ANTHROPIC", { apiKey: anthropic });
    for (const who of [admin, writer, reader]) {
      const response = await list(who, repoId);
      expect(response.status, response.text).toBe(200);
      expect(response.body).toEqual({
        success: true,
        providers: [
          {
            aiType: "ANTHROPIC",
            baseUrl: "https://api.anthropic.com",
            apiKeyLast4: anthropic.slice(-4),
            setAt: expect.any(String),
            setBy: admin,
          },
          {
            aiType: "OPENAI",
            baseUrl: "https://api.openai.com/v1",
            apiKeyLast4: openai.slice(-4),
            setAt: expect.any(String),
            setBy: admin,
          },
        ],
      });
      expect(response.text).not.toContain(openai);
      expect(response.text).not.toContain(anthropic);
    }
  });

  it("is empty for a repo with none, and shows no other repo's", async () => {
    const { admin, workspaceId, repoId } = await team();
    await setProviderOk(admin, repoId, "OPENAI", { apiKey: providerKey() });
    const other = await createRepo(admin, workspaceId);
    const response = await list(admin, other);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, providers: [] });
  });

  it("refuses outsiders with 403", async () => {
    const { admin, outsider, repoId } = await team();
    await setProviderOk(admin, repoId, "OPENAI", { apiKey: providerKey() });
    expectError(await list(outsider, repoId), 403, "Insufficient permissions");
  });
});

describe("DELETE /repo/{repoId}/ai/provider/{aiType}", () => {
  it("removes the key (204, no body): providerFor then answers null", async () => {
    const { admin, repoId } = await team();
    const apiKey = providerKey();
    await setProviderOk(admin, repoId, "GOOGLE", { apiKey });
    const response = await remove(admin, repoId, "GOOGLE");
    expect(response.status, response.text).toBe(204);
    expect(response.text).toBe("");
    expect(await providerRow(repoId, "GOOGLE")).toBeNull();
    expect(await providerFor(env as Bindings, repoId, "GOOGLE")).toBeNull();
    expect((await list(admin, repoId)).body.providers).toEqual([]);

    const [event] = await repoEvents(repoId, "ai_provider.removed");
    expect(JSON.parse(event?.changes)).toEqual({
      aiType: { before: "GOOGLE" },
      apiKeyLast4: { before: apiKey.slice(-4) },
      baseUrl: { before: "https://generativelanguage.googleapis.com/v1beta/openai" },
    });
    expect(JSON.stringify(event)).not.toContain(apiKey);
  });

  it("answers 404 when the type has no key, and 400 for an unknown type", async () => {
    const { admin, repoId } = await team();
    await setProviderOk(admin, repoId, "OPENAI", { apiKey: providerKey() });
    expectError(await remove(admin, repoId, "ANTHROPIC"), 404);
    expectError(await remove(admin, repoId, "MISTRAL"), 400);
    expect(await providerRow(repoId, "OPENAI")).not.toBeNull();
  });
});

describe("providerFor", () => {
  it("answers null for a type or repo with no key, in one D1 read", async () => {
    const { admin, repoId } = await team();
    await setProviderOk(admin, repoId, "OPENAI", { apiKey: providerKey() });
    const { db, roundTrips } = countingDb();
    const counted = { ...(env as Bindings), DB: db };
    expect(await providerFor(counted, repoId, "ANTHROPIC")).toBeNull();
    expect(await providerFor(counted, crypto.randomUUID(), "OPENAI")).toBeNull();
    expect((await providerFor(counted, repoId, "OPENAI"))?.aiType).toBe("OPENAI");
    expect(roundTrips()).toBe(3);
  });
});
