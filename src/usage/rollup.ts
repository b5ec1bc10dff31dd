import type { Bindings } from "../env";
import { log } from "../http/log";
import { floorTo, KEPT_SECONDS, ROLLUP_GRACE_SECONDS, type Scale, SECONDS } from "./buckets";

/** How much one cron run may do: buckets rolled per scale, rows deleted per statement and run. */
export interface RollupLimits {
  rollSteps: number;
  batchSize: number;
  maxBatches: number;
}

// Every 10 minutes: up to 24 hours and 24 days rolled, 50,000 expired rows of each scale deleted. A
// backlog (a cron that did not run for a while) is finished over the following runs.
const LIMITS: RollupLimits = { rollSteps: 24, batchSize: 5_000, maxBatches: 10 };

/** Where the counts and the watermarks are: the real tables but in tests of the rollup itself. */
export interface UsageTables {
  usage: string;
  rollups: string;
}

const TABLES: UsageTables = { usage: "key_usage", rollups: "usage_rollups" };

export interface RollupReport {
  /** Buckets rolled into hours and days. */
  rolled: number;
  purged: number;
  /** True when work remains for the next run. */
  more: boolean;
}

const watermark = async (db: D1Database, tables: UsageTables, scale: "hour" | "day") =>
  (
    await db
      .prepare(`SELECT through FROM ${tables.rollups} WHERE scale = ?1`)
      .bind(scale)
      .first<{ through: number }>()
  )?.through;

const saveWatermark = (
  db: D1Database,
  tables: UsageTables,
  scale: "hour" | "day",
  through: number,
) =>
  db
    .prepare(
      `INSERT INTO ${tables.rollups} (scale, through) VALUES (?1, ?2)
       ON CONFLICT (scale) DO UPDATE SET through = max(through, excluded.through)`,
    )
    .bind(scale, through);

// The bucket's source rows summed into one row per (key or caller, kind, code, transport), the
// AI keys' tokens with them. (WHERE before the upsert: SQLite's rule for INSERT … SELECT … ON
// CONFLICT.)
const roll = (tables: UsageTables) => `INSERT INTO ${tables.usage}
  (scale, key_id, t, kind, code, transport, caller, repo_id, n, input_tokens, output_tokens)
  SELECT ?1, key_id, ?3, kind, code, transport, caller, max(repo_id), sum(n), sum(input_tokens),
    sum(output_tokens) FROM ${tables.usage}
  WHERE scale = ?2 AND t >= ?3 AND t < ?4
  GROUP BY key_id, kind, code, transport, caller
  ON CONFLICT (scale, key_id, t, kind, code, transport, caller) DO UPDATE SET n = n + excluded.n,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens`;

/**
 * Rolls finished `from` buckets into `to` buckets, oldest first, at most `steps` of them. Each
 * bucket is summed and the watermark moved in one D1 batch (a transaction): rolled exactly once.
 * Below the watermark a query reads `to` rows, above it the `from` rows (src/usage/read.ts).
 */
async function rollUp(
  db: D1Database,
  tables: UsageTables,
  to: "hour" | "day",
  /** Buckets of `to` that end at or before this (Unix seconds) are final. */
  finalBefore: number,
  steps: number,
): Promise<{ rolled: number; more: boolean }> {
  const from: Scale = to === "hour" ? "minute" : "hour";
  const size = SECONDS[to];
  // Buckets starting before `last` are final; the watermark never passes it.
  const last = floorTo(finalBefore, to);
  const saved = await watermark(db, tables, to);
  let through = saved ?? 0;
  let rolled = 0;
  for (let step = 0; step < steps; step++) {
    const next = await db
      .prepare(`SELECT min(t) AS t FROM ${tables.usage} WHERE scale = ?1 AND t >= ?2`)
      .bind(from, through)
      .first<{ t: number | null }>();
    if (next?.t == null || floorTo(next.t, to) >= last) {
      // Nothing final left to roll: the watermark moves up to the last final bucket.
      if (saved === undefined || last > through) await saveWatermark(db, tables, to, last).run();
      return { rolled, more: false };
    }
    const start = floorTo(next.t, to);
    await db.batch([
      db.prepare(roll(tables)).bind(to, from, start, start + size),
      saveWatermark(db, tables, to, start + size),
    ]);
    through = start + size;
    rolled += 1;
  }
  return { rolled, more: true };
}

/** Deletes rows of `scale` older than `before`, in LIMITed statements. */
async function purge(
  db: D1Database,
  tables: UsageTables,
  scale: Scale,
  before: number,
  limits: RollupLimits,
): Promise<{ purged: number; more: boolean }> {
  let purged = 0;
  for (let batch = 0; batch < limits.maxBatches; batch++) {
    const result = await db
      .prepare(
        `DELETE FROM ${tables.usage} WHERE rowid IN
         (SELECT rowid FROM ${tables.usage} WHERE scale = ?1 AND t < ?2 LIMIT ?3)`,
      )
      .bind(scale, before, limits.batchSize)
      .run();
    const deleted = result.meta.changes ?? 0;
    purged += deleted;
    if (deleted < limits.batchSize) return { purged, more: false };
  }
  return { purged, more: true };
}

/**
 * One bounded run: minutes into hours, hours into days, then rows past their retention deleted,
 * a scale's rows only once rolled into the next (an hour is kept until its day is rolled).
 */
export async function rollUpUsage(
  env: Pick<Bindings, "DB">,
  {
    now = Date.now(),
    limits = LIMITS,
    tables = TABLES,
  }: { now?: number; limits?: RollupLimits; tables?: UsageTables } = {},
): Promise<RollupReport> {
  const db = env.DB;
  const seconds = Math.floor(now / 1000);
  const hours = await rollUp(db, tables, "hour", seconds - ROLLUP_GRACE_SECONDS, limits.rollSteps);
  const hourMark = (await watermark(db, tables, "hour")) ?? 0;
  // A day is final once all its hours are.
  const days = await rollUp(db, tables, "day", hourMark, limits.rollSteps);
  const dayMark = (await watermark(db, tables, "day")) ?? 0;

  const minutes = await purge(
    db,
    tables,
    "minute",
    Math.min(seconds - KEPT_SECONDS.minute, hourMark),
    limits,
  );
  const hourRows = await purge(
    db,
    tables,
    "hour",
    Math.min(seconds - KEPT_SECONDS.hour, dayMark),
    limits,
  );
  const dayRows = await purge(db, tables, "day", seconds - KEPT_SECONDS.day, limits);
  return {
    rolled: hours.rolled + days.rolled,
    purged: minutes.purged + hourRows.purged + dayRows.purged,
    more: hours.more || days.more || minutes.more || hourRows.more || dayRows.more,
  };
}

/** The cron trigger's entry: one bounded run, and a log line when it did anything. */
export async function scheduledUsageRollup(env: Bindings): Promise<void> {
  const report = await rollUpUsage(env);
  if (report.rolled > 0 || report.purged > 0 || report.more) {
    log.info("usage rollup", { count: report.rolled, purged: report.purged, more: report.more });
  }
}
