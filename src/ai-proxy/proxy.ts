import type { Bindings } from "../env";
import { log } from "../http/log";
import { type Counted, metered, meteredJson } from "./meter";
import { rememberedProvider } from "./providers";
import type { AiCallRequest, AiProxyAnswer, AiProxyRefusal } from "./schemas";
import { reportTokens } from "./tokens";
import { authHeaders, PATHS_OF_TYPE, returnedHeaders, upstreamUrl } from "./upstream";

const refuse = (status: number, code: string, message: string): AiProxyRefusal => ({
  success: false,
  status,
  code,
  message,
});

/** The request's JSON body, with OpenAI streams asked for their usage (the last event). */
function upstreamBody(
  input: AiCallRequest,
): { text: string; model: string; stream: boolean } | AiProxyRefusal {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(input.body ?? "");
  } catch {
    return refuse(400, "INVALID_JSON", "The body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return refuse(400, "INVALID_JSON", "The body must be a JSON object");
  }
  if (typeof body.model !== "string") {
    return refuse(400, "INVALID_REQUEST", "model: a model name is required");
  }
  const stream = body.stream === true;
  const options = body.stream_options as { include_usage?: unknown } | undefined;
  if (input.path === "/v1/chat/completions" && stream && options?.include_usage !== true) {
    body.stream_options = { ...(typeof options === "object" ? options : {}), include_usage: true };
    return { text: JSON.stringify(body), model: body.model, stream };
  }
  return { text: input.body ?? "", model: body.model, stream };
}

/** A key KeyVerifier just answered VALID for, as an AiCall holds it. */
export interface VerifiedAiKey {
  keyId: string;
  repoId: string;
  aiType: "OPENAI" | "GOOGLE" | "ANTHROPIC" | "AWS" | "OTHER";
  models?: string[] | null;
}

/**
 * Makes one provider call for a verified key (src/ai-proxy/call.ts): for a path its provider
 * serves and a model its allow-list has, with the repository's provider key loaded here, set
 * in the provider's own auth header, and the answer streamed back, its token usage reported as
 * it passes. The provider key goes nowhere else; the fbai_sk_ secret never reaches this far.
 */
export async function proxyAiRequest(
  env: Bindings,
  key: VerifiedAiKey,
  input: AiCallRequest,
  /** Where the token usage's write goes: the verifying KeyVerifier call's waitUntil. */
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<AiProxyAnswer> {
  const { keyId, repoId, aiType, models } = key;
  if (aiType === "AWS") {
    return refuse(501, "PROVIDER_NOT_SUPPORTED", "AWS Bedrock is not supported by the AI gateway");
  }
  if (!PATHS_OF_TYPE[aiType].includes(input.path)) {
    return refuse(403, "WRONG_PROVIDER", `This key is for ${aiType}, not for ${input.path}`);
  }
  const expectedMethod = input.path === "/v1/models" ? "GET" : "POST";
  if (input.method !== expectedMethod) {
    return refuse(405, "METHOD_NOT_ALLOWED", `${input.path} takes ${expectedMethod}`);
  }
  const body = input.method === "POST" ? upstreamBody(input) : undefined;
  if (body && "success" in body) return body;
  if (body && Array.isArray(models) && !models.includes(body.model)) {
    return refuse(
      403,
      "MODEL_NOT_ALLOWED",
      `This key may not use the model "${body.model.slice(0, 200)}"`,
    );
  }

  const provider = await rememberedProvider(env, repoId, aiType);
  if (!provider) {
    return refuse(
      400,
      "NO_PROVIDER",
      `No ${aiType} provider key is set for this repository: an ADMIN sets one with PUT /repo/${repoId}/ai/provider/${aiType}`,
    );
  }
  const headers = new Headers(input.headers as Record<string, string>);
  authHeaders(aiType, provider.apiKey, headers);
  if (body) headers.set("content-type", "application/json");

  let upstream: Response;
  try {
    upstream = await fetch(upstreamUrl(provider.baseUrl, aiType, input.path), {
      method: input.method,
      headers,
      body: body?.text,
      // A redirect could lead the provider key's header elsewhere: it is answered, not followed.
      redirect: "manual",
    });
  } catch (error) {
    // Not the error itself: a fetch failure may name the provider's address.
    log.warn("AI provider unreachable", {
      keyId,
      aiType,
      reason: error instanceof Error ? error.name : "unknown",
    });
    return refuse(502, "UPSTREAM_UNREACHABLE", `The ${aiType} provider could not be reached`);
  }
  if (upstream.status >= 300 && upstream.status < 400) {
    await upstream.body?.cancel();
    return refuse(502, "UPSTREAM_REDIRECT", `The ${aiType} provider answered with a redirect`);
  }
  const returned = returnedHeaders(upstream.headers);
  const report = (counted: Counted) =>
    reportTokens(env, waitUntil, {
      keyId,
      repoId,
      aiType,
      model: counted.model ?? body?.model ?? "",
      inputTokens: counted.inputTokens,
      outputTokens: counted.outputTokens,
    });
  let stream: ReadableStream<Uint8Array> | Uint8Array | null = upstream.body;
  if (stream && upstream.ok && input.path !== "/v1/models") {
    const sse = returned.get("content-type")?.startsWith("text/event-stream") ?? false;
    if (sse) stream = metered(stream, report);
    else {
      try {
        stream = await meteredJson(stream, report);
      } catch (error) {
        log.warn("AI provider's answer cut off", {
          keyId,
          aiType,
          reason: error instanceof Error ? error.name : "unknown",
        });
        return refuse(502, "UPSTREAM_UNREACHABLE", `The ${aiType} provider's answer was cut off`);
      }
    }
  }
  return {
    success: true,
    response: new Response(stream, { status: upstream.status, headers: returned }),
  };
}
