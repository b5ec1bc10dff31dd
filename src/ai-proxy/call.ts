import { RpcTarget } from "cloudflare:workers";
import { KeyringError } from "../crypto/seal";
import { inLazySession } from "../db/session";
import type { Bindings } from "../env";
import { log } from "../http/log";
import { proxyAiRequest, type VerifiedAiKey } from "./proxy";
import { AiCallRequestSchema, type AiProxyAnswer } from "./schemas";

/**
 * What the gateway may do with a secret the API just verified: call the key's provider. A
 * VALID answer of `KeyVerifier.verifyAiSecret` over RPC carries one (`aiCall`), an object that
 * lives in the API Worker with the key it was made for; the gateway holds only a stub. It cannot
 * make one for another key or repo, so the API takes no key id from it, and the secret is not
 * verified (or counted against the key's rate limit) a second time. docs/ai-gateway.md.
 */
export class AiCall extends RpcTarget {
  readonly #env: Bindings;
  readonly #key: VerifiedAiKey;
  readonly #waitUntil: (promise: Promise<unknown>) => void;

  constructor(env: Bindings, key: VerifiedAiKey, waitUntil: (promise: Promise<unknown>) => void) {
    super();
    this.#env = env;
    this.#key = key;
    this.#waitUntil = waitUntil;
  }

  /** The provider's Response for one request (its body a stream), or why none was asked for. */
  async forward(input: unknown): Promise<AiProxyAnswer> {
    const parsed = AiCallRequestSchema.safeParse(input);
    if (!parsed.success) {
      return {
        success: false,
        status: 400,
        code: "BAD_REQUEST",
        message: "Not a request the AI proxy takes",
      };
    }
    try {
      // As KeyVerifier: the nearest replica; a remembered provider key reads nothing.
      const { env } = inLazySession(this.#env, "first-unconstrained");
      return await proxyAiRequest(env, this.#key, parsed.data, this.#waitUntil);
    } catch (error) {
      if (!(error instanceof KeyringError)) {
        log.error("unhandled error in AiCall", { keyId: this.#key.keyId, error });
      }
      return {
        success: false,
        status: 503,
        code: "SERVICE_UNAVAILABLE",
        message: "The AI proxy is unavailable; try again later",
      };
    }
  }
}
