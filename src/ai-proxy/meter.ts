/** Input and output tokens, as one provider answer counted them. */
export interface Counted {
  model?: string;
  inputTokens: number;
  outputTokens: number;
}

/**
 * A JSON answer up to this many bytes is read whole and counted; a longer one is passed on as it
 * comes, uncounted (far above any chat answer; a large batch of embeddings may pass it).
 */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;

const count = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : 0);

/**
 * The usage in one JSON value: a whole answer, or one server-sent event's data. OpenAI's
 * `usage` (prompt/completion tokens; the last chunk of a stream asked with include_usage) or
 * Anthropic's (input tokens, cache writes and reads among them, and output tokens; in a stream,
 * message_start then message_delta's running total).
 */
function usageIn(value: unknown, counted: Counted | undefined): Counted | undefined {
  if (typeof value !== "object" || value === null) return counted;
  const data = value as {
    type?: unknown;
    model?: unknown;
    usage?: Record<string, unknown> | null;
    message?: { model?: unknown; usage?: Record<string, unknown> };
  };
  const model = typeof data.model === "string" ? data.model : counted?.model;
  if (data.type === "message_start" && data.message?.usage) {
    const usage = data.message.usage;
    return {
      model: typeof data.message.model === "string" ? data.message.model : model,
      inputTokens: anthropicInput(usage),
      outputTokens: count(usage.output_tokens),
    };
  }
  const usage = data.usage;
  if (typeof usage !== "object" || usage === null) return counted;
  if ("prompt_tokens" in usage) {
    return {
      model,
      inputTokens: count(usage.prompt_tokens),
      outputTokens: count(usage.completion_tokens),
    };
  }
  if (data.type === "message_delta") {
    // Output is a running total; input is only here when the provider adds it at the end.
    return {
      model,
      inputTokens: "input_tokens" in usage ? anthropicInput(usage) : (counted?.inputTokens ?? 0),
      outputTokens: count(usage.output_tokens),
    };
  }
  if ("input_tokens" in usage || "output_tokens" in usage) {
    return { model, inputTokens: anthropicInput(usage), outputTokens: count(usage.output_tokens) };
  }
  return counted;
}

const anthropicInput = (usage: Record<string, unknown>) =>
  count(usage.input_tokens) +
  count(usage.cache_creation_input_tokens) +
  count(usage.cache_read_input_tokens);

/**
 * A server-sent event stream passed on chunk by chunk as it arrives (nothing is held back), read
 * on the side event by event for its token usage; `report` is called once the whole stream has
 * been passed on, with the usage found (none: not called).
 */
export function metered(
  body: ReadableStream<Uint8Array>,
  report: (counted: Counted) => void,
): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  let pending = "";
  let counted: Counted | undefined;
  const readLines = (final: boolean) => {
    const lines = pending.split("\n");
    pending = final ? "" : (lines.pop() ?? "");
    for (const line of lines) {
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (!data.startsWith("{")) continue;
      try {
        counted = usageIn(JSON.parse(data), counted);
      } catch {
        // Not JSON: not an event this reads.
      }
    }
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        controller.enqueue(chunk);
        pending += decoder.decode(chunk, { stream: true });
        readLines(false);
      },
      flush() {
        pending += decoder.decode();
        readLines(true);
        if (counted) report(counted);
      },
    }),
  );
}

/**
 * A JSON answer read whole and counted: its bytes, unchanged, once the provider has sent them
 * all, with `report` called first when it names a usage. A client waits for the whole of a JSON
 * answer anyway, and one buffer crosses to the gateway cheaper than a stream piped through a
 * transform (bench: ai_gateway_ratio). Past MAX_JSON_BYTES the answer is passed on as a stream
 * instead (what was read, then the rest as it comes), uncounted.
 */
export async function meteredJson(
  body: ReadableStream<Uint8Array>,
  report: (counted: Counted) => void,
): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    parts.push(read.value);
    size += read.value.byteLength;
    if (size > MAX_JSON_BYTES) return replayed(parts, reader);
  }
  const bytes = parts.length === 1 ? (parts[0] as Uint8Array) : new Uint8Array(size);
  if (parts.length !== 1) {
    let at = 0;
    for (const part of parts) {
      bytes.set(part, at);
      at += part.byteLength;
    }
  }
  let counted: Counted | undefined;
  try {
    counted = usageIn(JSON.parse(new TextDecoder().decode(bytes)), undefined);
  } catch {
    // Not JSON: nothing to count.
  }
  if (counted) report(counted);
  return bytes;
}

/** The parts already read, then what `reader` still has, as one stream. */
function replayed(
  parts: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
    },
    async pull(controller) {
      const read = await reader.read();
      if (read.done) controller.close();
      else controller.enqueue(read.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
