import * as z from "zod";
import { RoleSchema } from "../access/roles";
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

export const CreateStorageKeyBodySchema = z
  .strictObject({
    // Flashback's client repeats the path's repoId in the body.
    repoId: UuidSchema.optional().meta({ description: "If sent, must equal the path's repoId" }),
    name: NameSchema,
    accessType: AccessTypeSchema,
  })
  .meta({ id: "CreateStorageKeyRequest" });

export const UpdateStorageKeyBodySchema = z
  .strictObject({ name: NameSchema, accessType: AccessTypeSchema })
  .meta({ id: "UpdateStorageKeyRequest" });

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
    lastUsedAt: TimestampSchema.nullable().meta({
      description:
        "When a storage gateway last accepted the key; null until gateways report use (none does yet)",
    }),
  })
  .meta({ id: "StorageKey" });

export const StorageKeyListSchema = z
  .object({ success: z.literal(true), keys: z.array(StorageKeySchema) })
  .meta({ id: "StorageKeyList" });
