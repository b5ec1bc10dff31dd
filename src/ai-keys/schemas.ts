import * as z from "zod";
import { NameSchema, TimestampSchema, UuidSchema } from "../http/schemas";
import {
  ExpiresAtSchema,
  KeyLifecycleFields,
  KeyStatusSchema,
  NextCursorSchema,
} from "../keys/schemas";

export const AI_TYPES = ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"] as const;

export const AiTypeSchema = z.enum(AI_TYPES).meta({ id: "AiType", examples: ["OPENAI"] });

export const CreateAiKeyBodySchema = z
  .strictObject({ name: NameSchema, aiType: AiTypeSchema, expiresAt: ExpiresAtSchema.optional() })
  .meta({ id: "CreateAiKeyRequest" });

/** Name, status and expiry can change; aiType, key and secret are refused as unknown fields. */
export const UpdateAiKeyBodySchema = z
  .strictObject({
    name: NameSchema.optional(),
    status: KeyStatusSchema.optional(),
    expiresAt: ExpiresAtSchema.nullable()
      .optional()
      .meta({ description: "null clears the expiry" }),
  })
  .refine(
    (body) => Object.values(body).some((value) => value !== undefined),
    "must change at least one of name, status, expiresAt",
  )
  .meta({ id: "UpdateAiKeyRequest" });

export const CreatedAiKeySchema = z
  .object({
    success: z.literal(true),
    id: UuidSchema,
    key: z.string().meta({ examples: ["FB_AI_3kTMd8Qx0pZr7LwV2nYc9bHs"] }),
    secret: z.string().meta({ description: "Shown once; store it now" }),
  })
  .meta({ id: "CreatedAiKey" });

export const AiKeySchema = z
  .object({
    id: UuidSchema,
    name: z.string(),
    repoId: UuidSchema,
    key: z.string(),
    aiType: AiTypeSchema,
    createdAt: TimestampSchema,
    deletedAt: TimestampSchema.nullable(),
    ...KeyLifecycleFields,
  })
  .meta({ id: "AiKey" });

export const AiKeyListSchema = z
  .object({ success: z.literal(true), apiKeys: z.array(AiKeySchema), nextCursor: NextCursorSchema })
  .meta({ id: "AiKeyList" });
