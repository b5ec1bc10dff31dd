import { WorkerEntrypoint } from "cloudflare:workers";
import type * as z from "zod";
import { AiCall } from "../ai-proxy/call";
import { KeyringError, keyringFrom } from "../crypto/seal";
import { inLazySession } from "../db/session";
import type { Bindings } from "../env";
import { ApiError } from "../http/error";
import { log } from "../http/log";
import { parseAsIs } from "../http/precompiled";
import { validationError } from "../http/validation-error";
import { RPC_CALLER, recordVerification } from "../usage/recorder";
import { verifyAiSecret } from "./ai";
import { ChunkSigner } from "./chunks";
import { verifyS3Request } from "./s3";
import {
  VerifyAiRequestSchema,
  type VerifyAiResponse,
  VerifyS3RequestSchema,
  type VerifyS3Response,
} from "./schemas";

/** A binding carries no token: refusals naming no key count under one caller, "rpc". */
const OVER_RPC = { transport: "rpc" as const, caller: RPC_CALLER };

/** What the binding answers about an S3 request: the endpoint's answer, and a chunk signer. */
export type S3Decision = VerifyS3Response & { chunkSigner?: ChunkSigner };

/** What the binding answers about an AI secret: the endpoint's answer, and for a VALID one the
 * AI gateway's way to call the key's provider (src/ai-proxy/call.ts). */
export type AiDecision = VerifyAiResponse & { aiCall?: AiCall };

/** What the HTTP endpoints answer with a non-2xx status, as a value (RPC has no status). */
export interface VerifyFailure {
  success: false;
  message: string;
  code: string;
  requestId: string;
  issues?: { path: string; message: string }[];
}

/**
 * The verification plane over a service binding: another Worker calls
 * `env.KEY_VERIFIER.verifyS3Request(input)` with no network hop and no token (the binding is
 * the authorization). Each method answers exactly what its HTTP endpoint answers; a request
 * the endpoint would refuse (400, 503) comes back as that error envelope.
 *
 * Like the endpoints, each call reads from the nearest D1 replica (a session started
 * `first-unconstrained`; RPC carries no bookmark). A revocation reaches a verification within
 * VERIFY_CACHE_TTL_SECONDS (the per-isolate key memory) plus the replica's lag behind the primary.
 */
export class KeyVerifier extends WorkerEntrypoint<Bindings> {
  /**
   * For a signed streaming upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]), a VALID answer
   * also has `chunkSigner`: a stub whose `verify(links)` checks the chunk signatures in order.
   */
  verifyS3Request(input: unknown): Promise<S3Decision | VerifyFailure> {
    return this.#run(VerifyS3RequestSchema, input, async (env, valid, waitUntil) => {
      const decision = await verifyS3Request(env, valid, waitUntil);
      recordVerification(env, waitUntil, "storage", OVER_RPC, decision);
      const { signedStream, ...answer } = decision;
      return signedStream ? { ...answer, chunkSigner: new ChunkSigner(signedStream) } : answer;
    });
  }

  /** A VALID answer also has `aiCall`: a stub whose `forward(request)` calls the key's provider. */
  verifyAiSecret(input: unknown): Promise<AiDecision | VerifyFailure> {
    return this.#run(VerifyAiRequestSchema, input, async (env, valid, waitUntil) => {
      const answer = await verifyAiSecret(env, valid, waitUntil);
      recordVerification(env, waitUntil, "ai", OVER_RPC, answer);
      return answer.valid
        ? { ...answer, aiCall: new AiCall(this.env, answer, this.#waitUntil) }
        : answer;
    });
  }

  readonly #waitUntil = (promise: Promise<unknown>) => this.ctx.waitUntil(promise);

  async #run<S extends z.ZodType, R>(
    schema: S,
    input: unknown,
    verify: (
      env: Bindings,
      valid: z.output<S>,
      waitUntil: (promise: Promise<unknown>) => void,
    ) => Promise<R>,
  ): Promise<R | VerifyFailure> {
    try {
      keyringFrom(this.env.ENCRYPTION_KEYS);
      const parsed = parseAsIs(schema, input);
      if (!parsed.success) throw validationError(parsed.error, "json", schema);
      // The session starts with the first statement: a remembered key reads nothing.
      const { env } = inLazySession(this.env, "first-unconstrained");
      return await verify(env, parsed.data, this.#waitUntil);
    } catch (error) {
      // Only a failure names the call (its envelope, its log line).
      const requestId = crypto.randomUUID();
      const failure =
        error instanceof ApiError
          ? error
          : error instanceof KeyringError
            ? new ApiError(
                "SERVICE_UNAVAILABLE",
                "The service's encryption keys are misconfigured. Try again later.",
              )
            : undefined;
      if (!failure) {
        log.error("unhandled error in KeyVerifier", { requestId, error });
      }
      const answer = failure ?? new ApiError("INTERNAL", "Internal server error; try again later");
      return {
        success: false,
        message: answer.message,
        code: answer.code,
        requestId,
        ...(answer.issues ? { issues: answer.issues } : {}),
      };
    }
  }
}
