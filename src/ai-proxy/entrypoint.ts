import { WorkerEntrypoint } from "cloudflare:workers";
import { KeyringError, keyringFrom } from "../crypto/seal";
import { inLazySession } from "../db/session";
import type { Bindings } from "../env";
import { ApiError } from "../http/error";
import { log } from "../http/log";
import { proxyAiRequest } from "./proxy";
import { type AiProxyAnswer, AiProxyRequestSchema } from "./schemas";

/**
 * The AI gateway's upstream call, over a service binding (`env.AI_PROXY.forward(request)`): the
 * API holds the repositories' provider keys, so it makes the call and returns the provider's
 * Response, its body a stream the gateway passes on. docs/ai-gateway.md.
 */
export class AiProxy extends WorkerEntrypoint<Bindings> {
  async forward(input: unknown): Promise<AiProxyAnswer> {
    const parsed = AiProxyRequestSchema.safeParse(input);
    if (!parsed.success) {
      return {
        success: false,
        status: 400,
        code: "BAD_REQUEST",
        message: "Not a request the AI proxy takes",
      };
    }
    try {
      keyringFrom(this.env.ENCRYPTION_KEYS);
      // As KeyVerifier: the nearest replica; a remembered key reads nothing.
      const { env } = inLazySession(this.env, "first-unconstrained");
      return await proxyAiRequest(env, parsed.data, (promise) => this.ctx.waitUntil(promise));
    } catch (error) {
      const unavailable = error instanceof KeyringError || error instanceof ApiError;
      if (!unavailable) log.error("unhandled error in AiProxy", { error });
      return {
        success: false,
        status: 503,
        code: "SERVICE_UNAVAILABLE",
        message: "The AI proxy is unavailable; try again later",
      };
    }
  }
}
