import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AiProxyAnswer } from "../../src/ai-proxy/schemas";
import type { Bindings } from "../../src/env";
import { flushUsage, usageMemory } from "../../src/usage/recorder";
import type { AiDecision, KeyVerifier } from "../../src/verify/entrypoint";
import { providerKey, setProviderOk } from "../providers/support";
import { call, team } from "../support/api";
import { createAiKey } from "../support/keys";

// A verified key's AiCall, reached as the AI gateway reaches it (KeyVerifier.verifyAiSecret over
// RPC, then aiCall.forward), with the provider's side played by a spy on fetch: what went
// upstream, and what came back.
const verifier = (exports as unknown as { KeyVerifier: Pick<KeyVerifier, "verifyAiSecret"> })
  .KeyVerifier;

/** verifyAiSecret(secret), then its aiCall.forward(request) (the test fails if there is none). */
const proxy = {
  async forward({ secret, ...request }: Record<string, unknown>): Promise<AiProxyAnswer> {
    const answer = (await verifier.verifyAiSecret({ secret })) as AiDecision;
    if (!("aiCall" in answer) || !answer.aiCall) throw new Error(`not VALID: ${answer.code}`);
    return answer.aiCall.forward(request);
  },
};

afterEach(() => {
  vi.restoreAllMocks();
});

interface Upstream {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** The provider's answer to every call; resolves to what each call sent. */
function provider(answer: () => Response | Promise<Response>) {
  const sent: Upstream[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init as RequestInit);
    sent.push({
      url: request.url,
      method: request.method,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
    });
    return answer();
  });
  return sent;
}

/** A repo with an OPENAI and an ANTHROPIC provider key set, and an AI key for each. */
async function setUp(keyBody: { models?: string[] } = {}) {
  const { admin, repoId } = await team();
  const apiKey = providerKey("proxy");
  await setProviderOk(admin, repoId, "OPENAI", { apiKey, baseUrl: "http://127.0.0.1:9/v1" });
  await setProviderOk(admin, repoId, "ANTHROPIC", { apiKey, baseUrl: "http://127.0.0.1:9" });
  const openai = await createAiKey(admin, repoId, { aiType: "OPENAI", ...keyBody });
  const anthropic = await createAiKey(admin, repoId, { aiType: "ANTHROPIC" });
  return { admin, repoId, apiKey, openai, anthropic };
}

const chatRequest = (
  key: { id: string; secret: string },
  body: object = { model: "gpt-x", messages: [] },
) => ({
  secret: key.secret,
  method: "POST",
  path: "/v1/chat/completions",
  headers: { "content-type": "application/json", "openai-beta": "x" },
  body: JSON.stringify(body),
});

const succeeded = (answer: AiProxyAnswer) => {
  if (!answer.success)
    throw new Error(`refused: ${answer.status} ${answer.code} ${answer.message}`);
  return answer.response;
};

describe("AiCall.forward: the upstream call", () => {
  it("calls <base>/chat/completions with the provider key as Bearer, never the fbai_sk_ secret", async () => {
    const { apiKey, openai } = await setUp();
    const sent = provider(() =>
      Response.json(
        { model: "gpt-x", usage: { prompt_tokens: 1, completion_tokens: 2 } },
        { status: 201, headers: { "set-cookie": "a=b", "x-request-id": "req_1" } },
      ),
    );
    const response = succeeded(await proxy.forward(chatRequest(openai)));
    expect(response.status).toBe(201);
    expect(response.headers.get("x-request-id")).toBe("req_1");
    expect(response.headers.get("set-cookie")).toBeNull();
    expect(await response.json()).toMatchObject({ model: "gpt-x" });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      url: "http://127.0.0.1:9/v1/chat/completions",
      method: "POST",
      headers: {
        authorization: `Bearer ${apiKey}`,
        "content-type": "application/json",
        "openai-beta": "x",
      },
    });
    expect(Object.keys(sent[0]?.headers ?? {}).sort()).toEqual([
      "authorization",
      "content-type",
      "openai-beta",
    ]);
    expect(JSON.stringify(sent)).not.toContain("fbai_sk_");
  });

  it("Anthropic: the provider key in x-api-key, and a default anthropic-version when none came", async () => {
    const { apiKey, anthropic } = await setUp();
    const sent = provider(() => Response.json({ type: "message" }));
    const request = {
      secret: anthropic.secret,
      method: "POST",
      path: "/v1/messages",
      headers: {},
      body: JSON.stringify({ model: "claude-x", max_tokens: 5, messages: [] }),
    };
    succeeded(await proxy.forward(request));
    succeeded(await proxy.forward({ ...request, headers: { "anthropic-version": "2024-01-01" } }));
    expect(sent.map((s) => s.url)).toEqual([
      "http://127.0.0.1:9/v1/messages",
      "http://127.0.0.1:9/v1/messages",
    ]);
    expect(sent[0]?.headers).toMatchObject({
      "x-api-key": apiKey,
      "anthropic-version": "2023-06-01",
    });
    expect(sent[0]?.headers.authorization).toBeUndefined();
    expect(sent[1]?.headers["anthropic-version"]).toBe("2024-01-01");
  });

  it("asks an OpenAI stream for its usage, keeping the client's other stream options, logs and records it", async () => {
    const { admin, repoId, openai } = await setUp();
    const events = [
      'data: {"model":"gpt-x-1","choices":[{"delta":{"content":"Hi"}}]}\n\n',
      'data: {"model":"gpt-x-1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\n',
      "data: [DONE]\n\n",
    ];
    const sent = provider(
      () => new Response(events.join(""), { headers: { "content-type": "text/event-stream" } }),
    );
    const logs = vi.spyOn(console, "log");
    const body = { model: "gpt-x", messages: [], stream: true, stream_options: { other: 1 } };
    const response = succeeded(await proxy.forward(chatRequest(openai, body)));
    expect(await response.text()).toBe(events.join(""));
    expect(JSON.parse(sent[0]?.body ?? "")).toEqual({
      ...body,
      stream_options: { other: 1, include_usage: true },
    });
    const usage = logs.mock.calls
      .map(([line]) => JSON.parse(String(line)))
      .filter((line) => line.message === "ai usage");
    expect(usage).toEqual([
      {
        level: "info",
        message: "ai usage",
        keyId: openai.id,
        repoId,
        aiType: "OPENAI",
        model: "gpt-x-1",
        inputTokens: 7,
        outputTokens: 3,
      },
    ]);
    // And in the key's usage analytics, beside its one verification.
    await usageMemory.settled();
    await flushUsage(env as Bindings);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const counted = await call(
      "GET",
      `/repo/${repoId}/ai/apikey/${openai.id}/usage?from=${from}&granularity=minute`,
      { as: admin },
    );
    expect(counted.status, counted.text).toBe(200);
    expect(counted.body.totals).toEqual({
      valid: 1,
      refused: {},
      tokens: { input: 7, output: 3 },
    });
  });

  it("a provider key replaced or removed is never used again by the isolate that changed it", async () => {
    const { admin, repoId, apiKey, openai } = await setUp();
    const sent = provider(() => Response.json({ model: "gpt-x" }));
    // The first call opens the key and remembers it (src/ai-proxy/providers.ts).
    succeeded(await proxy.forward(chatRequest(openai)));
    const replacement = providerKey("replacement");
    await setProviderOk(admin, repoId, "OPENAI", {
      apiKey: replacement,
      baseUrl: "http://127.0.0.1:9/v1",
    });
    succeeded(await proxy.forward(chatRequest(openai)));
    expect(sent.map((call) => call.headers.authorization)).toEqual([
      `Bearer ${apiKey}`,
      `Bearer ${replacement}`,
    ]);
    const removed = await call("DELETE", `/repo/${repoId}/ai/provider/OPENAI`, { as: admin });
    expect(removed.status).toBe(204);
    expect(await proxy.forward(chatRequest(openai))).toMatchObject({
      success: false,
      status: 400,
      code: "NO_PROVIDER",
    });
    expect(sent).toHaveLength(2);
  });

  it("a body sent as is when it needs nothing added (non-streaming)", async () => {
    const { openai } = await setUp();
    const sent = provider(() => Response.json({}));
    const text = '{"model":"gpt-x",  "messages":[]}';
    succeeded(await proxy.forward({ ...chatRequest(openai), body: text }));
    expect(sent[0]?.body).toBe(text);
  });
});

describe("an AiCall refuses what the gateway should not have sent", () => {
  it("only a VALID verification carries one; a call names no key, repo or type of its own", async () => {
    const { repoId, openai, anthropic } = await setUp();
    const sent = provider(() => Response.json({}));
    expect(await verifier.verifyAiSecret({ secret: "fbai_sk_nope" })).not.toHaveProperty("aiCall");
    // The call is the key's it was made for: another key's id or type is not a field it takes.
    const answer = (await verifier.verifyAiSecret({ secret: openai.secret })) as AiDecision;
    const { secret: _, ...request } = chatRequest(openai);
    for (const claim of [{ keyId: anthropic.id }, { repoId }, { aiType: "ANTHROPIC" }]) {
      expect(await answer.aiCall?.forward({ ...request, ...claim })).toMatchObject({
        success: false,
        status: 400,
      });
    }
    expect(sent).toEqual([]);
  });

  it("a model outside the key's allow-list, or a path its provider does not serve", async () => {
    const { openai } = await setUp({ models: ["gpt-allowed"] });
    const sent = provider(() => Response.json({}));
    expect(await proxy.forward(chatRequest(openai))).toMatchObject({
      status: 403,
      code: "MODEL_NOT_ALLOWED",
    });
    const messages = { ...chatRequest(openai), path: "/v1/messages" };
    expect(await proxy.forward(messages)).toMatchObject({ status: 403, code: "WRONG_PROVIDER" });
    expect(sent).toEqual([]);
    succeeded(await proxy.forward(chatRequest(openai, { model: "gpt-allowed" })));
    expect(sent).toHaveLength(1);
  });

  it("no provider key for the repo: 400 naming the PUT that sets one", async () => {
    const { admin, repoId } = await team();
    const key = await createAiKey(admin, repoId, { aiType: "OPENAI" });
    const sent = provider(() => Response.json({}));
    expect(await proxy.forward(chatRequest(key))).toEqual({
      success: false,
      status: 400,
      code: "NO_PROVIDER",
      message: `No OPENAI provider key is set for this repository: an ADMIN sets one with PUT /repo/${repoId}/ai/provider/OPENAI`,
    });
    expect(sent).toEqual([]);
  });

  it("an AWS key: 501", async () => {
    const { admin, repoId } = await team();
    const key = await createAiKey(admin, repoId, { aiType: "AWS" });
    expect(await proxy.forward(chatRequest(key))).toMatchObject({
      status: 501,
      code: "PROVIDER_NOT_SUPPORTED",
    });
  });

  it("an input that is not a proxy request: 400", async () => {
    const { openai } = await setUp();
    const sent = provider(() => Response.json({}));
    const base = chatRequest(openai);
    for (const wrong of [{ path: "/admin" }, { method: "DELETE" }, { headers: { cookie: "a" } }]) {
      expect(await proxy.forward({ ...base, ...wrong })).toMatchObject({
        success: false,
        status: 400,
      });
    }
    expect(sent).toEqual([]);
  });
});

/** The call answered 502 UPSTREAM_UNREACHABLE, its warning `said` and named neither the
 * provider key nor the provider's address. */
async function expectUnreachable(
  key: { id: string; secret: string },
  apiKey: string,
  said: string,
) {
  const warn = vi.spyOn(console, "warn");
  expect(await proxy.forward(chatRequest(key))).toMatchObject({
    success: false,
    status: 502,
    code: "UPSTREAM_UNREACHABLE",
  });
  const lines = warn.mock.calls.map(([line]) => String(line)).join("\n");
  expect(lines).toContain(said);
  expect(lines).not.toContain(apiKey);
  expect(lines).not.toContain("127.0.0.1");
}

describe("AiCall.forward when the provider fails", () => {
  it("unreachable: 502, and the log line names neither the key nor the URL", async () => {
    const { apiKey, openai } = await setUp();
    provider(() => {
      throw new TypeError(`connect failed to http://127.0.0.1:9/v1 with ${apiKey}`);
    });
    await expectUnreachable(openai, apiKey, "AI provider unreachable");
  });

  it("a JSON answer cut off mid-body: 502, logged without the key or the URL", async () => {
    const { apiKey, openai } = await setUp();
    provider(
      () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"id":"chatcmpl-1","usage":'));
              controller.error(new TypeError(`connection to ${apiKey} lost`));
            },
          }),
          { status: 200, headers: { "content-type": "application/json" } },
        ),
    );
    await expectUnreachable(openai, apiKey, "answer cut off");
  });

  it("a redirect is not followed (the provider key would go with it): 502", async () => {
    const { openai } = await setUp();
    const sent = provider(
      () =>
        new Response(null, { status: 307, headers: { location: "https://elsewhere.example/" } }),
    );
    expect(await proxy.forward(chatRequest(openai))).toMatchObject({
      status: 502,
      code: "UPSTREAM_REDIRECT",
    });
    expect(sent).toHaveLength(1);
  });

  it("the provider's own error passes through with its status and body", async () => {
    const { openai } = await setUp();
    provider(() => Response.json({ error: { message: "quota" } }, { status: 429 }));
    const response = succeeded(await proxy.forward(chatRequest(openai)));
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ error: { message: "quota" } });
  });
});
