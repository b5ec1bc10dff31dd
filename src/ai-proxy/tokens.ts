import type { Bindings } from "../env";
import { log } from "../http/log";
import { recordTokens } from "../usage/recorder";

/** Tokens one provider answer used, as the provider counted them. */
export interface TokenUsage {
  keyId: string;
  repoId: string;
  aiType: string;
  /** The model the provider says answered (the request's when it does not say). */
  model: string;
  inputTokens: number;
  outputTokens: number;
}

/**
 * Records one answer's token usage against its key: a JSON log line ("ai usage"), and the counts
 * in the usage analytics beside the key's verifications (src/usage/recorder.ts: gathered in this
 * isolate and written with its next batched flush, never a D1 write per answer).
 */
export function reportTokens(
  env: Pick<Bindings, "DB" | "USAGE_RECORDING">,
  waitUntil: (promise: Promise<unknown>) => void,
  usage: TokenUsage,
): void {
  log.info("ai usage", usage);
  recordTokens(env, waitUntil, usage);
}
