import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../scripts/dev-server.mjs";
import { devToken } from "../../scripts/dev-token.mjs";
import { startMockProvider } from "./support/mock-provider.mjs";

// A `npm run dev` of its own, so that everything its three Workers printed can be read: the
// provider key and the fbai_sk_ secrets appear in none of it, and each answer's token usage is
// recorded against its key ("ai usage" lines, src/ai-proxy/tokens.ts).

const PROVIDER_KEY = `sk-mock-${crypto.randomUUID().replaceAll("-", "")}`;
let output = "";
const secrets: string[] = [];
const keyIds: Record<string, string> = {};
/** Every answer's body and headers, as clients saw them. */
const answers: string[] = [];

beforeAll(async () => {
  const mock = await startMockProvider({ apiKey: PROVIDER_KEY });
  const server = await startDevServer();
  try {
    const token = await devToken("ai-logs-admin");
    // A key's creation answers its secret, by design; every other answer is kept to scan.
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      if (!path.endsWith("/ai/apikey")) answers.push(text);
      expect(response.ok, text).toBe(true);
      return JSON.parse(text);
    };
    const workspace = await api("POST", "/workspace", { name: "AI logs" });
    const repo = await api("POST", "/repo", { name: "ai", workspaceId: workspace.id });
    await api("PUT", `/repo/${repo.id}/ai/provider/OPENAI`, {
      apiKey: PROVIDER_KEY,
      baseUrl: `${mock.url}/v1`,
    });
    await api("PUT", `/repo/${repo.id}/ai/provider/ANTHROPIC`, {
      apiKey: PROVIDER_KEY,
      baseUrl: mock.url,
    });
    answers.push(JSON.stringify(await api("GET", `/repo/${repo.id}/ai/provider`)));
    const openaiKey = await api("POST", `/repo/${repo.id}/ai/apikey`, {
      name: "o",
      aiType: "OPENAI",
    });
    const anthropicKey = await api("POST", `/repo/${repo.id}/ai/apikey`, {
      name: "a",
      aiType: "ANTHROPIC",
    });
    secrets.push(openaiKey.secret, anthropicKey.secret);
    keyIds.openai = openaiKey.id;
    keyIds.anthropic = anthropicKey.id;

    const openai = new OpenAI({
      apiKey: openaiKey.secret,
      baseURL: `${server.aiGatewayUrl}/v1`,
      maxRetries: 0,
    });
    const anthropic = new Anthropic({
      apiKey: anthropicKey.secret,
      baseURL: server.aiGatewayUrl,
      maxRetries: 0,
    });
    const messages = [{ role: "user" as const, content: "hi" }];
    answers.push(
      JSON.stringify(await openai.chat.completions.create({ model: "gpt-mock", messages })),
    );
    const stream = await openai.chat.completions.create({
      model: "gpt-mock",
      messages,
      stream: true,
    });
    for await (const chunk of stream) answers.push(JSON.stringify(chunk));
    const streamed = anthropic.messages.stream({ model: "claude-mock", max_tokens: 9, messages });
    answers.push(JSON.stringify(await streamed.finalMessage()));
    // Refusals and failures print too: a model the provider fails, a wrong-type key.
    for (const call of [
      () => openai.chat.completions.create({ model: "mock-error-500", messages }),
      () =>
        new OpenAI({
          apiKey: anthropicKey.secret,
          baseURL: `${server.aiGatewayUrl}/v1`,
          maxRetries: 0,
        }).models.list(),
    ]) {
      await call().then(
        (answer) => answers.push(JSON.stringify(answer)),
        (error) => answers.push(`${error.message} ${JSON.stringify(error.headers ?? {})}`),
      );
    }
  } finally {
    await server.stop();
    await mock.stop();
  }
  output = server.output();
}, 240_000);

describe("the AI gateway and the API under npm run dev", () => {
  it("print no provider key and no fbai_sk_ secret, and answer none", () => {
    expect(output.length).toBeGreaterThan(0);
    for (const text of [output, ...answers]) {
      expect(text).not.toContain(PROVIDER_KEY);
      expect(text).not.toContain(PROVIDER_KEY.slice(0, 20));
      for (const secret of secrets) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/fbai_sk_\w{8}/);
    }
  });

  it("record each answer's token usage against its key: streamed and not, OpenAI and Anthropic", () => {
    const usage = output
      .split("\n")
      .filter((line) => line.includes('"message":"ai usage"'))
      .map((line) => JSON.parse(line.slice(line.indexOf("{"), line.lastIndexOf("}") + 1)));
    expect(usage).toEqual([
      expect.objectContaining({
        keyId: keyIds.openai,
        model: "gpt-mock",
        inputTokens: 11,
        outputTokens: 6,
      }),
      expect.objectContaining({
        keyId: keyIds.openai,
        model: "gpt-mock",
        inputTokens: 11,
        outputTokens: 6,
      }),
      expect.objectContaining({
        keyId: keyIds.anthropic,
        model: "claude-mock",
        inputTokens: 13,
        outputTokens: 6,
      }),
    ]);
  });
});
