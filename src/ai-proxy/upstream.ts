import type { AiPath } from "./schemas";

type AiType = "OPENAI" | "GOOGLE" | "ANTHROPIC" | "AWS" | "OTHER";

/** Which gateway paths each provider type serves (AWS: none, Bedrock is not supported). */
export const PATHS_OF_TYPE: Record<AiType, readonly AiPath[]> = {
  OPENAI: ["/v1/chat/completions", "/v1/embeddings", "/v1/models"],
  GOOGLE: ["/v1/chat/completions", "/v1/embeddings", "/v1/models"],
  OTHER: ["/v1/chat/completions", "/v1/embeddings", "/v1/models"],
  ANTHROPIC: ["/v1/messages", "/v1/models"],
  AWS: [],
};

/** What Anthropic's API is told when the client names no version (its SDKs always do). */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

/**
 * The provider's URL for a gateway path. A base URL is what the provider's own SDK takes: with
 * its version for OpenAI-compatible servers (https://api.openai.com/v1, Gemini's
 * …/v1beta/openai), so /v1/chat/completions is <base>/chat/completions; Anthropic's without
 * (https://api.anthropic.com), so /v1/messages is <base>/v1/messages, unless it ends in /v1.
 */
export function upstreamUrl(baseUrl: string, aiType: AiType, path: AiPath): string {
  const base = baseUrl.replace(/\/+$/, "");
  const versioned = aiType !== "ANTHROPIC" || /\/v1$/.test(base);
  return `${base}${versioned ? path.slice("/v1".length) : path}`;
}

/** The provider's own authentication: the repository's provider key, set here and only here. */
export function authHeaders(aiType: AiType, apiKey: string, headers: Headers): void {
  if (aiType === "ANTHROPIC") {
    headers.set("x-api-key", apiKey);
    if (!headers.has("anthropic-version")) {
      headers.set("anthropic-version", DEFAULT_ANTHROPIC_VERSION);
    }
  } else {
    headers.set("authorization", `Bearer ${apiKey}`);
  }
}

/** The provider's answer headers a client may see; cookies, encodings and the rest stay here. */
const RETURNED_HEADERS =
  /^(content-type|retry-after|x-request-id|request-id|openai-(processing-ms|version|model)|x-ratelimit-[a-z-]+|anthropic-ratelimit-[a-z-]+)$/;

export function returnedHeaders(upstream: Headers): Headers {
  const headers = new Headers();
  for (const [name, value] of upstream) {
    if (RETURNED_HEADERS.test(name)) headers.set(name, value);
  }
  // A stream must reach the client as it comes: no proxy buffering on the way.
  if (headers.get("content-type")?.startsWith("text/event-stream")) {
    headers.set("cache-control", "no-cache");
  }
  return headers;
}
