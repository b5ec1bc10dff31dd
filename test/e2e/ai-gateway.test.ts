import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { callApi, newUser, tokenFor } from "./support/http";
import { startMockProvider } from "./support/mock-provider.mjs";

// The AI gateway over `npm run dev`, driven by OpenAI's and Anthropic's own SDKs with fbai_sk_
// secrets, against a mock provider on 127.0.0.1 that records what reached it.

const aiGatewayUrl = inject("aiGatewayUrl");
// Shaped like a provider key, so a leak of it is unmistakable.
const PROVIDER_KEY = `sk-mock-${crypto.randomUUID().replaceAll("-", "")}`;

let mock: Awaited<ReturnType<typeof startMockProvider>>;
let token: string;
let repoId: string;
/** A repo with no provider key set. */
let bareRepoId: string;
const secrets: Record<"openai" | "anthropic" | "allowListed" | "bare" | "aws" | "down", string> =
  {} as never;

const aiKey = async (repo: string, aiType: string, extra: object = {}) =>
  (await callApi(token, "POST", `/repo/${repo}/ai/apikey`, {
    name: `${aiType} key`,
    aiType,
    ...extra,
  })) as { id: string; secret: string };

const openai = (apiKey: string) =>
  new OpenAI({ apiKey, baseURL: `${aiGatewayUrl}/v1`, maxRetries: 0 });
const anthropic = (apiKey: string) =>
  new Anthropic({ apiKey, baseURL: aiGatewayUrl, maxRetries: 0 });
const hello = [{ role: "user" as const, content: "Say hello" }];

/** What a call raised: the SDK's error class and status (the test fails if it did not raise). */
async function raised(call: () => Promise<unknown>) {
  try {
    await call();
  } catch (error) {
    return error as { status?: number; message: string; constructor: unknown };
  }
  throw new Error("the call succeeded");
}

/** No request the mock received carried an fbai_sk_ secret; each carried the provider key. */
function providerSawOnlyItsKey() {
  expect(mock.received.length).toBeGreaterThan(0);
  for (const request of mock.received) {
    expect(JSON.stringify(request)).not.toContain("fbai_sk_");
    const key = request.headers["x-api-key"] ?? request.headers.authorization;
    expect([PROVIDER_KEY, `Bearer ${PROVIDER_KEY}`]).toContain(key);
  }
}

beforeAll(async () => {
  mock = await startMockProvider({ apiKey: PROVIDER_KEY });
  token = await tokenFor(newUser("ai-admin"));
  const workspace = await callApi(token, "POST", "/workspace", { name: "AI gateway" });
  repoId = (await callApi(token, "POST", "/repo", { name: "ai", workspaceId: workspace.id })).id;
  bareRepoId = (await callApi(token, "POST", "/repo", { name: "bare", workspaceId: workspace.id }))
    .id;
  await callApi(token, "PUT", `/repo/${repoId}/ai/provider/OPENAI`, {
    apiKey: PROVIDER_KEY,
    baseUrl: `${mock.url}/v1`,
  });
  await callApi(token, "PUT", `/repo/${repoId}/ai/provider/ANTHROPIC`, {
    apiKey: PROVIDER_KEY,
    baseUrl: mock.url,
  });
  // An OpenAI-compatible server on a port nothing listens on: the mock's own, once it is stopped
  // would race; a port the OS just handed out and released is as good.
  const closed = await startMockProvider({ apiKey: PROVIDER_KEY });
  await closed.stop();
  await callApi(token, "PUT", `/repo/${repoId}/ai/provider/OTHER`, {
    apiKey: PROVIDER_KEY,
    baseUrl: `${closed.url}/v1`,
  });
  secrets.openai = (await aiKey(repoId, "OPENAI")).secret;
  secrets.anthropic = (await aiKey(repoId, "ANTHROPIC")).secret;
  secrets.allowListed = (await aiKey(repoId, "OPENAI", { models: ["gpt-mock-mini"] })).secret;
  secrets.aws = (await aiKey(repoId, "AWS")).secret;
  secrets.down = (await aiKey(repoId, "OTHER")).secret;
  secrets.bare = (await aiKey(bareRepoId, "OPENAI")).secret;
});

afterAll(async () => {
  await mock?.stop();
});

describe("OpenAI's SDK through the gateway", () => {
  it("a chat completion: the provider's answer, with the provider key upstream and never the secret", async () => {
    const completion = await openai(secrets.openai).chat.completions.create({
      model: "gpt-mock",
      messages: hello,
    });
    expect(completion.choices[0]?.message.content).toBe(mock.text);
    expect(completion.usage?.prompt_tokens).toBe(11);
    const sent = mock.received.at(-1);
    expect(sent?.path).toBe("/v1/chat/completions");
    expect(sent?.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(JSON.parse(sent?.body ?? "")).toMatchObject({ model: "gpt-mock", messages: hello });
    providerSawOnlyItsKey();
  });

  it("a streamed chat completion arrives chunk by chunk, the provider asked for its usage", async () => {
    const stream = await openai(secrets.openai).chat.completions.create({
      model: "gpt-mock",
      messages: hello,
      stream: true,
    });
    const words: string[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      words.push(chunk.choices[0]?.delta.content ?? "");
      usage ??= chunk.usage ?? undefined;
    }
    expect(words.join("")).toBe(mock.text);
    expect(words.filter(Boolean).length).toBeGreaterThan(1);
    expect(usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 6 });
    expect(JSON.parse(mock.received.at(-1)?.body ?? "")).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    providerSawOnlyItsKey();
  });

  it("embeddings and the model list", async () => {
    const embeddings = await openai(secrets.openai).embeddings.create({
      model: "text-embedding-mock",
      input: ["a", "b"],
    });
    expect(embeddings.data.map((item) => item.index)).toEqual([0, 1]);
    expect(embeddings.data[0]?.embedding).toHaveLength(3);
    const models = [];
    for await (const model of openai(secrets.openai).models.list()) models.push(model.id);
    expect(models).toContain("gpt-mock");
    // An allow-listed key lists only its own models.
    const allowed = [];
    for await (const model of openai(secrets.allowListed).models.list()) allowed.push(model.id);
    expect(allowed).toEqual(["gpt-mock-mini"]);
    providerSawOnlyItsKey();
  });
});

describe("Anthropic's SDK through the gateway", () => {
  it("a message, with the provider key in x-api-key upstream", async () => {
    const message = await anthropic(secrets.anthropic).messages.create({
      model: "claude-mock",
      max_tokens: 50,
      messages: hello,
    });
    expect(message.content).toEqual([{ type: "text", text: mock.text }]);
    expect(message.usage).toMatchObject({ input_tokens: 13, output_tokens: 6 });
    const sent = mock.received.at(-1);
    expect(sent?.path).toBe("/v1/messages");
    expect(sent?.headers["x-api-key"]).toBe(PROVIDER_KEY);
    expect(sent?.headers["anthropic-version"]).toBeTruthy();
    expect(sent?.headers.authorization).toBeUndefined();
    providerSawOnlyItsKey();
  });

  it("a streamed message, event by event", async () => {
    const stream = anthropic(secrets.anthropic).messages.stream({
      model: "claude-mock",
      max_tokens: 50,
      messages: hello,
    });
    const deltas: string[] = [];
    stream.on("text", (text) => deltas.push(text));
    const final = await stream.finalMessage();
    expect(deltas.join("")).toBe(mock.text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(final.usage.output_tokens).toBe(6);
    providerSawOnlyItsKey();
  });

  it("the secret as x-api-key works too (older SDKs, curl)", async () => {
    const response = await fetch(`${aiGatewayUrl}/v1/messages`, {
      method: "POST",
      headers: {
        "x-api-key": secrets.anthropic,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
      },
      body: JSON.stringify({ model: "claude-mock", max_tokens: 5, messages: hello }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { content: unknown[] }).content).toHaveLength(1);
  });
});

describe("refusals, each the SDK's own error class", () => {
  it("a wrong secret: AuthenticationError, 401", async () => {
    const wrong = "fbai_sk_notarealsecret0000000000000000000000";
    const fromOpenai = await raised(() =>
      openai(wrong).chat.completions.create({ model: "gpt-mock", messages: hello }),
    );
    expect(fromOpenai).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(fromOpenai.status).toBe(401);
    const fromAnthropic = await raised(() =>
      anthropic(wrong).messages.create({ model: "claude-mock", max_tokens: 5, messages: hello }),
    );
    expect(fromAnthropic).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(fromAnthropic.status).toBe(401);
  });

  it("a key for another provider: PermissionDeniedError, 403, naming the key's type", async () => {
    const fromOpenai = await raised(() =>
      openai(secrets.anthropic).chat.completions.create({ model: "gpt-mock", messages: hello }),
    );
    expect(fromOpenai).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(fromOpenai.message).toContain("ANTHROPIC");
    const fromAnthropic = await raised(() =>
      anthropic(secrets.openai).messages.create({
        model: "claude-mock",
        max_tokens: 5,
        messages: hello,
      }),
    );
    expect(fromAnthropic).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(fromAnthropic.message).toContain("OPENAI");
  });

  it("a model outside the key's allow-list: PermissionDeniedError, 403; one in it is served", async () => {
    const before = mock.received.length;
    const refused = await raised(() =>
      openai(secrets.allowListed).chat.completions.create({ model: "gpt-mock", messages: hello }),
    );
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(mock.received.length).toBe(before);
    const served = await openai(secrets.allowListed).chat.completions.create({
      model: "gpt-mock-mini",
      messages: hello,
    });
    expect(served.choices[0]?.message.content).toBe(mock.text);
  });

  it("no provider key for the repo: BadRequestError, 400, saying which PUT sets it", async () => {
    const error = await raised(() =>
      openai(secrets.bare).chat.completions.create({ model: "gpt-mock", messages: hello }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.message).toContain(`PUT /repo/${bareRepoId}/ai/provider/OPENAI`);
  });

  it("an AWS key: 501, Bedrock is not supported", async () => {
    const error = await raised(() =>
      openai(secrets.aws).chat.completions.create({ model: "gpt-mock", messages: hello }),
    );
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(501);
    expect(error.message).toMatch(/Bedrock is not supported/);
  });

  it("a provider that cannot be reached: 502; a provider's own error: its status and body", async () => {
    const down = await raised(() =>
      openai(secrets.down).chat.completions.create({ model: "gpt-mock", messages: hello }),
    );
    expect(down).toBeInstanceOf(OpenAI.InternalServerError);
    expect(down.status).toBe(502);
    const failing = await raised(() =>
      openai(secrets.openai).chat.completions.create({ model: "mock-error-503", messages: hello }),
    );
    expect(failing.status).toBe(503);
    expect(failing.message).toContain("mock failure");
    const refused = await raised(() =>
      anthropic(secrets.anthropic).messages.create({
        model: "mock-error-429",
        max_tokens: 5,
        messages: hello,
      }),
    );
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
  });

  it("malformed JSON: 400 in the provider's format", async () => {
    const response = await fetch(`${aiGatewayUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${secrets.openai}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  it("a revoked key: AuthenticationError within the verification cache's bound", async () => {
    const key = await aiKey(repoId, "OPENAI");
    const client = openai(key.secret);
    await client.chat.completions.create({ model: "gpt-mock", messages: hello });
    await callApi(token, "DELETE", `/repo/${repoId}/ai/apikey/${key.id}`);
    // VERIFY_CACHE_TTL_SECONDS is 10 under npm run dev: a remembered key may still pass until then.
    let error: Awaited<ReturnType<typeof raised>> | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && !error; ) {
      error = await client.chat.completions.create({ model: "gpt-mock", messages: hello }).then(
        () => undefined,
        (thrown) => thrown,
      );
      if (!error) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error?.message).toMatch(/revoked/i);
  }, 45_000);

  it("no answer of the gateway carries the provider key", async () => {
    // Every error above was built from the gateway's or the mock's words; the SDK errors hold the
    // answers' bodies and headers.
    const answers = await Promise.all(
      [
        ["/v1/chat/completions", secrets.bare],
        ["/v1/chat/completions", secrets.down],
        ["/v1/models", secrets.openai],
      ].map(async ([path, secret]) => {
        const response = await fetch(`${aiGatewayUrl}${path}`, {
          method: path === "/v1/models" ? "GET" : "POST",
          headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
          body:
            path === "/v1/models"
              ? undefined
              : JSON.stringify({ model: "gpt-mock", messages: hello }),
        });
        return `${JSON.stringify([...response.headers])}${await response.text()}`;
      }),
    );
    for (const answer of answers) expect(answer).not.toContain(PROVIDER_KEY);
  });
});
