import type { MiddlewareHandler } from "hono";
import type * as z from "zod";
import type { AppEnv } from "../env";
import { ApiError } from "./error";
import { parseAsIs } from "./precompiled";
import { validationError } from "./validation-error";

export const MAX_BODY_BYTES = 64 * 1024;

// application/json or application/*+json, as hono's own JSON reader accepts.
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;
// The labels WHATWG's Encoding standard maps to UTF-8, the only encoding the body is read as.
const UTF8_LABELS = new Set(["utf-8", "utf8", "unicode-1-1-utf-8"]);

const tooLarge = () =>
  new ApiError("PAYLOAD_TOO_LARGE", `Request body must be at most ${MAX_BODY_BYTES / 1024} KiB`);

/**
 * The body's bytes, at most MAX_BODY_BYTES of them: refused from Content-Length before reading
 * anything, and while streaming when there is none (chunked). Empty when the request has none.
 */
async function readBody(request: Request): Promise<Uint8Array> {
  const declared = request.headers.get("Content-Length");
  if (declared !== null) {
    if (Number(declared) > MAX_BODY_BYTES) throw tooLarge();
    // With a Content-Length the runtime holds the body to exactly that many bytes: read it whole
    // (a third of the CPU of reading chunk by chunk), without making a stream of it. No body
    // reads as none.
    return new Uint8Array(await request.arrayBuffer());
  }
  if (request.body === null) return new Uint8Array(0);
  // Chunked bodies are counted as they come.
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(read.value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Refuses (415) a Content-Type that is not JSON, or JSON in a charset other than UTF-8. */
function requireJsonMediaType(contentType: string | undefined): void {
  // What every JSON client sends, and what the checks below would accept.
  if (contentType === "application/json") return;
  const [mediaType = "", ...parameters] = (contentType ?? "").split(";");
  if (!JSON_MEDIA_TYPE.test(mediaType.trim())) {
    const got = contentType ? `"${contentType.slice(0, 100)}"` : "no Content-Type";
    throw new ApiError(
      "UNSUPPORTED_MEDIA_TYPE",
      `Request body must be JSON, sent with "Content-Type: application/json" (got ${got})`,
    );
  }
  for (const parameter of parameters) {
    const [name = "", value = ""] = parameter.split("=");
    if (name.trim().toLowerCase() !== "charset") continue;
    const charset = value.trim().replace(/^"(.*)"$/, "$1");
    if (!UTF8_LABELS.has(charset.toLowerCase())) {
      throw new ApiError(
        "UNSUPPORTED_MEDIA_TYPE",
        `Request body must be UTF-8 JSON (got charset "${charset.slice(0, 40)}"); send "Content-Type: application/json" or "application/json; charset=utf-8"`,
      );
    }
  }
}

// Decoding keeps no state between calls (not streaming), so one decoder serves every request.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * For operations that take a body, and only them: a request has a body only if it has content
 * (a DELETE through wrangler's proxy arrives with `Content-Length: 0` and an empty stream). The
 * body must be JSON in UTF-8 (415 otherwise), parse (400), and match the schema (400). Read
 * once, parsed once; resolves to the schema's output.
 */
export async function readJsonBody<S extends z.ZodType>(
  request: Request,
  schema: S,
  { optional = false }: { optional?: boolean } = {},
): Promise<z.output<S>> {
  const bytes = await readBody(request);
  let value: unknown;
  if (bytes.byteLength === 0 && optional) {
    value = {};
  } else {
    if (bytes.byteLength === 0) {
      throw new ApiError(
        "VALIDATION_FAILED",
        'Invalid request body. body: is required; send JSON with "Content-Type: application/json"',
        [{ path: "body", message: "is required" }],
      );
    }
    requireJsonMediaType(request.headers.get("Content-Type") ?? undefined);
    try {
      value = JSON.parse(utf8.decode(bytes));
    } catch {
      throw new ApiError("BAD_REQUEST", "The request body is not valid JSON");
    }
  }
  const result = parseAsIs(schema, value);
  if (!result.success) throw validationError(result.error, "json", schema);
  return result.data;
}

/** `readJsonBody` as middleware: the handler finds the body as `c.req.valid("json")`. */
export function jsonBody(
  schema: z.ZodType,
  options: { optional?: boolean } = {},
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.req.addValidatedData("json", (await readJsonBody(c.req.raw, schema, options)) as object);
    await next();
  };
}
