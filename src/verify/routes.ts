import { defineOperation, route } from "../http/operation";
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

export const verifyRoutes = [
  route(verifyS3, async (c, input) => {
    // A chunk signer is an RPC stub: over HTTP a signed stream's chunks cannot be checked.
    const { signedStream: _, ...answer } = await verifyS3Request(c.env, input.body, waitUntilOf(c));
    return answer;
  }),
  route(verifyAi, (c, input) => verifyAiSecret(c.env, input.body, waitUntilOf(c))),
];
