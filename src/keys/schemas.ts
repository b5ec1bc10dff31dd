import * as z from "zod";
import { RoleSchema } from "../access/roles";
import { CursorParamSchema, PageLimitSchema } from "../http/pages";
import {
  KeyIdSchema,
  NameSchema,
  RepoIdSchema,
  TimestampSchema,
  UserIdSchema,
} from "../http/schemas";
import { RateLimitSchema } from "../limits/schemas";

const NAME_EXAMPLE = "CI uploader";
const KEY_EXAMPLE = "FBAKQ7ZK4M2X9B1C8D3E";
// The storage secret form (src/crypto/credentials.ts) with a checksum that does not match, so a
// secret scanner does not take the documentation's example for a leaked secret.
const SECRET_EXAMPLE = "fbsk_4fJq8ZrT2mLx9WbN6cVh1KpD3sYg7000000";

export const AccessTypeSchema = RoleSchema.meta({
  id: "AccessType",
  description: "What the key may do at the storage gateway",
});

export const RepoParamsSchema = z.object({
  repoId: RepoIdSchema,
});

export const RepoKeyParamsSchema = RepoParamsSchema.extend({
  apikeyId: KeyIdSchema,
});

/** What a key's owner can switch: ACTIVE keys verify, INACTIVE ones are refused (DISABLED). */
export const KeyStatusSchema = z
  .enum(["ACTIVE", "INACTIVE"])
  .meta({ id: "KeyStatus", description: "ACTIVE keys verify; INACTIVE ones are refused" });

/** What a list shows: the switch, or EXPIRED once expiresAt has passed. */
export const KeyStateSchema = z.enum(["ACTIVE", "INACTIVE", "EXPIRED"]).meta({
  id: "KeyState",
  description: "EXPIRED once expiresAt has passed, whatever the status",
});

const MAX_LIFETIME_MS = 10 * 366 * 24 * 3600 * 1000;

/** An expiry: ISO 8601 with a time zone, in the future, at most 10 years out; stored in UTC. */
export const ExpiresAtSchema = z.iso
  // abort: the checks below only make sense of a real date-time.
  .datetime({ offset: true, abort: true, error: "must be an ISO 8601 date-time with a time zone" })
  .refine((at) => Date.parse(at) > Date.now(), { abort: true, error: "must be in the future" })
  .refine((at) => Date.parse(at) <= Date.now() + MAX_LIFETIME_MS, {
    abort: true,
    error: "must be at most 10 years away",
  })
  // Stored in UTC, so expiries compare as strings (in SQL and in src/db/key-state.ts).
  .overwrite((at) => {
    const time = Date.parse(at);
    return Number.isNaN(time) ? at : new Date(time).toISOString();
  })
  // Far enough out to stay a valid example for years; test/openapi.test.ts says when it no longer is.
  .meta({ examples: ["2030-12-31T23:59:59Z"] });

/** A key's rate limit as create and update take it; null (or absent at create) is none. */
export const KeyRateLimitField = RateLimitSchema.nullable()
  .optional()
  .meta({ description: "Verifications allowed per period; null removes the limit" });

export const CreateStorageKeyBodySchema = z
  .strictObject({
    // Flashback's client repeats the path's repoId in the body.
    repoId: RepoIdSchema.optional().meta({ description: "If sent, must equal the path's repoId" }),
    name: NameSchema.meta({ examples: [NAME_EXAMPLE] }),
    accessType: AccessTypeSchema,
    expiresAt: ExpiresAtSchema.optional(),
    ratelimit: KeyRateLimitField,
  })
  .meta({ id: "CreateStorageKeyRequest" });

const atLeastOne = (body: Record<string, unknown>) =>
  Object.values(body).some((value) => value !== undefined);

export const UpdateStorageKeyBodySchema = z
  .strictObject({
    name: NameSchema.optional().meta({ examples: [NAME_EXAMPLE] }),
    accessType: AccessTypeSchema.optional(),
    status: KeyStatusSchema.optional(),
    expiresAt: ExpiresAtSchema.nullable()
      .optional()
      .meta({ description: "null clears the expiry" }),
    ratelimit: KeyRateLimitField,
  })
  .refine(atLeastOne, "must change at least one of name, accessType, status, expiresAt, ratelimit")
  .meta({ id: "UpdateStorageKeyRequest" });

export const RollKeyBodySchema = z
  .strictObject({
    gracePeriodSeconds: z
      .int("must be a whole number of seconds")
      .min(0, "must be at least 0")
      .max(604_800, "must be at most 604800 (7 days)")
      .optional()
      .meta({
        description: "How long the previous secret keeps working (default 0: not at all)",
        examples: [3600],
      }),
  })
  .meta({ id: "RollKeyRequest" });

export const RolledKeySchema = z
  .object({
    success: z.literal(true),
    id: KeyIdSchema,
    key: z.string().meta({
      description: "Unchanged: a storage key's access key id, or an AI key's FB_AI_ key",
      examples: [KEY_EXAMPLE],
    }),
    secret: z
      .string()
      .meta({ description: "The new secret, shown once", examples: [SECRET_EXAMPLE] }),
    previousSecretExpiresAt: TimestampSchema.nullable().meta({
      description: "Until when the previous secret still works; null when it stopped at once",
      examples: ["2026-11-28T13:00:00.000Z"],
    }),
  })
  .meta({ id: "RolledKey" });

/** `?limit=&cursor=`: without either, the whole list (Flashback's shape); with one, a page. */
export const KeyListQuerySchema = z.object({
  limit: PageLimitSchema.optional().meta({
    description: "Keys per page, 1 to 100; a page of 50 when only cursor is given",
  }),
  cursor: CursorParamSchema.optional(),
});

/** The lifecycle fields every listed key has, storage or AI. */
export const KeyLifecycleFields = {
  status: KeyStateSchema,
  expiresAt: TimestampSchema.nullable().meta({ examples: ["2030-12-31T23:59:59.000Z"] }),
  lastUsedAt: TimestampSchema.nullable().meta({
    description: "When a gateway last verified the key (written at most once a minute)",
    examples: ["2026-11-28T12:00:00.000Z"],
  }),
  usage24h: z
    .int()
    .nonnegative()
    .meta({
      description:
        "VALID verifications in the last 24 hours (GET …/usage has the series and refusals)",
      examples: [1280],
    }),
  previousSecretExpiresAt: TimestampSchema.nullable().meta({
    description: "Until when a rolled key's previous secret works; null when it does not",
    examples: [null],
  }),
  disabledReason: z.enum(["LEAKED"]).nullable().meta({
    description: "LEAKED: disabled as its secret was found in public; roll before enabling",
  }),
  leakedAt: TimestampSchema.nullable().meta({ description: "When its secret was found in public" }),
  leakSource: z.string().nullable().meta({ description: "GitHub's source, or self_report" }),
  leakUrl: z.string().nullable(),
  ratelimit: RateLimitSchema.nullable().meta({
    description: "The key's rate limit (docs/rate-limits.md); null when it has none",
  }),
};

export const CreatedKeySchema = z
  .object({
    success: z.literal(true),
    id: KeyIdSchema,
    key: z.string().meta({ examples: [KEY_EXAMPLE] }),
    secret: z
      .string()
      .meta({ description: "Shown once; store it now", examples: [SECRET_EXAMPLE] }),
  })
  .meta({ id: "CreatedStorageKey" });

export const StorageKeySchema = z
  .object({
    id: KeyIdSchema,
    name: z.string().meta({ examples: [NAME_EXAMPLE] }),
    accessType: AccessTypeSchema,
    key: z.string().meta({ examples: [KEY_EXAMPLE] }),
    createdAt: TimestampSchema,
    createdBy: UserIdSchema,
    ...KeyLifecycleFields,
  })
  .meta({ id: "StorageKey" });

export const NextCursorSchema = z
  .string()
  .nullable()
  .meta({ description: "Pass back as cursor for the next page; null on the last page" });

export const StorageKeyListSchema = z
  .object({
    success: z.literal(true),
    keys: z.array(StorageKeySchema),
    nextCursor: NextCursorSchema,
  })
  .meta({ id: "StorageKeyList" });
