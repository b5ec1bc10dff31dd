import * as z from "zod";
import { AI_KEY_EXAMPLE, AI_SECRET_EXAMPLE, AiTypeSchema } from "../ai-keys/schemas";
import { TemporaryScopeSchema } from "../credentials/schemas";
import { KeyIdSchema, RepoIdSchema, TimestampSchema, WorkspaceIdSchema } from "../http/schemas";
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

// One signed upload, as the S3 gateway hands it on: a PUT of photos/cat.jpg into the example repo
// (path-style, bucket = repo id) with a CRC32 checksum, signed by the example storage key.
const BODY_SHA256_EXAMPLE = "5f2b9c1e8a7d6f4b3c2e1d0a9f8e7d6c5b4a39281706f5e4d3c2b1a098f7e6d5";
const SIGNED_HEADERS_EXAMPLE = [
  "host",
  "x-amz-checksum-crc32",
  "x-amz-content-sha256",
  "x-amz-date",
];
const CHECKSUMS_EXAMPLE = { "x-amz-checksum-crc32": "i9aeUg==" };

export const VerifyS3RequestSchema = z
  .strictObject({
    method: z
      .string()
      .regex(/^[A-Za-z]{1,16}$/, "must be an HTTP method")
      .meta({ examples: ["PUT"] }),
    url: z
      .string()
      .max(16_384)
      .regex(/^https?:\/\/[^/?#\s]+/i, "must be the absolute http(s) URL the gateway received")
      .meta({
        examples: ["https://s3.example.com/0b5a7d2e-91c4-4f3a-8e6b-5c2d1a9f7e40/photos/cat.jpg"],
      }),
    headers: z
      .record(z.string().min(1).max(256), z.string().max(16_384))
      .refine((headers) => Object.keys(headers).length <= MAX_HEADERS, {
        message: `must have at most ${MAX_HEADERS} headers`,
      })
      .meta({
        description: "The request's headers as received, name → value (names in any case)",
        examples: [
          {
            host: "s3.example.com",
            "content-type": "image/jpeg",
            "x-amz-checksum-crc32": CHECKSUMS_EXAMPLE["x-amz-checksum-crc32"],
            "x-amz-content-sha256": BODY_SHA256_EXAMPLE,
            "x-amz-date": "20261128T120000Z",
            authorization:
              "AWS4-HMAC-SHA256 Credential=FBAKQ7ZK4M2X9B1C8D3E/20261128/auto/s3/aws4_request, " +
              `SignedHeaders=${SIGNED_HEADERS_EXAMPLE.join(";")}, ` +
              "Signature=2c8a4e1f0b9d7c6a5e3f1d2b4c6a8e0f9d7b5c3a1e2f4d6b8a0c9e7f5d3b1a2c",
          },
        ],
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
  // Temporary credentials (FBTK…): the session token has expired, or is not one this service
  // issued for this access key id (tampered, missing, another credential's, parent rolled).
  TOKEN_EXPIRED: "ExpiredToken",
  INVALID_TOKEN: "InvalidToken",
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
      keyId: KeyIdSchema,
      key: z.string().meta({
        description:
          "The access key id that signed: FBAK… (a key) or FBTK… (a temporary credential, whose keyId is its parent key's and accessType its permission)",
        examples: ["FBAKQ7ZK4M2X9B1C8D3E"],
      }),
      repoId: RepoIdSchema,
      workspaceId: WorkspaceIdSchema,
      accessType: AccessTypeSchema,
      repoCreatedAt: TimestampSchema.meta({
        description: "When the key's repo was made (the gateway's ListBuckets CreationDate)",
      }),
      payloadHash: z
        .union([
          z.string().regex(/^[0-9a-f]{64}$/),
          z.literal("UNSIGNED-PAYLOAD"),
          z.literal("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
          z.literal("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
          z.literal("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
        ])
        .meta({
          description:
            "The x-amz-content-sha256 value the signature covers: the header's when header-signed; when presigned, the X-Amz-Content-Sha256 query parameter's or a signed x-amz-content-sha256 header's (if both, they agree), UNSIGNED-PAYLOAD when it has neither. The body must hash to it unless it is UNSIGNED-PAYLOAD or a STREAMING-* mode. For STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] only the request's seed signature is checked here: each chunk's signature can be checked only through the KeyVerifier binding (its answer's chunkSigner), so a gateway over HTTP must refuse such a body",
          examples: [BODY_SHA256_EXAMPLE],
        }),
      signedHeaders: z.array(z.string()).meta({
        description:
          "The lower-case names of the headers the signature covers; every x-amz-* header present is among them",
        examples: [SIGNED_HEADERS_EXAMPLE],
      }),
      checksums: z.record(z.string().regex(CHECKSUM_NAME), z.string()).meta({
        description:
          "Every x-amz-checksum-<algorithm> value the signature covers (signed headers, and a presigned URL's query), by lower-case name: the body must match each. Unsigned values are never listed, nor the parameters x-amz-checksum-algorithm, -type and -mode",
        examples: [CHECKSUMS_EXAMPLE],
      }),
      scope: TemporaryScopeSchema.optional(),
    }),
    z.object({
      success: z.literal(true),
      valid: z.literal(false),
      code: refusalCodes(Object.keys(S3_REFUSALS) as [S3Refusal, ...S3Refusal[]]),
      s3Error: z
        .enum([...new Set(Object.values(S3_REFUSALS))] as [string, ...string[]])
        .meta({ description: "The S3 error code the gateway should answer with" }),
      message: z.string().meta({
        description: "Why, for the gateway's logs; never a secret",
        examples: ["No such access key id"],
      }),
    }),
  ])
  .meta({ id: "VerifyS3Response" });

export const VerifyAiRequestSchema = z
  .strictObject({
    secret: z
      .string()
      .min(1)
      .max(512)
      .meta({
        description:
          'The bearer string the client sent (`fbai_sk_…`); a leading "Bearer " is accepted',
        examples: [AI_SECRET_EXAMPLE],
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
      keyId: KeyIdSchema,
      key: z.string().meta({ examples: [AI_KEY_EXAMPLE] }),
      repoId: RepoIdSchema,
      workspaceId: WorkspaceIdSchema,
      aiType: AiTypeSchema,
      models: z
        .array(z.string())
        .optional()
        .meta({
          description:
            "The only models the key may ask for (its allow-list); absent: any model. The gateway refuses others (403)",
          examples: [["gpt-4o-mini"]],
        }),
    }),
    z.object({
      success: z.literal(true),
      valid: z.literal(false),
      code: refusalCodes(AI_REFUSALS),
      message: z.string().meta({
        description: "Why, for the gateway's logs; never a secret",
        examples: ["Not an AI secret this service issued (format or checksum)"],
      }),
    }),
  ])
  .meta({ id: "VerifyAiResponse" });

export type VerifyS3Request = z.output<typeof VerifyS3RequestSchema>;
export type VerifyS3Response = z.output<typeof VerifyS3ResponseSchema>;
export type VerifyAiRequest = z.output<typeof VerifyAiRequestSchema>;
export type VerifyAiResponse = z.output<typeof VerifyAiResponseSchema>;
