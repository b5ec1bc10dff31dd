import type { ProxyAnswer, VerifiedAiKey } from "./api";
import { bodyOf, modelOf } from "./body";
import type { Env } from "./env";
import { AiError, errorResponse, type Surface } from "./errors";
import { type Route, requireSurface, routeOf, secretOf, surfaceOf } from "./route";
import { requireModelAllowed, verifiedKey } from "./verify";

/**
 * The AI gateway: OpenAI's surface (/v1/chat/completions, /v1/embeddings, /v1/models) and
 * Anthropic's (/v1/messages) for fbai_sk_ secrets. Each request is verified through the API's
 * KeyVerifier, checked against the key's provider and model allow-list, then handed to the
 * verified key's AiCall (a stub into the API), which calls the provider with the repository's
 * key and streams its answer back.
 */

/** The only request headers the provider sees: the client's secret is never among them. */
const FORWARDED_HEADERS = [
  "content-type",
  "accept",
  "anthropic-version",
  "anthropic-beta",
  "openai-beta",
];

/** With an allow-list, a model listing shows only the models the key may use. */
async function allowedModelsOnly(response: Response, key: VerifiedAiKey): Promise<Response> {
  if (!Array.isArray(key.models) || !response.ok) return response;
  const listing = (await response.json()) as { data?: { id?: unknown }[] };
  if (Array.isArray(listing.data)) {
    const allowed = new Set(key.models);
    listing.data = listing.data.filter((model) => allowed.has(String(model?.id)));
  }
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return Response.json(listing, { status: response.status, headers });
}

/** The provider's answer through the key's AiCall: a failed call is the API unreachable. */
async function providerAnswer(
  key: VerifiedAiKey,
  route: Route,
  forwarding: Promise<ProxyAnswer> | undefined,
): Promise<Response> {
  if (!key.aiCall || !forwarding) {
    // An API older than this gateway (deploy the API first): nothing can call the provider.
    console.error(JSON.stringify({ level: "error", message: "the key verifier sent no aiCall" }));
    throw new AiError(503, "service_unavailable", "The AI proxy is unavailable; try again");
  }
  let answer: ProxyAnswer;
  try {
    answer = await forwarding;
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        message: "the AI proxy could not be reached",
        keyId: key.keyId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
    );
    throw new AiError(503, "service_unavailable", "The AI proxy is unavailable; try again");
  }
  if (!answer.success) {
    throw new AiError(answer.status, answer.code.toLowerCase(), answer.message);
  }
  return route.operation === "models" ? allowedModelsOnly(answer.response, key) : answer.response;
}

/** The forwarded headers: FORWARDED_HEADERS the client sent, and no other. */
function forwardedHeaders(request: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return headers;
}

async function serve(request: Request, env: Env, route: Route): Promise<Response> {
  const secret = secretOf(request.headers, route.surface);
  const clientIp = request.headers.get("CF-Connecting-IP") ?? undefined;
  const asked = env.KEY_VERIFIER.verifyAiSecret({ secret, clientIp });
  // Awaited below (verifiedKey), maybe after the body is read: a failure is not unhandled.
  asked.catch(() => undefined);
  const { method, path } = route;
  if (method !== "POST") {
    // A listing: the key's provider is checked here first (the API would list an OpenAI key's
    // models on Anthropic's surface), then the provider is asked.
    const key = await verifiedKey(asked);
    requireSurface(key.aiType, route);
    const headers = forwardedHeaders(request);
    return providerAnswer(key, route, key.aiCall?.forward({ method, path, headers }));
  }
  // While the API verifies the secret, the body is read; the provider call is then sent at once,
  // pipelined on the verification's aiCall (one round trip to the API, not two). The API makes
  // it only for a VALID key, for a path its provider serves and a model its allow-list has: the
  // checks below are this gateway's own answers (the same refusals, in each SDK's format), and a
  // request they refuse was refused by the API too, without a provider call.
  let body: string;
  let model: string;
  try {
    body = await bodyOf(request);
    model = modelOf(body);
  } catch (error) {
    // The secret's refusal comes before what is wrong with the body.
    await verifiedKey(asked);
    throw error;
  }
  const forwarding = asked.aiCall.forward({
    method,
    path,
    headers: forwardedHeaders(request),
    body,
  });
  // Settled here or below; never an unhandled rejection when the verification refuses.
  forwarding.catch(() => undefined);
  const key = await verifiedKey(asked);
  requireSurface(key.aiType, route);
  requireModelAllowed(key, model);
  return providerAnswer(key, route, forwarding);
}

export default {
  async fetch(request, env): Promise<Response> {
    const requestId = crypto.randomUUID();
    const path = new URL(request.url).pathname;
    const surface: Surface = surfaceOf(path, request.headers);
    let response: Response;
    try {
      response = await serve(request, env, routeOf(request.method, path, surface));
      // The provider's answer as it came (status, body stream), with headers this Worker may add to.
      response = new Response(response.body, response);
    } catch (error) {
      if (!(error instanceof AiError)) {
        console.error(
          JSON.stringify({
            level: "error",
            message: "unhandled error",
            requestId,
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          }),
        );
      }
      const refusal =
        error instanceof AiError
          ? error
          : new AiError(502, "gateway_error", "The AI gateway failed; try again");
      response = errorResponse(surface, refusal, requestId);
    }
    response.headers.set("x-gateway-request-id", requestId);
    return response;
  },
} satisfies ExportedHandler<Env>;
