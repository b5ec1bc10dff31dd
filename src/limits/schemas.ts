import * as z from "zod";

/**
 * A key's rate limit, as the key endpoints take and show it: at most `limit` proven
 * verifications per `periodSeconds` (docs/rate-limits.md). null or absent: no limit.
 */
export const RateLimitSchema = z
  .strictObject({
    limit: z
      .int("must be a whole number")
      .min(1, "must be at least 1")
      .max(1_000_000, "must be at most 1000000")
      .meta({ description: "Verifications allowed per period", examples: [1000] }),
    periodSeconds: z
      .int("must be a whole number of seconds")
      .min(1, "must be at least 1")
      .max(86_400, "must be at most 86400 (a day)")
      .meta({ description: "The window's length, in seconds", examples: [60] }),
  })
  .meta({
    id: "RateLimit",
    description:
      "At most `limit` verifications per `periodSeconds` (fixed windows); beyond it the key is answered RATE_LIMITED",
  });

export type RateLimit = z.output<typeof RateLimitSchema>;

/** Where a limited key stands, in its verification answers (as Unkey's answer has it). */
export const RateLimitStateSchema = z
  .object({
    limit: z.int().meta({ description: "The key's limit per period", examples: [1000] }),
    remaining: z.int().meta({ description: "Verifications left in this window", examples: [998] }),
    reset: z.int().meta({
      description: "When the window frees up, in epoch milliseconds",
      examples: [1_795_867_260_000],
    }),
  })
  .meta({ id: "RateLimitState" });

export type RateLimitState = z.output<typeof RateLimitStateSchema>;
