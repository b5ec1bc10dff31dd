/** Input and output tokens, as one provider answer counted them. */
export interface Counted {
  model?: string;
  inputTokens: number;
  outputTokens: number;
}

/** A JSON answer past this many characters is passed on but not read for its usage. */
const MAX_JSON_CHARS = 4 * 1024 * 1024;

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
 * `body` passed on chunk by chunk as it arrives (nothing is held back), read on the side for
 * its token usage; `report` is called once the whole body has been passed on, with the usage
 * found (none: not called). A server-sent event stream is read event by event; a JSON answer
 * whole, up to MAX_JSON_CHARS.
 */
export function metered(
  body: ReadableStream<Uint8Array>,
  kind: "sse" | "json",
  report: (counted: Counted) => void,
): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  let pending = "";
  let counted: Counted | undefined;
  let tooLong = false;
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
        if (tooLong) return;
        pending += decoder.decode(chunk, { stream: true });
        if (kind === "sse") readLines(false);
        else if (pending.length > MAX_JSON_CHARS) {
          tooLong = true;
          pending = "";
        }
      },
      flush() {
        if (tooLong) return;
        pending += decoder.decode();
        if (kind === "sse") readLines(true);
        else {
          try {
            counted = usageIn(JSON.parse(pending), undefined);
          } catch {
            // Not JSON: nothing to count.
          }
        }
        if (counted) report(counted);
      },
    }),
  );
}
