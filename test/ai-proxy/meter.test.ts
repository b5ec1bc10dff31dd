import { describe, expect, it } from "vitest";
import { type Counted, MAX_JSON_BYTES, metered, meteredJson } from "../../src/ai-proxy/meter";
import { upstreamUrl } from "../../src/ai-proxy/upstream";

const encoder = new TextEncoder();

const streamOf = (parts: (string | Uint8Array)[]) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) {
        controller.enqueue(typeof part === "string" ? encoder.encode(part) : part);
      }
      controller.close();
    },
  });

/** `parts` through metered() (an event stream) or meteredJson(); what came out, and every usage
 * reported. */
async function meter(parts: string[], kind: "sse" | "json") {
  const reports: Counted[] = [];
  const report = (c: Counted) => reports.push(c);
  const source = streamOf(parts);
  const passed = kind === "sse" ? metered(source, report) : await meteredJson(source, report);
  const out = await new Response(passed).text();
  return { out, reports };
}

const openaiChunk = (data: object) => `data: ${JSON.stringify(data)}\n\n`;

describe("token usage read from a provider's answer as it passes", () => {
  it("an OpenAI stream: the final usage event, even split across chunks; the bytes unchanged", async () => {
    const events = [
      openaiChunk({ model: "gpt-4o-2024", choices: [{ delta: { content: "Hi" } }] }),
      openaiChunk({
        model: "gpt-4o-2024",
        choices: [],
        usage: { prompt_tokens: 12, completion_tokens: 5 },
      }),
      "data: [DONE]\n\n",
    ].join("");
    const split = [events.slice(0, 30), events.slice(30, 95), events.slice(95)];
    const { out, reports } = await meter(split, "sse");
    expect(out).toBe(events);
    expect(reports).toEqual([{ model: "gpt-4o-2024", inputTokens: 12, outputTokens: 5 }]);
  });

  it("an Anthropic stream: input from message_start, output from message_delta's total", async () => {
    const event = (type: string, data: object) =>
      `event: ${type}\r\ndata: ${JSON.stringify({ type, ...data })}\r\n\r\n`;
    const { reports } = await meter(
      [
        event("message_start", {
          message: {
            model: "claude-x",
            usage: { input_tokens: 20, cache_read_input_tokens: 5, output_tokens: 1 },
          },
        }),
        event("content_block_delta", { delta: { type: "text_delta", text: "Hello" } }),
        event("message_delta", { usage: { output_tokens: 9 } }),
        event("message_stop", {}),
      ],
      "sse",
    );
    expect(reports).toEqual([{ model: "claude-x", inputTokens: 25, outputTokens: 9 }]);
  });

  it("JSON answers: OpenAI's chat and embeddings usage, Anthropic's message usage", async () => {
    const chat = { model: "gpt-x", usage: { prompt_tokens: 3, completion_tokens: 4 } };
    expect((await meter([JSON.stringify(chat)], "json")).reports).toEqual([
      { model: "gpt-x", inputTokens: 3, outputTokens: 4 },
    ]);
    const embeddings = { model: "emb", usage: { prompt_tokens: 8, total_tokens: 8 } };
    expect((await meter([JSON.stringify(embeddings)], "json")).reports).toEqual([
      { model: "emb", inputTokens: 8, outputTokens: 0 },
    ]);
    const message = {
      type: "message",
      model: "claude-x",
      usage: { input_tokens: 7, output_tokens: 2 },
    };
    const text = JSON.stringify(message);
    expect((await meter([text.slice(0, 10), text.slice(10)], "json")).reports).toEqual([
      { model: "claude-x", inputTokens: 7, outputTokens: 2 },
    ]);
  });

  it("an answer with no usage, or not JSON, reports nothing and passes through", async () => {
    expect((await meter(['{"data":[]}'], "json")).reports).toEqual([]);
    const { out, reports } = await meter(["<html>oops"], "json");
    expect([out, reports]).toEqual(["<html>oops", []]);
    expect(
      (await meter([openaiChunk({ choices: [] }), "data: [DONE]\n\n"], "sse")).reports,
    ).toEqual([]);
  });

  it("a JSON answer is counted before it is handed on, and its bytes are unchanged", async () => {
    const reports: Counted[] = [];
    const text = JSON.stringify({
      model: "gpt-x",
      usage: { prompt_tokens: 1, completion_tokens: 2 },
    });
    const passed = await meteredJson(streamOf([text.slice(0, 7), text.slice(7)]), (c) =>
      reports.push(c),
    );
    // Counted while the answer was read, not as the client reads it: a buffer, whole.
    expect(reports).toEqual([{ model: "gpt-x", inputTokens: 1, outputTokens: 2 }]);
    expect(passed).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(passed as Uint8Array)).toBe(text);
  });

  it("a JSON answer past MAX_JSON_BYTES is streamed on whole and not counted", async () => {
    const head = encoder.encode(`{"usage":{"prompt_tokens":5},"data":"`);
    const filler = new Uint8Array(MAX_JSON_BYTES).fill(0x61);
    const tail = encoder.encode(`"}`);
    const reports: Counted[] = [];
    const passed = await meteredJson(streamOf([head, filler, tail]), (c) => reports.push(c));
    expect(passed).toBeInstanceOf(ReadableStream);
    const out = new Uint8Array(await new Response(passed).arrayBuffer());
    expect(out.byteLength).toBe(head.byteLength + filler.byteLength + tail.byteLength);
    expect([out[0], out[head.byteLength], out.at(-1)]).toEqual([0x7b, 0x61, 0x7d]);
    expect(reports).toEqual([]);
  });

  it("a JSON answer cut off by the provider fails the read (the proxy answers 502)", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('{"usage":'));
        controller.error(new TypeError("Network connection lost"));
      },
    });
    await expect(meteredJson(body, () => {})).rejects.toThrow("Network connection lost");
  });

  it("passes each chunk on before the provider has sent the next", async () => {
    let source!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        source = controller;
      },
    });
    const reader = metered(body, () => {}).getReader();
    source.enqueue(encoder.encode("data: first\n\n"));
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("data: first\n\n");
    source.close();
    expect((await reader.read()).done).toBe(true);
  });
});

describe("the provider's URL for a gateway path", () => {
  it("OpenAI-compatible base URLs carry their version; Anthropic's need not", () => {
    expect(upstreamUrl("https://api.openai.com/v1", "OPENAI", "/v1/chat/completions")).toBe(
      "https://api.openai.com/v1/chat/completions",
    );
    expect(
      upstreamUrl(
        "https://generativelanguage.googleapis.com/v1beta/openai/",
        "GOOGLE",
        "/v1/embeddings",
      ),
    ).toBe("https://generativelanguage.googleapis.com/v1beta/openai/embeddings");
    expect(upstreamUrl("https://api.anthropic.com", "ANTHROPIC", "/v1/messages")).toBe(
      "https://api.anthropic.com/v1/messages",
    );
    expect(upstreamUrl("https://api.anthropic.com/v1/", "ANTHROPIC", "/v1/messages")).toBe(
      "https://api.anthropic.com/v1/messages",
    );
  });
});
