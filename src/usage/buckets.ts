/** Bucket widths and how long each is kept (docs/usage.md). */

export type Scale = "minute" | "hour" | "day";

export const SECONDS: Record<Scale, number> = { minute: 60, hour: 3_600, day: 86_400 };

/** Minute buckets 48 h, hour buckets 90 days, day buckets 400 days (the audit retention). */
export const KEPT_SECONDS: Record<Scale, number> = {
  minute: 48 * 3_600,
  hour: 90 * 86_400,
  day: 400 * 86_400,
};

/**
 * A minute is rolled into its hour this long after the hour ends: a flush that failed once is
 * retried with the next one, seconds later. Counts written later than this still show at minute
 * granularity, not in hours and days (the documented tolerance).
 */
export const ROLLUP_GRACE_SECONDS = 5 * 60;

export const floorTo = (seconds: number, scale: Scale) =>
  Math.floor(seconds / SECONDS[scale]) * SECONDS[scale];
