/**
 * The API's KeyVerifier entrypoint as this gateway calls it over its service binding. The types are the
 * entrypoints' answers (docs/ai-gateway.md), written here: the gateway shares no source with the
 * API.
 */

export type AiType = "OPENAI" | "GOOGLE" | "ANTHROPIC" | "AWS" | "OTHER";

export interface VerifiedAiKey {
  success: true;
  valid: true;
  code: "VALID";
  keyId: string;
  key: string;
  repoId: string;
  workspaceId: string;
  aiType: AiType;
  /** The models the key may ask for; absent (or null), any. */
  models?: string[] | null;
  /** RPC only: the way to the key's provider, through the API (absent: an API older than this). */
  aiCall?: AiCall;
}

export interface RefusedAiKey {
  success: true;
  valid: false;
  /** INVALID, REVOKED, DISABLED, EXPIRED or RATE_LIMITED. */
  code: string;
  message: string;
  /** A per-key rate limit's state, when that is why (reset: epoch ms). */
  ratelimit?: { limit: number; remaining: number; reset: number };
}

/** A question the API would not answer (malformed input, misconfiguration). */
export interface ApiFailure {
  success: false;
  message: string;
  code: string;
  requestId: string;
}

export type AiAnswer = VerifiedAiKey | RefusedAiKey | ApiFailure;

/**
 * An RPC call's answer before it arrives. Over a service binding the promise is also a stub for
 * what it will hold: a call on its `aiCall` is sent at once, pipelined behind the verification,
 * and fails when the answer has no `aiCall` (a refusal, an API older than this gateway).
 */
export type PendingAiAnswer = Promise<AiAnswer> & { aiCall: AiCall };

export interface KeyVerifier {
  verifyAiSecret(input: { secret: string; clientIp?: string }): PendingAiAnswer;
}

/** One request for the provider, as a verified key's AiCall takes it. */
export interface AiCallRequest {
  method: "GET" | "POST";
  /** The surface's path, as the client called it: /v1/chat/completions, /v1/messages… */
  path: string;
  /** Only content-type, accept, anthropic-version, anthropic-beta and openai-beta. */
  headers: Record<string, string>;
  /** The JSON body as the client sent it (POST). */
  body?: string;
}

/** The provider's answer (any status, its body streamed), or why none was asked for. */
export type ProxyAnswer =
  | { success: true; response: Response }
  | {
      success: false;
      /** NO_PROVIDER, UPSTREAM_UNREACHABLE, MODEL_NOT_ALLOWED, … */
      code: string;
      message: string;
      status: number;
    };

/**
 * The API's stub for calling a verified key's provider: made by the API for that key only, so
 * this Worker names no key when it uses it, and never sees the provider key.
 */
export interface AiCall {
  forward(request: AiCallRequest): Promise<ProxyAnswer>;
}
