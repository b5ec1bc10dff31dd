import * as z from "zod";
import { AiTypeSchema } from "../ai-keys/schemas";
import { KeyIdSchema, RepoIdSchema } from "../http/schemas";

/** The paths the AI gateway serves; nothing else is ever called upstream. */
export const AI_PATHS = [
  "/v1/chat/completions",
  "/v1/embeddings",
  "/v1/models",
  "/v1/messages",
] as const;
export type AiPath = (typeof AI_PATHS)[number];

/** The only client headers a provider sees (the gateway sends no others; any other is refused). */
export const FORWARDED_HEADERS = [
  "content-type",
  "accept",
  "anthropic-version",
  "anthropic-beta",
  "openai-beta",
] as const;

/** As the gateway's limit (ai-gateway/src/index.ts). */
export const MAX_AI_BODY_CHARS = 8 * 1024 * 1024;

/** One request for a provider, as the AI gateway hands it to AiProxy.forward. */
export const AiProxyRequestSchema = z.strictObject({
  /** The client's fbai_sk_ secret: verified again here, never forwarded upstream. */
  secret: z.string().min(1).max(512),
  clientIp: z.string().min(1).max(64).optional(),
  /** What the gateway's verification answered: a request for another key is refused. */
  keyId: KeyIdSchema,
  repoId: RepoIdSchema,
  aiType: AiTypeSchema,
  method: z.enum(["GET", "POST"]),
  path: z.enum(AI_PATHS),
  headers: z.partialRecord(z.enum(FORWARDED_HEADERS), z.string().max(1024)),
  body: z.string().max(MAX_AI_BODY_CHARS).optional(),
});

export type AiProxyRequest = z.output<typeof AiProxyRequestSchema>;

/** Why no upstream call was made; the gateway answers it in its surface's error format. */
export interface AiProxyRefusal {
  success: false;
  code: string;
  message: string;
  status: number;
}

/** The provider's answer (any status; its body streamed through), or a refusal. */
export type AiProxyAnswer = { success: true; response: Response } | AiProxyRefusal;
