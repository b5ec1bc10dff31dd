import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { callApi, newUser, tokenFor } from "./support/http";
import { startMockProvider } from "./support/mock-provider.mjs";

// The AI gateway's token usage over `npm run dev`: what the mock provider counted for each
// answer shows in the key's usage API (src/ai-proxy/tokens.ts → src/usage/recorder.ts), written
// a few seconds later with the recorder's batched flush.

const aiGatewayUrl = inject("aiGatewayUrl");
const PROVIDER_KEY = `sk-mock-${crypto.randomUUID().replaceAll("-", "")}`;

let mock: Awaited<ReturnType<typeof startMockProvider>>;
let token: string;
let repoId: string;
let openaiKey: { id: string; secret: string };
let anthropicKey: { id: string; secret: string };

const hello = [{ role: "user" as const, content: "Say hello" }];

/** The key's tokens and counts over the last hour, as the API answers them. */
const totalsOf = async (keyId: string) => {
  const from = new Date(Date.now() - 3_600_000).toISOString();
  return (
    await callApi(
      token,
      "GET",
      `/repo/${repoId}/ai/apikey/${keyId}/usage?from=${from}&granularity=minute`,
    )
  ).totals as {
    valid: number;
    refused: Record<string, number>;
    tokens: { input: number; output: number };
  };
};

beforeAll(async () => {
  mock = await startMockProvider({ apiKey: PROVIDER_KEY });
  token = await tokenFor(newUser("ai-usage"));
  const workspace = await callApi(token, "POST", "/workspace", { name: "AI usage" });
  repoId = (await callApi(token, "POST", "/repo", { name: "ai-usage", workspaceId: workspace.id }))
    .id;
  await callApi(token, "PUT", `/repo/${repoId}/ai/provider/OPENAI`, {
    apiKey: PROVIDER_KEY,
    baseUrl: `${mock.url}/v1`,
  });
  await callApi(token, "PUT", `/repo/${repoId}/ai/provider/ANTHROPIC`, {
    apiKey: PROVIDER_KEY,
    baseUrl: mock.url,
  });
  const aiKey = async (aiType: string) =>
    (await callApi(token, "POST", `/repo/${repoId}/ai/apikey`, {
      name: `${aiType} usage`,
      aiType,
    })) as { id: string; secret: string };
  openaiKey = await aiKey("OPENAI");
  anthropicKey = await aiKey("ANTHROPIC");
});

afterAll(async () => {
  await mock?.stop();
});

describe("the AI gateway's tokens in the usage analytics", () => {
  it("a chat completion and a streamed one: the key's usage shows the provider's token counts", async () => {
    const client = new OpenAI({
      apiKey: openaiKey.secret,
      baseURL: `${aiGatewayUrl}/v1`,
      maxRetries: 0,
    });
    const completion = await client.chat.completions.create({
      model: "gpt-mock",
      messages: hello,
    });
    const stream = await client.chat.completions.create({
      model: "gpt-mock",
      messages: hello,
      stream: true,
    });
    let streamed: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) streamed ??= chunk.usage ?? undefined;
    // What the mock provider counted, as the SDK read it from each answer.
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(streamed?.prompt_tokens).toBeGreaterThan(0);
    const expected = {
      input: (completion.usage?.prompt_tokens ?? 0) + (streamed?.prompt_tokens ?? 0),
      output: (completion.usage?.completion_tokens ?? 0) + (streamed?.completion_tokens ?? 0),
    };
    expect(expected.output).toBeGreaterThan(0);

    // Written with the recorder's next flush (seconds): polled, up to the poll's bound.
    await expect
      .poll(async () => (await totalsOf(openaiKey.id)).tokens, { timeout: 20_000 })
      .toEqual(expected);
    const totals = await totalsOf(openaiKey.id);
    // Tokens are never verifications nor refusals.
    expect(totals.refused).toEqual({});
    expect(totals.valid).toBeGreaterThanOrEqual(1);
    expect(totals.valid).toBeLessThanOrEqual(2);

    // The repo's list carries them beside the key's counts.
    const repo = await callApi(token, "GET", `/repo/${repoId}/usage`);
    expect(repo.keys.find((k: { id: string }) => k.id === openaiKey.id)).toMatchObject({
      kind: "ai",
      total: totals.valid,
      tokens: expected,
    });
  });

  it("an Anthropic message, streamed: input from message_start, output from the last delta", async () => {
    const client = new Anthropic({
      apiKey: anthropicKey.secret,
      baseURL: aiGatewayUrl,
      maxRetries: 0,
    });
    const stream = client.messages.stream({
      model: "claude-mock",
      max_tokens: 64,
      messages: hello,
    });
    const message = await stream.finalMessage();
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    const expected = { input: message.usage.input_tokens, output: message.usage.output_tokens };
    await expect
      .poll(async () => (await totalsOf(anthropicKey.id)).tokens, { timeout: 20_000 })
      .toEqual(expected);
    expect((await totalsOf(anthropicKey.id)).refused).toEqual({});
  });
});
