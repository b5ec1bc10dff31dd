import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../src/body";

// The gateway against a model of the API (support/api-model.mjs): secrets name their key.
const gateway = (exports as unknown as { default: Fetcher }).default;

const call = (
  path: string,
  {
    headers = {},
    body,
    method = body === undefined ? "GET" : "POST",
  }: {
    headers?: Record<string, string>;
    body?: unknown;
    method?: string;
  } = {},
) =>
  gateway.fetch(`https://ai.example${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });

const openai = (secret: string, body?: unknown, path = "/v1/chat/completions") =>
  call(path, { headers: { authorization: `Bearer ${secret}` }, body });
const anthropic = (headers: Record<string, string>, body?: unknown) =>
  call("/v1/messages", { headers: { "anthropic-version": "2023-06-01", ...headers }, body });
const chat = { model: "gpt-x", messages: [{ role: "user", content: "hi" }] };
const message = { model: "claude-x", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };

/** [status, OpenAI's error code] of an OpenAI-shaped error answer. */
const openaiError = async (response: Response) => {
  const body = (await response.json()) as {
    error: { code: string; type: string; message: string };
  };
  expect(Object.keys(body)).toEqual(["error"]);
  return [response.status, body.error.code, body.error.message] as const;
};
/** [status, Anthropic's error type] of an Anthropic-shaped error answer. */
const anthropicError = async (response: Response) => {
  const body = (await response.json()) as {
    type: string;
    error: { type: string; message: string };
  };
  expect(body.type).toBe("error");
  return [response.status, body.error.type, body.error.message] as const;
};

describe("what reaches the verified key's AiCall in the API", () => {
  it("an OpenAI request: its path and body, and only the safe headers, never the secret", async () => {
    const response = await call("/v1/chat/completions", {
      headers: {
        authorization: "Bearer ok.OPENAI",
        "openai-beta": "assistants=v2",
        cookie: "session=1",
        "x-api-key": "other",
        "x-forwarded-for": "10.0.0.1",
      },
      body: chat,
    });
    expect(response.status).toBe(200);
    const received = (await response.json()) as Record<string, unknown>;
    expect(received).toEqual({
      key: { keyId: "c8e4f1a2-6d3b-4e9f-a7c5-1b0d2e8f9a63", aiType: "OPENAI" },
      method: "POST",
      path: "/v1/chat/completions",
      headers: { "content-type": "application/json", "openai-beta": "assistants=v2" },
      body: JSON.stringify(chat),
    });
    expect(received.headers).toEqual({
      "content-type": "application/json",
      "openai-beta": "assistants=v2",
    });
    expect(response.headers.get("x-gateway-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("an Anthropic request with its secret in x-api-key, or as a Bearer token", async () => {
    const secretHeaders: Record<string, string>[] = [
      { "x-api-key": "ok.ANTHROPIC" },
      { authorization: "Bearer ok.ANTHROPIC" },
    ];
    for (const headers of secretHeaders) {
      const response = await anthropic({ ...headers, "anthropic-beta": "tools-2024" }, message);
      expect(response.status).toBe(200);
      const received = (await response.json()) as Record<string, unknown>;
      expect(received).toMatchObject({ key: { aiType: "ANTHROPIC" }, path: "/v1/messages" });
      expect(received.headers).toEqual({
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "tools-2024",
      });
    }
  });

  it("GOOGLE and OTHER keys speak OpenAI's surface", async () => {
    for (const type of ["GOOGLE", "OTHER"]) {
      expect(
        (await openai(`ok.${type}`, { model: "m", input: "x" }, "/v1/embeddings")).status,
      ).toBe(200);
    }
  });

  it("a stream passes through as the provider sent it", async () => {
    const response = await openai("ok.OPENAI", { model: "sse", stream: true, messages: [] });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(await response.text()).toBe(
      'data: {"word":"one"}\n\ndata: {"word":"two"}\n\ndata: {"word":"three"}\n\n',
    );
  });

  it("a provider's own error passes through with its status and body", async () => {
    const response = await openai("ok.OPENAI", { ...chat, model: "upstream-429" });
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("7");
    expect(await openaiError(response)).toEqual([429, "rate_limit_exceeded", "slow down"]);
  });
});

describe("secrets the verifier refuses: 401 (429 when rate limited), in the surface's format", () => {
  it("no secret at all", async () => {
    expect((await openaiError(await call("/v1/chat/completions", { body: chat })))[0]).toBe(401);
    const [status, type] = await anthropicError(await anthropic({}, message));
    expect([status, type]).toEqual([401, "authentication_error"]);
  });

  it.each([
    ["INVALID", "invalid_api_key", /Invalid API key/],
    ["REVOKED", "key_revoked", /revoked/],
    ["DISABLED", "key_disabled", /disabled/],
    ["EXPIRED", "key_expired", /expired/],
  ])("%s", async (secret, code, reason) => {
    const [status, openaiCode, text] = await openaiError(await openai(secret, chat));
    expect([status, openaiCode]).toEqual([401, code]);
    expect(text).toMatch(reason);
    const [anthropicStatus, type, said] = await anthropicError(
      await anthropic({ "x-api-key": secret }, message),
    );
    expect([anthropicStatus, type]).toEqual([401, "authentication_error"]);
    expect(said).toMatch(reason);
  });

  it("a refused secret is answered before what is wrong with the body (read while it is verified)", async () => {
    expect((await openaiError(await openai("REVOKED", "{not json")))[0]).toBe(401);
    expect((await openaiError(await openai("INVALID", { messages: [] })))[0]).toBe(401);
    const big = JSON.stringify({ model: "m", input: "x".repeat(MAX_BODY_BYTES) });
    expect((await openaiError(await openai("EXPIRED", big, "/v1/embeddings")))[0]).toBe(401);
    expect((await openaiError(await openai("down", "{not json")))[0]).toBe(503);
  });

  it("RATE_LIMITED: 429 with Retry-After, the seconds to the reset or 60 when none is said", async () => {
    const limited = await openai("RATE_LIMITED.30", chat);
    expect(limited.status).toBe(429);
    const seconds = Number(limited.headers.get("retry-after"));
    expect(seconds).toBeGreaterThanOrEqual(29);
    expect(seconds).toBeLessThanOrEqual(30);
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    const bare = await anthropic({ "x-api-key": "RATE_LIMITED" }, message);
    expect(bare.headers.get("retry-after")).toBe("60");
    expect((await anthropicError(bare)).slice(0, 2)).toEqual([429, "rate_limit_error"]);
  });

  it("an API that sends no aiCall (older than the gateway) is 503, never a 500", async () => {
    expect((await openaiError(await openai("old.OPENAI", chat))).slice(0, 2)).toEqual([
      503,
      "service_unavailable",
    ]);
  });

  it("an unreachable or failing verifier is 503 in the surface's format, never a 500", async () => {
    expect((await openaiError(await openai("down", chat))).slice(0, 2)).toEqual([
      503,
      "service_unavailable",
    ]);
    expect((await anthropicError(await anthropic({ "x-api-key": "failure" }, message)))[0]).toBe(
      503,
    );
  });
});

describe("keys for another provider, models outside the allow-list", () => {
  it("an ANTHROPIC key on OpenAI's surface is 403, saying what the key is for", async () => {
    const [status, code, text] = await openaiError(await openai("ok.ANTHROPIC", chat));
    expect([status, code]).toEqual([403, "wrong_provider"]);
    expect(text).toContain("ANTHROPIC");
  });

  it("an OPENAI key on /v1/messages is 403 in Anthropic's format", async () => {
    const [status, type, text] = await anthropicError(
      await anthropic({ "x-api-key": "ok.OPENAI" }, message),
    );
    expect([status, type]).toEqual([403, "permission_error"]);
    expect(text).toContain("OPENAI");
  });

  it("an AWS key is 501: Bedrock is not supported", async () => {
    const [status, , text] = await openaiError(await openai("ok.AWS", chat));
    expect(status).toBe(501);
    expect(text).toMatch(/Bedrock is not supported/);
  });

  it("a model outside the key's allow-list is 403; one in it is served; an empty list allows none", async () => {
    const [status, code] = await openaiError(await openai("ok.OPENAI.gpt-a,gpt-b", chat));
    expect([status, code]).toEqual([403, "model_not_allowed"]);
    expect((await openai("ok.OPENAI.gpt-a,gpt-x", chat)).status).toBe(200);
    expect((await openaiError(await openai("ok.OPENAI.", chat)))[0]).toBe(403);
    const refused = await anthropic({ "x-api-key": "ok.ANTHROPIC.claude-y" }, message);
    expect((await anthropicError(refused)).slice(0, 2)).toEqual([403, "permission_error"]);
  });

  it("a model listing shows only the allow-listed models", async () => {
    const listing = (await (await openai("ok.OPENAI.a,c", undefined, "/v1/models")).json()) as {
      data: { id: string }[];
    };
    expect(listing.data.map((model) => model.id)).toEqual(["a", "c"]);
    const all = (await (await openai("ok.OPENAI", undefined, "/v1/models")).json()) as {
      data: unknown[];
    };
    expect(all.data).toHaveLength(3);
  });
});

describe("requests the gateway refuses before any provider call", () => {
  it("malformed JSON, a body that is not an object, no model: 400 in the surface's format", async () => {
    expect((await openaiError(await openai("ok.OPENAI", "{not json")))[0]).toBe(400);
    expect((await openaiError(await openai("ok.OPENAI", "[1]")))[0]).toBe(400);
    expect((await openaiError(await openai("ok.OPENAI", { messages: [] })))[0]).toBe(400);
    const [status, type] = await anthropicError(
      await anthropic({ "x-api-key": "ok.ANTHROPIC" }, "{"),
    );
    expect([status, type]).toEqual([400, "invalid_request_error"]);
  });

  it("a body over the limit is 413", async () => {
    const big = JSON.stringify({ model: "m", input: "x".repeat(MAX_BODY_BYTES) });
    const [status, code] = await openaiError(await openai("ok.OPENAI", big, "/v1/embeddings"));
    expect([status, code]).toEqual([413, "request_too_large"]);
  });

  it("an unknown path is 404 and a wrong method 405 with Allow, as JSON", async () => {
    expect((await openaiError(await openai("ok.OPENAI", chat, "/v1/completions")))[0]).toBe(404);
    const wrong = await call("/v1/chat/completions", {
      headers: { authorization: "Bearer ok.OPENAI" },
    });
    expect(wrong.headers.get("allow")).toBe("POST");
    expect((await openaiError(wrong))[0]).toBe(405);
  });

  it("the API's refusals: no provider key is 400, an unreachable provider 502", async () => {
    const [status, code, text] = await openaiError(
      await openai("ok.OPENAI", { ...chat, model: "no-provider" }),
    );
    expect([status, code, text]).toEqual([400, "no_provider", "No provider key set"]);
    const [unreachable, type] = await anthropicError(
      await anthropic({ "x-api-key": "ok.ANTHROPIC" }, { ...message, model: "unreachable" }),
    );
    expect([unreachable, type]).toEqual([502, "api_error"]);
  });
});
