import { log } from "../http/log";

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
 * Records one answer's token usage against its key. For now a JSON log line ("ai usage"); this
 * is the one place to connect the usage analytics store to.
 */
export function reportTokens(usage: TokenUsage): void {
  log.info("ai usage", usage);
}
