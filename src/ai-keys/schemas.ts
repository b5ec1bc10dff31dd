import * as z from "zod";
import { KeyIdSchema, NameSchema, RepoIdSchema, TimestampSchema } from "../http/schemas";
import {
  ExpiresAtSchema,
  KeyLifecycleFields,
  KeyStatusSchema,
  NextCursorSchema,
} from "../keys/schemas";

const NAME_EXAMPLE = "Support assistant";
export const AI_KEY_EXAMPLE = "FB_AI_3kTMd8Qx0pZr7LwV2nYc9bHs";
// The AI secret format (src/crypto/credentials.ts) with a checksum that does not match, so a
// secret scanner does not take the documentation's example for a leaked secret.
export const AI_SECRET_EXAMPLE = "fbai_sk_4fJq8ZrT2mLx9WbN6cVh1KpD3sYg7QaE5uRn0oTiHzMw000000";

export const AI_TYPES = ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"] as const;

export const AiTypeSchema = z.enum(AI_TYPES).meta({ id: "AiType", examples: ["OPENAI"] });

/**
 * The models a key may ask for, by the provider's own names; null or absent: any model. The AI
 * gateway answers a request for another model 403 in the provider's error shape.
 */
export const ModelsSchema = z
  .array(
    z
      .string()
      .min(1, "must not be empty")
      .max(200, "must be at most 200 characters")
      .refine(
        (model) => !/[\p{Cc}\s]/u.test(model),
        "must not contain whitespace or control characters",
      ),
  )
  .min(1, "must list at least 1 model (null allows any)")
  .max(100, "must list at most 100 models")
  .refine((models) => new Set(models).size === models.length, "must not list a model twice")
  .meta({
    id: "AiKeyModels",
    description: "The only models the key may ask for; null or absent: any model",
    examples: [["gpt-4o-mini", "text-embedding-3-small"]],
  });

export const CreateAiKeyBodySchema = z
  .strictObject({
    name: NameSchema.meta({ examples: [NAME_EXAMPLE] }),
    aiType: AiTypeSchema,
    expiresAt: ExpiresAtSchema.optional(),
    models: ModelsSchema.nullable().optional(),
  })
  .meta({ id: "CreateAiKeyRequest" });

/** Name, status, expiry and models can change; aiType, key and secret are refused as unknown fields. */
export const UpdateAiKeyBodySchema = z
  .strictObject({
    name: NameSchema.optional().meta({ examples: [NAME_EXAMPLE] }),
    status: KeyStatusSchema.optional(),
    expiresAt: ExpiresAtSchema.nullable()
      .optional()
      .meta({ description: "null clears the expiry" }),
    models: ModelsSchema.nullable().optional().meta({ description: "null allows any model again" }),
  })
  .refine(
    (body) => Object.values(body).some((value) => value !== undefined),
    "must change at least one of name, status, expiresAt, models",
  )
  .meta({ id: "UpdateAiKeyRequest" });

export const CreatedAiKeySchema = z
  .object({
    success: z.literal(true),
    id: KeyIdSchema,
    key: z.string().meta({ examples: [AI_KEY_EXAMPLE] }),
    secret: z
      .string()
      .meta({ description: "Shown once; store it now", examples: [AI_SECRET_EXAMPLE] }),
  })
  .meta({ id: "CreatedAiKey" });

export const AiKeySchema = z
  .object({
    id: KeyIdSchema,
    name: z.string().meta({ examples: [NAME_EXAMPLE] }),
    repoId: RepoIdSchema,
    key: z.string().meta({ examples: [AI_KEY_EXAMPLE] }),
    aiType: AiTypeSchema,
    models: z
      .array(z.string())
      .nullable()
      .meta({
        description: "The only models the key may ask for; null: any model",
        examples: [["gpt-4o-mini"]],
      }),
    createdAt: TimestampSchema,
    deletedAt: TimestampSchema.nullable().meta({ examples: [null] }),
    ...KeyLifecycleFields,
  })
  .meta({ id: "AiKey" });

export const AiKeyListSchema = z
  .object({ success: z.literal(true), apiKeys: z.array(AiKeySchema), nextCursor: NextCursorSchema })
  .meta({ id: "AiKeyList" });
