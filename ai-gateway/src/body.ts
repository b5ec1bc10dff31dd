import { AiError } from "./errors";

/** Past this a body is refused (413) before it is read whole: far above any chat or embedding. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

// Not streaming: one decoder serves every request.
const utf8 = new TextDecoder();

export async function bodyOf(request: Request): Promise<string> {
  const declared = request.headers.get("content-length");
  const tooLarge = () =>
    new AiError(413, "request_too_large", `The body is over ${MAX_BODY_BYTES} bytes`);
  if (declared !== null) {
    if (Number(declared) > MAX_BODY_BYTES) throw tooLarge();
    // With a Content-Length the runtime holds the body to that many bytes: read it whole.
    return utf8.decode(await request.arrayBuffer());
  }
  if (!request.body) return "";
  // Chunked: counted as it comes.
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += part.byteLength;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    parts.push(part);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return utf8.decode(bytes);
}

/** The request's model, from a JSON object body; what is not one is the client's 400. */
export function modelOf(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AiError(400, "invalid_json", "The body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new AiError(400, "invalid_json", "The body must be a JSON object");
  }
  const { model } = body as { model?: unknown };
  if (typeof model !== "string" || model === "") {
    throw new AiError(400, "invalid_request", "model: a model name is required");
  }
  return model;
}
