import { ApiError } from "../http/error";
import { floorTo, KEPT_SECONDS, type Scale, SECONDS } from "./buckets";
import { TOKENS_CODE } from "./recorder";

/** A usage query's range, in Unix seconds, aligned to its granularity. */
export interface Range {
  from: number;
  to: number;
  granularity: Scale;
}

const DAY_SECONDS = 86_400;
/** The default granularity is the finest with at most this many points. */
const DEFAULT_POINTS = 300;

/**
 * `?from&to&granularity` as a range: by default the last 24 hours, at the finest granularity
 * that gives at most DEFAULT_POINTS points. A range longer than its granularity's retention
 * (48 hours of minutes, 90 days of hours, 400 days of days) is refused: 400, saying which.
 */
export function rangeOf(
  query: { from?: string; to?: string; granularity?: Scale },
  now = Date.now(),
): Range {
  const toMs = query.to ? Date.parse(query.to) : now;
  const fromMs = query.from ? Date.parse(query.from) : toMs - DAY_SECONDS * 1000;
  if (!(fromMs < toMs)) {
    throw new ApiError("BAD_REQUEST", "from must be before to");
  }
  const span = (toMs - fromMs) / 1000;
  const granularity =
    query.granularity ??
    (["minute", "hour", "day"] as const).find(
      (scale) => span / SECONDS[scale] <= DEFAULT_POINTS && span <= KEPT_SECONDS[scale],
    ) ??
    "day";
  if (span > KEPT_SECONDS[granularity]) {
    const most = { minute: "48 hours", hour: "90 days", day: "400 days" }[granularity];
    throw new ApiError(
      "BAD_REQUEST",
      `The range is too large for granularity ${granularity}: at most ${most}; ask for a coarser granularity or a shorter range`,
    );
  }
  const size = SECONDS[granularity];
  return {
    from: floorTo(Math.floor(fromMs / 1000), granularity),
    // The bucket `to` falls in is included, whole.
    to: Math.ceil(toMs / 1000 / size) * size,
    granularity,
  };
}

export const isoOf = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * The rows a range reads, at each scale: below the hour rollup's watermark from hour rows,
 * below the day's from day rows, above them from the finer rows not yet rolled
 * (src/usage/rollup.ts). `?2` is from, `?3` to; `filter` narrows each scale's rows alike.
 * Every row comes out as (b: its bucket at the granularity, key_id, kind, code, transport,
 * caller, n, input_tokens, output_tokens).
 */
export function rowsSql(granularity: Scale, filter: string): string {
  const size = SECONDS[granularity];
  const from = (scale: Scale, lo: string, hi: string) =>
    `SELECT t - t % ${size} AS b, key_id, kind, code, transport, caller, n, input_tokens,
       output_tokens FROM key_usage
     WHERE scale = '${scale}' AND ${filter} AND t >= ${lo} AND t < ${hi}`;
  // The watermarks as scalar subqueries, not a joined table: a bound from a table joined after
  // key_usage cannot narrow its index search, and each part read its scale's whole history.
  const [h, d] = ["(SELECT h FROM w)", "(SELECT d FROM w)"];
  const parts =
    granularity === "minute"
      ? [from("minute", "?2", "?3")]
      : granularity === "hour"
        ? [from("minute", `max(?2, ${h})`, "?3"), from("hour", "?2", `min(?3, ${h})`)]
        : [
            from("minute", `max(?2, ${h})`, "?3"),
            from("hour", `max(?2, ${d})`, `min(?3, ${h})`),
            from("day", "?2", `min(?3, ${d})`),
          ];
  return `WITH w AS (SELECT
      coalesce((SELECT through FROM usage_rollups WHERE scale = 'hour'), 0) AS h,
      coalesce((SELECT through FROM usage_rollups WHERE scale = 'day'), 0) AS d)
    ${parts.join("\n    UNION ALL\n    ")}`;
}

/** Counts by code as the API answers them: VALID apart, refusals by code. */
export function countsOf(rows: { code: string; n: number }[]): {
  valid: number;
  refused: Record<string, number>;
} {
  let valid = 0;
  const refused: Record<string, number> = {};
  for (const { code, n } of rows) {
    // Token rows count no verification (src/usage/recorder.ts): never a refusal.
    if (code === TOKENS_CODE) continue;
    if (code === "VALID") valid += n;
    else refused[code] = (refused[code] ?? 0) + n;
  }
  return { valid, refused };
}

/** An AI key's provider tokens in rows summed as countsOf's (0s for storage keys). */
export function tokensOf(rows: { input?: number | null; output?: number | null }[]): {
  input: number;
  output: number;
} {
  let input = 0;
  let output = 0;
  for (const row of rows) {
    input += row.input ?? 0;
    output += row.output ?? 0;
  }
  return { input, output };
}

/** Every bucket of the range, oldest first (empty ones too: a chart draws them as zero). */
export function bucketsOf(range: Range): number[] {
  const size = SECONDS[range.granularity];
  const buckets: number[] = [];
  for (let b = range.from; b < range.to; b += size) buckets.push(b);
  return buckets;
}
