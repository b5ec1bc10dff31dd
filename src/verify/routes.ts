import { gatewayOf } from "../auth/middleware";
import { checkKeyring } from "../crypto/require-keyring";
import type { Bindings } from "../env";
import { type DirectAnswer, directRoute } from "../http/direct";
import { defineOperation, route } from "../http/operation";
import { recordVerification } from "../usage/recorder";
import { verifyAiSecret } from "./ai";
import { verifyS3Request } from "./s3";
import {
  VerifyAiRequestSchema,
  VerifyAiResponseSchema,
  VerifyS3RequestSchema,
  VerifyS3ResponseSchema,
} from "./schemas";

const tags = ["Verification (gateways)"];

// Both only read (readOnly), from the nearest D1 replica: a revocation reaches them within
// VERIFY_CACHE_TTL_SECONDS (the per-isolate key memory) plus that replica's lag.

export const verifyS3 = defineOperation({
  method: "post",
  path: "/verify/s3",
  operationId: "verifyS3Request",
  summary:
    "Check an S3 request's SigV4 signature (header or presigned) against its storage key; needs a gateway token (scope keys:verify)",
  tags,
  body: VerifyS3RequestSchema,
  readOnly: true,
  success: {
    status: 200,
    schema: VerifyS3ResponseSchema,
    description:
      "The decision: valid with the key's repo and access level, or refused with the S3 error to answer; never a secret",
  },
});

export const verifyAi = defineOperation({
  method: "post",
  path: "/verify/ai",
  operationId: "verifyAiSecret",
  summary: "Check an AI bearer secret (fbai_sk_…); needs a gateway token (scope keys:verify)",
  tags,
  body: VerifyAiRequestSchema,
  readOnly: true,
  success: {
    status: 200,
    schema: VerifyAiResponseSchema,
    description: "The decision: valid with the key's repo and AI type, or refused; never a secret",
  },
});

const waitUntilOf =
  (c: { executionCtx: { waitUntil(promise: Promise<unknown>): void } }) =>
  (promise: Promise<unknown>) =>
    c.executionCtx.waitUntil(promise);

/** The gateway that asked: its token's subject, what refusals naming no key count under. */
type Gateway = { subject: string };

// Each operation's work, served mounted (below) and directly (src/app.ts) alike.
const answerS3: DirectAnswer<typeof verifyS3, Gateway> = async (env, body, waitUntil, gateway) => {
  const decision = await verifyS3Request(env, body, waitUntil);
  recordVerification(env, waitUntil, "storage", overHttp(gateway), decision);
  // A chunk signer is an RPC stub: over HTTP a signed stream's chunks cannot be checked.
  const { signedStream: _, ...answer } = decision;
  return answer;
};
const answerAi: DirectAnswer<typeof verifyAi, Gateway> = async (env, body, waitUntil, gateway) => {
  const answer = await verifyAiSecret(env, body, waitUntil);
  recordVerification(env, waitUntil, "ai", overHttp(gateway), answer);
  return answer;
};

const overHttp = (gateway: Gateway) => ({ transport: "http" as const, caller: gateway.subject });

export const verifyRoutes = [
  route(verifyS3, (c, input) =>
    answerS3(c.env, input.body, waitUntilOf(c), { subject: c.var.userId }),
  ),
  route(verifyAi, (c, input) =>
    answerAi(c.env, input.body, waitUntilOf(c), { subject: c.var.userId }),
  ),
];

/**
 * What app.ts mounts in front of /verify/* (requireKeyring, authenticateGateway), as the
 * direct routes check it: the keyring, then the gateway's token.
 */
const gatewayGuard = async (request: Request, env: Bindings, requestId: string) => {
  checkKeyring(env, requestId);
  return gatewayOf(env, request.headers);
};

/**
 * The verifications served in front of Hono's chain (src/http/direct.ts): a gateway's every
 * request is one, and none needs the management API's machinery.
 */
export const directVerifyRoutes = [
  directRoute(verifyS3, { guard: gatewayGuard, answer: answerS3 }),
  directRoute(verifyAi, { guard: gatewayGuard, answer: answerAi }),
];
