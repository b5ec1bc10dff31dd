import type { RateLimit } from "./schemas";

/** A key row's two rate limit columns, as drizzle and the verification lookups read them. */
export interface RateLimitColumns {
  ratelimitLimit: number | null;
  ratelimitPeriodSeconds: number | null;
}

/** The key's limit, or null when it has none. */
export function rateLimitOf(row: RateLimitColumns): RateLimit | null {
  return row.ratelimitLimit !== null && row.ratelimitPeriodSeconds !== null
    ? { limit: row.ratelimitLimit, periodSeconds: row.ratelimitPeriodSeconds }
    : null;
}

/** A listed row with its two columns shown as the wire's one `ratelimit` field. */
export function withRateLimit<Row extends RateLimitColumns>(
  row: Row,
): Omit<Row, keyof RateLimitColumns> & { ratelimit: RateLimit | null } {
  const { ratelimitLimit: _, ratelimitPeriodSeconds: __, ...rest } = row;
  return { ...rest, ratelimit: rateLimitOf(row) };
}

/**
 * What a create or update writes for `ratelimit`: both columns set, both cleared (null), or
 * neither touched (undefined: not sent).
 */
export function rateLimitColumns(sent: RateLimit | null | undefined): {
  ratelimitLimit: number | null | undefined;
  ratelimitPeriodSeconds: number | null | undefined;
} {
  if (sent === undefined) return { ratelimitLimit: undefined, ratelimitPeriodSeconds: undefined };
  return {
    ratelimitLimit: sent?.limit ?? null,
    ratelimitPeriodSeconds: sent?.periodSeconds ?? null,
  };
}

/** The setting as an audit change records it: JSON text, or null for none. */
export function auditedRateLimit(setting: RateLimit | null | undefined): string | null | undefined {
  if (setting === undefined) return undefined;
  return setting === null ? null : JSON.stringify(setting);
}

/** How the key's limit reads in a RATE_LIMITED answer's message. */
export const rateLimitMessage = ({ limit, periodSeconds }: RateLimit) =>
  `The key's rate limit is reached: ${limit} per ${periodSeconds} s`;
