import type { Bindings } from "../env";
import { log } from "../http/log";
import type { Consumed } from "./counter";
import type { RateLimit, RateLimitState } from "./schemas";
import { type RateLimitColumns, rateLimitMessage, rateLimitOf } from "./setting";

/**
 * One proven verification of a limited key, counted by its Durable Object (one extra hop, paid
 * only by keys that have a limit). Fail-open: when the counter cannot be reached the
 * verification passes without a `ratelimit` state, and an error line says so. A quota protects
 * capacity, not secrecy; refusing every limited key while the counter is down would turn its
 * outage into theirs (docs/rate-limits.md).
 */
export async function consumeRateLimit(
  env: Bindings,
  keyId: string,
  setting: RateLimit,
  now: number,
): Promise<Consumed | undefined> {
  try {
    const namespace = env.KEY_RATE_LIMITER;
    if (!namespace) throw new Error("the KEY_RATE_LIMITER binding is missing");
    const counter = namespace.get(namespace.idFromName(keyId));
    return await counter.consume(setting.limit, setting.periodSeconds, now);
  } catch (error) {
    log.error("a key's rate limit counter cannot be reached; the verification passes", {
      keyId,
      error,
    });
    return undefined;
  }
}

/** What a verification that proved its credential answers about the key's limit. */
export type RateLimitVerdict =
  | { allowed: true; ratelimit?: RateLimitState }
  | { allowed: false; ratelimit: RateLimitState; message: string };

const UNLIMITED: RateLimitVerdict = { allowed: true };

/**
 * The key's limit as one proven verification meets it: a key without a limit costs nothing
 * (no counter call, no I/O), one with a limit one call to its counter.
 */
export async function rateLimitVerdict(
  env: Bindings,
  keyId: string,
  row: RateLimitColumns,
  now: number,
): Promise<RateLimitVerdict> {
  const setting = rateLimitOf(row);
  if (!setting) return UNLIMITED;
  const consumed = await consumeRateLimit(env, keyId, setting, now);
  if (!consumed) return UNLIMITED;
  const { allowed, ...ratelimit } = consumed;
  return allowed
    ? { allowed, ratelimit }
    : { allowed, ratelimit, message: rateLimitMessage(setting) };
}
