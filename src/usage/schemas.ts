import * as z from "zod";
import { CursorParamSchema, PageLimitSchema } from "../http/pages";
import { KeyIdSchema, TimestampSchema } from "../http/schemas";

/** An instant in a usage query: ISO 8601 with a time zone. */
const InstantSchema = z.iso
  .datetime({ offset: true, error: "must be an ISO 8601 date-time with a time zone" })
  .meta({ examples: ["2026-11-28T00:00:00Z"] });

export const GranularitySchema = z
  .enum(["minute", "hour", "day"])
  .meta({ description: "The width of each point of the series" });

const rangeFields = {
  from: InstantSchema.optional().meta({
    description: "Start of the range (inclusive); default 24 hours before `to`",
  }),
  to: InstantSchema.optional().meta({ description: "End of the range (exclusive); default now" }),
};

/** `?from&to&granularity`: a key's usage series. */
export const UsageQuerySchema = z.object({
  ...rangeFields,
  granularity: GranularitySchema.optional().meta({
    description:
      "minute (range up to 48 hours), hour (up to 90 days) or day (up to 400 days); by default the finest that gives at most 300 points",
  }),
});

/** Counts per refusal code, e.g. {"SIGNATURE_MISMATCH": 3, "RATE_LIMITED": 1}. */
export const RefusedSchema = z
  .record(z.string(), z.int().nonnegative())
  .meta({ id: "UsageRefused", description: "Refused verifications per outcome code" });

/** An AI key's provider tokens; never verifications, never refusals. */
export const TokensSchema = z
  .object({
    input: z
      .int()
      .nonnegative()
      .meta({ description: "Prompt (input) tokens, as the provider counted them" }),
    output: z
      .int()
      .nonnegative()
      .meta({ description: "Completion (output) tokens, as the provider counted them" }),
  })
  .meta({
    id: "UsageTokens",
    description:
      "Tokens of the provider answers the AI gateway passed for the key (always 0 for storage keys)",
  });

const UsageCountsFields = {
  valid: z.int().nonnegative().meta({ description: "VALID verifications" }),
  refused: RefusedSchema,
  tokens: TokensSchema,
};

export const UsagePointSchema = z
  .object({
    t: TimestampSchema.meta({ description: "The point's start" }),
    ...UsageCountsFields,
  })
  .meta({ id: "UsagePoint" });

export const KeyUsageSchema = z
  .object({
    success: z.literal(true),
    from: TimestampSchema,
    to: TimestampSchema,
    granularity: GranularitySchema,
    series: z.array(UsagePointSchema).meta({ description: "One point per bucket, oldest first" }),
    totals: z.object(UsageCountsFields),
  })
  .meta({ id: "KeyUsage" });

/** `?from&to&limit&cursor`: a repo's keys, busiest first. */
export const RepoUsageQuerySchema = z.object({
  ...rangeFields,
  limit: PageLimitSchema.optional().meta({ description: "Keys per page, 1 to 100 (default 50)" }),
  cursor: CursorParamSchema.optional(),
});

export const KeyUsageTotalsSchema = z
  .object({
    id: KeyIdSchema,
    kind: z.enum(["storage", "ai"]),
    name: z.string().nullable().meta({ description: "null when the key is no longer found" }),
    key: z.string().nullable().meta({ description: "Access key id or FB_AI_ key; never a secret" }),
    deleted: z.boolean(),
    total: z.int().nonnegative().meta({ description: "Every verification, valid or refused" }),
    ...UsageCountsFields,
  })
  .meta({ id: "KeyUsageTotals" });

export const RepoUsageSchema = z
  .object({
    success: z.literal(true),
    from: TimestampSchema,
    to: TimestampSchema,
    keys: z.array(KeyUsageTotalsSchema).meta({ description: "Busiest first (most verifications)" }),
    nextCursor: z.string().nullable().meta({ description: "null on the last page" }),
  })
  .meta({ id: "RepoUsage" });

export const UnattributedQuerySchema = UsageQuerySchema;

export const UnattributedUsageSchema = z
  .object({
    success: z.literal(true),
    from: TimestampSchema,
    to: TimestampSchema,
    granularity: GranularitySchema,
    callers: z
      .array(
        z.object({
          caller: z.string().meta({
            description:
              "The gateway token's subject (HTTP), rpc (the KeyVerifier binding), or usage-recorder (counts lost)",
          }),
          kind: z.enum(["storage", "ai"]),
          transport: z.enum(["http", "rpc"]),
          total: z.int().nonnegative(),
          refused: RefusedSchema,
        }),
      )
      .meta({ description: "Busiest first" }),
    series: z.array(
      z.object({ t: TimestampSchema, refused: RefusedSchema }).meta({ id: "UnattributedPoint" }),
    ),
  })
  .meta({ id: "UnattributedUsage" });
