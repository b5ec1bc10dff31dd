import { z } from "@hono/zod-openapi";
import { RoleSchema } from "../access/roles";
import { NameSchema, TimestampSchema, UserIdSchema, UuidSchema } from "../http/schemas";

export const AccessTypeSchema = RoleSchema.openapi("AccessType", {
  description: "What the key may do at the storage gateway",
});

export const RepoParamsSchema = z.object({
  repoId: UuidSchema.openapi({ param: { name: "repoId", in: "path" } }),
});

export const RepoKeyParamsSchema = RepoParamsSchema.extend({
  apikeyId: UuidSchema.openapi({ param: { name: "apikeyId", in: "path" } }),
});

export const CreateStorageKeyBodySchema = z
  .strictObject({
    // Flashback's client repeats the path's repoId in the body.
    repoId: UuidSchema.optional().openapi({ description: "If sent, must equal the path's repoId" }),
    name: NameSchema,
    accessType: AccessTypeSchema,
  })
  .openapi("CreateStorageKeyRequest");

export const UpdateStorageKeyBodySchema = z
  .strictObject({ name: NameSchema, accessType: AccessTypeSchema })
  .openapi("UpdateStorageKeyRequest");

export const CreatedKeySchema = z
  .object({
    success: z.literal(true),
    id: UuidSchema,
    key: z.string().openapi({ example: "FBAKQ7ZK4M2X9B1C8D3E" }),
    secret: z.string().openapi({ description: "Shown once; store it now" }),
  })
  .openapi("CreatedStorageKey");

export const StorageKeySchema = z
  .object({
    id: UuidSchema,
    name: z.string(),
    accessType: AccessTypeSchema,
    key: z.string(),
    createdAt: TimestampSchema,
    createdBy: UserIdSchema,
    lastUsedAt: TimestampSchema.nullable(),
  })
  .openapi("StorageKey");

export const StorageKeyListSchema = z
  .object({ success: z.literal(true), keys: z.array(StorageKeySchema) })
  .openapi("StorageKeyList");
