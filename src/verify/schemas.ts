import * as z from "zod";
import { AiTypeSchema } from "../ai-keys/schemas";
import { UuidSchema } from "../http/schemas";
import { AccessTypeSchema } from "../keys/schemas";
import { CHECKSUM_NAME } from "./sigv4";

const ClientIpSchema = z
  .string()
  .min(1)
  .max(64)
  .meta({
    description:
      "The address of the client the gateway is serving: failures are rate-limited per address too",
    examples: ["203.0.113.7"],
  });

const MAX_HEADERS = 200;

export const VerifyS3RequestSchema = z
  .strictObject({
    method: z
      .string()
      .regex(/^[A-Za-z]{1,16}$/, "must be an HTTP method")
      .meta({ examples: ["GET"] }),
    url: z
      .string()
      .max(16_384)
      .regex(/^https?:\/\/[^/?#\s]+/i, "must be the absolute http(s) URL the gateway received")
      .meta({ examples: ["https://s3.example.com/0b5a…/photos/cat.jpg"] }),
    headers: z
      .record(z.string().min(1).max(256), z.string().max(16_384))
      .refine((headers) => Object.keys(headers).length <= MAX_HEADERS, {
        message: `must have at most ${MAX_HEADERS} headers`,
      })
      .meta({
        description: "The request's headers as received, name → value (names in any case)",
        examples: [{ host: "s3.example.com", "x-amz-date": "20261128T120000Z" }],
      }),
    requiredAccess: AccessTypeSchema.optional().meta({
      description: "The least access level the operation needs; the key must have at least it",
    }),
    clientIp: ClientIpSchema.optional(),
  })
  .meta({ id: "VerifyS3Request" });

export const S3_REFUSALS = {
  INVALID_ACCESS_KEY: "InvalidAccessKeyId",
  SIGNATURE_MISMATCH: "SignatureDoesNotMatch",
  REQUEST_TIME_SKEWED: "RequestTimeTooSkewed",
  REQUEST_EXPIRED: "AccessDenied",
  MALFORMED: "AuthorizationHeaderMalformed",
  // No signature at all (no Authorization header, no presigned query): S3's anonymous refusal.
  NOT_SIGNED: "AccessDenied",
  // An x-amz-* header the signature does not cover (S3's HeadersNotSigned).
  HEADERS_NOT_SIGNED: "AccessDenied",
  INSUFFICIENT_ACCESS: "AccessDenied",
  REVOKED: "InvalidAccessKeyId",
  // As S3 answers for an IAM access key made inactive.
  DISABLED: "InvalidAccessKeyId",
  EXPIRED: "AccessDenied",
  RATE_LIMITED: "SlowDown",
} as const;
export type S3Refusal = keyof typeof S3_REFUSALS;

const refusalCodes = <T extends string>(codes: readonly [T, ...T[]]) =>
  z.enum(codes).meta({ description: "Why the request is refused" });

export const VerifyS3ResponseSchema = z
  .union([
    z.object({
      success: z.literal(true),
      valid: z.literal(true),
      code: z.literal("VALID"),
      keyId: UuidSchema,
      key: z.string().meta({ examples: ["FBAKQ7ZK4M2X9B1C8D3E"] }),
      repoId: UuidSchema,
      workspaceId: UuidSchema,
      accessType: AccessTypeSchema,
      payloadHash: z
        .union([
          z.string().regex(/^[0-9a-f]{64}$/),
          z.literal("UNSIGNED-PAYLOAD"),
          z.literal("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ])
        .meta({
          description:
            "The x-amz-content-sha256 value the signature covers: the header's when header-signed; when presigned, the X-Amz-Content-Sha256 query parameter's or a signed x-amz-content-sha256 header's (if both, they agree), UNSIGNED-PAYLOAD when it has neither. The body must hash to it unless it is UNSIGNED-PAYLOAD or STREAMING-UNSIGNED-PAYLOAD-TRAILER",
          examples: ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
        }),
      signedHeaders: z.array(z.string()).meta({
        description:
          "The lower-case names of the headers the signature covers; every x-amz-* header present is among them",
        examples: [["host", "x-amz-content-sha256", "x-amz-date"]],
      }),
      checksums: z.record(z.string().regex(CHECKSUM_NAME), z.string()).meta({
        description:
          "Every x-amz-checksum-<algorithm> value the signature covers (signed headers, and a presigned URL's query), by lower-case name: the body must match each. Unsigned values are never listed, nor the parameters x-amz-checksum-algorithm, -type and -mode",
        examples: [{ "x-amz-checksum-crc32": "i9aeUg==" }],
      }),
    }),
    z.object({
      success: z.literal(true),
      valid: z.literal(false),
      code: refusalCodes(Object.keys(S3_REFUSALS) as [S3Refusal, ...S3Refusal[]]),
      s3Error: z
        .enum([...new Set(Object.values(S3_REFUSALS))] as [string, ...string[]])
        .meta({ description: "The S3 error code the gateway should answer with" }),
      message: z.string().meta({ description: "Why, for the gateway's logs; never a secret" }),
    }),
  ])
  .meta({ id: "VerifyS3Response" });

export const VerifyAiRequestSchema = z
  .strictObject({
    secret: z.string().min(1).max(512).meta({
      description:
        'The bearer string the client sent (`fbai_sk_…`); a leading "Bearer " is accepted',
    }),
    clientIp: ClientIpSchema.optional(),
  })
  .meta({ id: "VerifyAiRequest" });

export const AI_REFUSALS = ["INVALID", "REVOKED", "DISABLED", "EXPIRED", "RATE_LIMITED"] as const;
export type AiRefusal = (typeof AI_REFUSALS)[number];

export const VerifyAiResponseSchema = z
  .union([
    z.object({
      success: z.literal(true),
      valid: z.literal(true),
      code: z.literal("VALID"),
      keyId: UuidSchema,
      key: z.string().meta({ examples: ["FB_AI_3kTMd8Qx0pZr7LwV2nYc9bHs"] }),
      repoId: UuidSchema,
      workspaceId: UuidSchema,
      aiType: AiTypeSchema,
    }),
    z.object({
      success: z.literal(true),
      valid: z.literal(false),
      code: refusalCodes(AI_REFUSALS),
      message: z.string(),
    }),
  ])
  .meta({ id: "VerifyAiResponse" });

export type VerifyS3Request = z.output<typeof VerifyS3RequestSchema>;
export type VerifyS3Response = z.output<typeof VerifyS3ResponseSchema>;
export type VerifyAiRequest = z.output<typeof VerifyAiRequestSchema>;
export type VerifyAiResponse = z.output<typeof VerifyAiResponseSchema>;
