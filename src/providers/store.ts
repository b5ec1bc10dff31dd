import { keyringFrom, type SealBinding } from "../crypto/seal";
import type { Bindings } from "../env";
import { DEFAULT_BASE_URLS } from "./schemas";

export type AiType = "OPENAI" | "GOOGLE" | "ANTHROPIC" | "AWS" | "OTHER";

export interface ProviderCredential {
  aiType: AiType;
  apiKey: string;
  /** Without a trailing slash; "" for AWS when none was set (the AI gateway answers 501 there). */
  baseUrl: string;
}

/** A provider key is sealed to its row: the repo and the type, so it cannot be moved to another. */
export const providerBinding = (repoId: string, aiType: AiType): SealBinding => ({
  kind: "provider",
  repoId,
  keyId: aiType,
});

/** The URL the provider is called at: the one set, else the type's default, else "". */
export const effectiveBaseUrl = (aiType: AiType, baseUrl: string | null): string | null =>
  baseUrl ?? DEFAULT_BASE_URLS[aiType];

const SELECT_ONE =
  "SELECT sealed_api_key AS sealedApiKey, base_url AS baseUrl FROM ai_providers WHERE repo_id = ?1 AND ai_type = ?2";

/**
 * The repo's provider key for aiType, unsealed; null when none is configured. One D1 read.
 * Called by the API Worker only, just before it calls the provider: the key never leaves it.
 * Throws (KeyringError, or the AES-GCM failure) when the row cannot be opened with
 * ENCRYPTION_KEYS; the caller answers that as a server-side failure without the reason.
 */
export async function providerFor(
  env: Bindings,
  repoId: string,
  aiType: AiType,
): Promise<ProviderCredential | null> {
  const row = await env.DB.prepare(SELECT_ONE)
    .bind(repoId, aiType)
    .first<{ sealedApiKey: string; baseUrl: string | null }>();
  if (!row) return null;
  const apiKey = await keyringFrom(env.ENCRYPTION_KEYS).open(
    row.sealedApiKey,
    providerBinding(repoId, aiType),
  );
  return { aiType, apiKey, baseUrl: effectiveBaseUrl(aiType, row.baseUrl) ?? "" };
}

/**
 * The id a provider key is remembered under where it is used (src/ai-proxy/providers.ts), and
 * what a change to it passes to forgetKey so the isolate that made the change never uses the old.
 */
export const providerMemoryId = (repoId: string, aiType: AiType) => `${repoId}:${aiType}`;
