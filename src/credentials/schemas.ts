import * as z from "zod";
import { KeyIdSchema, NameSchema, TimestampSchema } from "../http/schemas";

/** R2 keys are at most 1024 bytes, and the gateway's start with "<repo id>/". */
const MAX_KEY_BYTES = 1024 - 37;
/** The whole scope travels in the session token, sent with every request: kept small. */
export const MAX_SCOPE_BYTES = 4096;
export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 43_200;
export const DEFAULT_TTL_SECONDS = 900;

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;
/** What no object key the gateway stores can hold (XML 1.0 cannot carry it), and lone surrogates. */
const NOT_A_KEY_CHARACTER =
  /[^\t\n\r\u0020-\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * An object key or key prefix as the gateway stores it: compared exactly, code unit by code
 * unit (no decoding, no Unicode normalisation). "." and ".." segments are refused: the gateway's
 * URLs resolve them, so a scope naming one would not mean what it says.
 */
const scopeKey = (what: string) =>
  z
    .string()
    .min(1, `must be a non-empty ${what}`)
    .refine((key) => utf8Bytes(key) <= MAX_KEY_BYTES, `must be at most ${MAX_KEY_BYTES} bytes`)
    .refine(
      (key) => !NOT_A_KEY_CHARACTER.test(key),
      "must not contain control characters, U+FFFE, U+FFFF or lone surrogates",
    )
    .refine(
      (key) => !key.split("/").some((segment) => segment === "." || segment === ".."),
      'must not contain "." or ".." segments',
    );

export const PermissionSchema = z.enum(["READ", "WRITE"]).meta({
  id: "TemporaryPermission",
  description:
    "READ: get, head and list; WRITE: also put, copy, multipart and delete. At most the parent key's access",
});

export const TemporaryCredentialsBodySchema = z
  .strictObject({
    permission: PermissionSchema,
    prefixes: z
      .array(scopeKey("key prefix"))
      .max(10, "must have at most 10 prefixes")
      .optional()
      .meta({
        description:
          "Key prefixes the credential may read or write under (and list within); compared exactly as stored",
        examples: [["builds/1234/"]],
      }),
    objects: z
      .array(scopeKey("object key"))
      .max(100, "must have at most 100 objects")
      .optional()
      .meta({
        description:
          "Exact object keys the credential may reach. Neither prefixes nor objects: the whole repository",
        examples: [["uploads/avatar-7.png"]],
      }),
    ttlSeconds: z
      .int("must be a whole number of seconds")
      .min(MIN_TTL_SECONDS, `must be at least ${MIN_TTL_SECONDS}`)
      .max(MAX_TTL_SECONDS, `must be at most ${MAX_TTL_SECONDS} (12 hours)`)
      .optional()
      .meta({
        description:
          "Lifetime in seconds (default 900); cut short at the parent key's expiresAt if that comes first",
        examples: [900],
      }),
    name: NameSchema.optional().meta({
      description: "Shown in the audit trail",
      examples: ["build 1234"],
    }),
  })
  .refine(
    (body) =>
      utf8Bytes(JSON.stringify([body.prefixes ?? [], body.objects ?? []])) <= MAX_SCOPE_BYTES,
    {
      path: ["objects"],
      message: `prefixes and objects together must be at most ${MAX_SCOPE_BYTES} bytes (as JSON)`,
    },
  )
  .meta({ id: "TemporaryCredentialsRequest" });

/** What a temporary credential may reach: the answer at issue and every VALID verification. */
export const TemporaryScopeFields = {
  permission: PermissionSchema,
  prefixes: z.array(z.string()).meta({
    description: "Key prefixes it may reach; with objects empty too, the whole repository",
    examples: [["builds/1234/"]],
  }),
  objects: z.array(z.string()).meta({
    description: "Exact object keys it may reach",
    examples: [[]],
  }),
  expiration: TimestampSchema.meta({
    description: "When it stops working (to the second)",
    examples: ["2026-11-28T12:15:00.000Z"],
  }),
  parentKeyId: KeyIdSchema.meta({
    description: "The storage key it was issued from: deleting, disabling or rolling it ends it",
  }),
};

export const TemporaryScopeSchema = z.object(TemporaryScopeFields).meta({
  id: "TemporaryScope",
  description:
    "Present only for a temporary credential: the gateway must hold every object key and list prefix to it",
});

export const TemporaryCredentialsSchema = z
  .object({
    success: z.literal(true),
    accessKeyId: z.string().meta({
      description: "FBTK…: a temporary credential's id, as AWS's ASIA… beside AKIA…",
      examples: ["FBTKR4W9N2Q7X1C5V8B3"],
    }),
    secretAccessKey: z.string().meta({
      description: "Shown once; store it now",
      examples: ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
    }),
    sessionToken: z.string().meta({
      description:
        "Sent with every request as X-Amz-Security-Token (a signed header, or a presigned URL's query): AWS_SESSION_TOKEN",
      examples: ["FBST1.v1.q1w2e3r4t5y6u7i8.ZXhhbXBsZSBzZWFsZWQgdG9rZW4"],
    }),
    ...TemporaryScopeFields,
  })
  .meta({ id: "TemporaryCredentials" });

export type TemporaryCredentialsBody = z.output<typeof TemporaryCredentialsBodySchema>;
export type TemporaryScope = z.output<typeof TemporaryScopeSchema>;
