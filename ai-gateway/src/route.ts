import type { AiType } from "./api";
import { AiError, type Surface } from "./errors";

export type Operation = "chat.completions" | "embeddings" | "models" | "messages";

export interface Route {
  surface: Surface;
  operation: Operation;
  method: "GET" | "POST";
  path: string;
}

const ROUTES: Record<string, Omit<Route, "surface" | "path">> = {
  "/v1/chat/completions": { operation: "chat.completions", method: "POST" },
  "/v1/embeddings": { operation: "embeddings", method: "POST" },
  "/v1/models": { operation: "models", method: "GET" },
  "/v1/messages": { operation: "messages", method: "POST" },
};

/**
 * Anthropic's surface is /v1/messages, and /v1/models when the client speaks Anthropic (its SDK
 * always sends anthropic-version); everything else answers in OpenAI's format.
 */
export function surfaceOf(path: string, headers: Headers): Surface {
  if (path === "/v1/messages" || path.startsWith("/v1/messages/")) return "anthropic";
  if (path === "/v1/models" && headers.has("anthropic-version")) return "anthropic";
  return "openai";
}

/** The operation a request asks for, or the 404 / 405 its surface would answer. */
export function routeOf(method: string, path: string, surface: Surface): Route {
  const route = ROUTES[path];
  if (!route) {
    throw new AiError(404, "not_found", `No such endpoint: ${method} ${path.slice(0, 100)}`);
  }
  if (method !== route.method) {
    throw new AiError(405, "method_not_allowed", `${path} takes ${route.method}`, {
      Allow: route.method,
    });
  }
  return { ...route, surface, path };
}

/** Which surface serves each provider's keys; AWS (Bedrock) has none here. */
const SURFACE_OF_TYPE: Record<AiType, Surface | undefined> = {
  OPENAI: "openai",
  // Gemini's OpenAI-compatible endpoint (the repository's GOOGLE provider base URL).
  GOOGLE: "openai",
  OTHER: "openai",
  ANTHROPIC: "anthropic",
  AWS: undefined,
};

/** Refuses a key whose provider does not speak this surface, saying which one it does. */
export function requireSurface(aiType: AiType, route: Route): void {
  const surface = SURFACE_OF_TYPE[aiType];
  if (surface === undefined) {
    throw new AiError(
      501,
      "provider_not_supported",
      `This key is for ${aiType}: AWS Bedrock is not supported by this gateway (docs/ai-gateway.md)`,
    );
  }
  // Listing models is the one path both surfaces have: it lists the key's own provider's.
  if (route.operation === "models" && aiType === "ANTHROPIC") return;
  if (surface !== route.surface) {
    const use = surface === "anthropic" ? "POST /v1/messages" : "/v1/chat/completions";
    throw new AiError(
      403,
      "wrong_provider",
      `This key is for ${aiType}, not for ${route.path}; call ${use} with it`,
    );
  }
}

/** The secret the client sent: Bearer for both, or x-api-key for Anthropic's surface. */
export function secretOf(headers: Headers, surface: Surface): string {
  const apiKey = surface === "anthropic" ? headers.get("x-api-key")?.trim() : undefined;
  const bearer = /^Bearer +(\S+)\s*$/i.exec(headers.get("authorization") ?? "")?.[1];
  const secret = apiKey || bearer;
  if (!secret) {
    const where =
      surface === "anthropic"
        ? "the x-api-key header (or Authorization: Bearer)"
        : "Authorization: Bearer";
    throw new AiError(401, "missing_api_key", `No API key: send the fbai_sk_ secret in ${where}`);
  }
  return secret;
}
