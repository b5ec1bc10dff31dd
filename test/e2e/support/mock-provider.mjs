// A stand-in for OpenAI's and Anthropic's APIs on 127.0.0.1, for the AI gateway's end-to-end
// tests and its bench: their wire formats (JSON and server-sent events), a fixed answer, and a
// record of every request it received, so a test can prove which key reached the provider.
import { createServer } from "node:http";

/**
 * @typedef {{ method: string; path: string; headers: Record<string, string | string[] | undefined>; body: string }} Received
 */

const WORDS = ["Hello", " from", " the", " mock", " provider", "."];
export const MOCK_MODELS = ["gpt-mock", "gpt-mock-mini", "text-embedding-mock", "claude-mock"];

const sse = (res) =>
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-request-id": "req_mock",
  });
const json = (res, status, body, headers = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
const wait = (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : undefined);

/**
 * Starts the mock. `apiKey` is the provider key it accepts (Bearer for OpenAI's paths, x-api-key
 * for Anthropic's); any other is answered 401 in the provider's format. A request whose model
 * is "mock-error-<status>" is answered that status with the provider's error body. `latencyMs`
 * delays every answer (a model's time to answer; the bench's), `chunkDelayMs` spaces a stream's
 * chunks after the first. OpenAI's base URL is <url>/v1, Anthropic's <url>. `record: false`
 * keeps nothing (the bench's load).
 *
 * @param {{ apiKey: string; latencyMs?: number; chunkDelayMs?: number; record?: boolean }} options
 */
export async function startMockProvider({
  apiKey,
  latencyMs = 0,
  chunkDelayMs = 0,
  record = true,
}) {
  /** @type {Received[]} */
  const received = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const path = (req.url ?? "").split("?")[0];
    if (record) received.push({ method: req.method ?? "", path, headers: req.headers, body });
    try {
      await wait(latencyMs);
      await answer(req, res, path, body);
    } catch (error) {
      json(res, 500, { error: { message: String(error), type: "server_error", code: null } });
    }
  });

  async function answer(req, res, path, text) {
    const anthropic =
      path === "/v1/messages" || (path === "/v1/models" && req.headers["anthropic-version"]);
    const key = anthropic
      ? req.headers["x-api-key"]
      : req.headers.authorization?.replace(/^Bearer /, "");
    if (key !== apiKey) {
      return anthropic
        ? json(res, 401, {
            type: "error",
            error: { type: "authentication_error", message: "invalid x-api-key" },
          })
        : json(res, 401, {
            error: {
              message: "Incorrect API key provided",
              type: "invalid_request_error",
              param: null,
              code: "invalid_api_key",
            },
          });
    }
    const body = text ? JSON.parse(text) : {};
    const failWith = /^mock-error-(\d{3})$/.exec(body.model ?? "")?.[1];
    if (failWith) {
      return anthropic
        ? json(res, Number(failWith), {
            type: "error",
            error: { type: "api_error", message: "mock failure" },
          })
        : json(res, Number(failWith), {
            error: { message: "mock failure", type: "server_error", param: null, code: "mock" },
          });
    }
    if (req.method === "GET" && path === "/v1/models") {
      return anthropic
        ? json(res, 200, {
            data: MOCK_MODELS.map((id) => ({
              type: "model",
              id,
              display_name: id,
              created_at: "2026-01-01T00:00:00Z",
            })),
            has_more: false,
            first_id: MOCK_MODELS[0],
            last_id: MOCK_MODELS.at(-1),
          })
        : json(res, 200, {
            object: "list",
            data: MOCK_MODELS.map((id) => ({
              id,
              object: "model",
              created: 1767225600,
              owned_by: "mock",
            })),
          });
    }
    if (req.method === "POST" && path === "/v1/embeddings") {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return json(res, 200, {
        object: "list",
        model: body.model,
        data: inputs.map((_, index) => ({
          object: "embedding",
          index,
          embedding: [0.1, 0.2, 0.3],
        })),
        usage: { prompt_tokens: 4 * inputs.length, total_tokens: 4 * inputs.length },
      });
    }
    if (req.method === "POST" && path === "/v1/chat/completions") {
      const base = { id: "chatcmpl-mock", created: 1767225600, model: body.model };
      const usage = {
        prompt_tokens: 11,
        completion_tokens: WORDS.length,
        total_tokens: 11 + WORDS.length,
      };
      if (!body.stream) {
        return json(res, 200, {
          ...base,
          object: "chat.completion",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: WORDS.join("") },
              finish_reason: "stop",
              logprobs: null,
            },
          ],
          usage,
        });
      }
      sse(res);
      const send = (data) =>
        res.write(
          `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", ...data })}\n\n`,
        );
      for (const [i, word] of WORDS.entries()) {
        if (i > 0) await wait(chunkDelayMs);
        send({
          choices: [
            {
              index: 0,
              delta: i === 0 ? { role: "assistant", content: word } : { content: word },
              finish_reason: null,
            },
          ],
        });
      }
      send({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
      if (body.stream_options?.include_usage) send({ choices: [], usage });
      res.end("data: [DONE]\n\n");
      return;
    }
    if (req.method === "POST" && path === "/v1/messages") {
      const message = {
        id: "msg_mock",
        type: "message",
        role: "assistant",
        model: body.model,
        stop_sequence: null,
      };
      if (!body.stream) {
        return json(
          res,
          200,
          {
            ...message,
            content: [{ type: "text", text: WORDS.join("") }],
            stop_reason: "end_turn",
            usage: { input_tokens: 13, output_tokens: WORDS.length },
          },
          { "request-id": "req_mock" },
        );
      }
      sse(res);
      const send = (type, data) =>
        res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
      send("message_start", {
        message: {
          ...message,
          content: [],
          stop_reason: null,
          usage: { input_tokens: 13, output_tokens: 1 },
        },
      });
      send("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
      for (const [i, word] of WORDS.entries()) {
        if (i > 0) await wait(chunkDelayMs);
        send("content_block_delta", { index: 0, delta: { type: "text_delta", text: word } });
      }
      send("content_block_stop", { index: 0 });
      send("message_delta", {
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: WORDS.length },
      });
      send("message_stop", {});
      res.end();
      return;
    }
    json(res, 404, {
      error: {
        message: `mock: no ${req.method} ${path}`,
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
  }

  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    /** Every request received so far, oldest first. */
    received,
    /** The expected answer text of every chat or message (streamed or not). */
    text: WORDS.join(""),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}
