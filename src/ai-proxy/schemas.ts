import * as z from "zod";

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

/** As the gateway's limit (ai-gateway/src/body.ts). */
export const MAX_AI_BODY_CHARS = 8 * 1024 * 1024;

/** One request for the provider, as the AI gateway hands it to a verified key's AiCall. */
export const AiCallRequestSchema = z.strictObject({
  method: z.enum(["GET", "POST"]),
  path: z.enum(AI_PATHS),
  headers: z.partialRecord(z.enum(FORWARDED_HEADERS), z.string().max(1024)),
  body: z.string().max(MAX_AI_BODY_CHARS).optional(),
});

export type AiCallRequest = z.output<typeof AiCallRequestSchema>;

/** Why no upstream call was made; the gateway answers it in its surface's error format. */
export interface AiProxyRefusal {
  success: false;
  code: string;
  message: string;
  status: number;
}

/** The provider's answer (any status; its body streamed through), or a refusal. */
export type AiProxyAnswer = { success: true; response: Response } | AiProxyRefusal;
