import { z } from "@hono/zod-openapi";
import { NameSchema, TimestampSchema, UuidSchema } from "../http/schemas";

export const AI_TYPES = ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"] as const;

export const AiTypeSchema = z.enum(AI_TYPES).openapi("AiType", { example: "OPENAI" });

export const CreateAiKeyBodySchema = z
  .strictObject({ name: NameSchema, aiType: AiTypeSchema })
  .openapi("CreateAiKeyRequest");

/** Only the name can change; aiType, key and secret are refused as unknown fields. */
export const UpdateAiKeyBodySchema = z
  .strictObject({ name: NameSchema })
  .openapi("UpdateAiKeyRequest");

export const CreatedAiKeySchema = z
  .object({
    success: z.literal(true),
    id: UuidSchema,
    key: z.string().openapi({ example: "FB_AI_3kTMd8Qx0pZr7LwV2nYc9bHs" }),
    secret: z.string().openapi({ description: "Shown once; store it now" }),
  })
  .openapi("CreatedAiKey");

export const AiKeySchema = z
  .object({
    id: UuidSchema,
    name: z.string(),
    repoId: UuidSchema,
    key: z.string(),
    aiType: AiTypeSchema,
    createdAt: TimestampSchema,
    deletedAt: TimestampSchema.nullable(),
  })
  .openapi("AiKey");

export const AiKeyListSchema = z
  .object({ success: z.literal(true), apiKeys: z.array(AiKeySchema) })
  .openapi("AiKeyList");
