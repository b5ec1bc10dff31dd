import * as z from "zod";
import { AiTypeSchema } from "../ai-keys/schemas";
import { RepoIdSchema, TimestampSchema } from "../http/schemas";
import type { AiType } from "./store";

/**
 * Where each provider is called when its credential names no base URL. GOOGLE is the Gemini
 * API's OpenAI-compatible surface; AWS (Bedrock) has none: the AI gateway answers 501 for it.
 * OTHER (an OpenAI-compatible server) must always be given one.
 */
export const DEFAULT_BASE_URLS: Record<AiType, string | null> = {
  OPENAI: "https://api.openai.com/v1",
  ANTHROPIC: "https://api.anthropic.com",
  GOOGLE: "https://generativelanguage.googleapis.com/v1beta/openai",
  AWS: null,
  OTHER: null,
};

// Never a real key: the documentation's example must not read as a leaked one.
const API_KEY_EXAMPLE = "sk-example-0000000000000000000000000000";

export const ProviderParamsSchema = z.object({
  repoId: RepoIdSchema,
  aiType: AiTypeSchema,
});

export const SetProviderBodySchema = z
  .strictObject({
    apiKey: z
      .string()
      .min(8, "must be at least 8 characters")
      .max(512, "must be at most 512 characters")
      .refine((key) => !/\s/.test(key), "must not contain whitespace")
      .meta({
        description:
          "The provider's API key. Stored sealed; never returned, only its last 4 characters",
        examples: [API_KEY_EXAMPLE],
      }),
    baseUrl: z
      .string()
      .max(2048, "must be at most 2048 characters")
      .optional()
      .meta({
        description:
          "Where the provider is called (https). Default per type: OPENAI https://api.openai.com/v1, ANTHROPIC https://api.anthropic.com, GOOGLE https://generativelanguage.googleapis.com/v1beta/openai; AWS none; OTHER requires one. Private, loopback and link-local addresses and the service's own host are refused",
        examples: ["https://llm.example.com/v1"],
      }),
  })
  .meta({ id: "SetAiProviderRequest" });

/** A configured provider as every answer shows it: never the key, only its last 4 characters. */
export const AiProviderSchema = z
  .object({
    aiType: AiTypeSchema,
    baseUrl: z
      .string()
      .nullable()
      .meta({
        description:
          "The base URL the provider is called at (the type's default when none was set); null for AWS without one",
        examples: ["https://api.openai.com/v1"],
      }),
    apiKeyLast4: z.string().meta({ examples: ["0000"] }),
    setAt: TimestampSchema,
    setBy: z.string().meta({ description: "Who set the key (user id)", examples: ["alice"] }),
  })
  .meta({ id: "AiProvider" });

export const SetProviderResponseSchema = z
  .object({ success: z.literal(true), ...AiProviderSchema.shape })
  .meta({ id: "SetAiProviderResponse" });

export const ProviderListSchema = z
  .object({ success: z.literal(true), providers: z.array(AiProviderSchema) })
  .meta({ id: "AiProviderList" });
