import * as z from "zod";
import { RoleSchema } from "../access/roles";
import { CursorParamSchema, PageLimitSchema } from "../http/pages";
import { NameSchema, TimestampSchema, UserIdSchema, UuidSchema } from "../http/schemas";

export const AccessTypeSchema = RoleSchema.meta({
  id: "AccessType",
  description: "What the key may do at the storage gateway",
});

export const RepoParamsSchema = z.object({
  repoId: UuidSchema,
});

export const RepoKeyParamsSchema = RepoParamsSchema.extend({
  apikeyId: UuidSchema,
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
  .meta({ examples: ["2027-06-30T00:00:00Z"] });

export const CreateStorageKeyBodySchema = z
  .strictObject({
    // Flashback's client repeats the path's repoId in the body.
    repoId: UuidSchema.optional().meta({ description: "If sent, must equal the path's repoId" }),
    name: NameSchema,
    accessType: AccessTypeSchema,
    expiresAt: ExpiresAtSchema.optional(),
  })
  .meta({ id: "CreateStorageKeyRequest" });

const atLeastOne = (body: Record<string, unknown>) =>
  Object.values(body).some((value) => value !== undefined);

export const UpdateStorageKeyBodySchema = z
  .strictObject({
    name: NameSchema.optional(),
    accessType: AccessTypeSchema.optional(),
    status: KeyStatusSchema.optional(),
    expiresAt: ExpiresAtSchema.nullable()
      .optional()
      .meta({ description: "null clears the expiry" }),
  })
  .refine(atLeastOne, "must change at least one of name, accessType, status, expiresAt")
  .meta({ id: "UpdateStorageKeyRequest" });

export const RollKeyBodySchema = z
  .strictObject({
    gracePeriodSeconds: z
      .int("must be a whole number of seconds")
      .min(0, "must be at least 0")
      .max(604_800, "must be at most 604800 (7 days)")
      .optional()
      .meta({ description: "How long the previous secret keeps working (default 0: not at all)" }),
  })
  .meta({ id: "RollKeyRequest" });

export const RolledKeySchema = z
  .object({
    success: z.literal(true),
    id: UuidSchema,
    key: z.string(),
    secret: z.string().meta({ description: "The new secret, shown once" }),
    previousSecretExpiresAt: TimestampSchema.nullable().meta({
      description: "Until when the previous secret still works; null when it stopped at once",
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
  expiresAt: TimestampSchema.nullable(),
  lastUsedAt: TimestampSchema.nullable().meta({
    description: "When a gateway last verified the key (written at most once a minute)",
  }),
  previousSecretExpiresAt: TimestampSchema.nullable().meta({
    description: "Until when a rolled key's previous secret works; null when it does not",
  }),
};

export const CreatedKeySchema = z
  .object({
    success: z.literal(true),
    id: UuidSchema,
    key: z.string().meta({ examples: ["FBAKQ7ZK4M2X9B1C8D3E"] }),
    secret: z.string().meta({ description: "Shown once; store it now" }),
  })
  .meta({ id: "CreatedStorageKey" });

export const StorageKeySchema = z
  .object({
    id: UuidSchema,
    name: z.string(),
    accessType: AccessTypeSchema,
    key: z.string(),
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
