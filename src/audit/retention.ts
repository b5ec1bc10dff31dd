import { lt, sql } from "drizzle-orm";
import { database } from "../db/client";
import { auditEvents } from "../db/schema";
import type { Bindings } from "../env";
import { log } from "../http/log";

/** Days an audit event is kept unless AUDIT_RETENTION_DAYS says otherwise. */
export const DEFAULT_RETENTION_DAYS = 400;
const MAX_RETENTION_DAYS = 36_500;
const DAY_MS = 86_400_000;

/** How much one run may delete: rows per statement, statements per run. */
export interface PurgeLimits {
  batchSize: number;
  maxBatches: number;
}

// 10 × 5,000 rows per run, every 10 minutes: up to 7.2 million events a day, each statement a
// short walk of the `at` index, well within a cron's time.
const LIMITS: PurgeLimits = { batchSize: 5_000, maxBatches: 10 };

export interface PurgeReport {
  /** Events older than this instant were deleted. */
  before: string;
  purged: number;
  /** True when older events may remain for the next run. */
  more: boolean;
}

/**
 * AUDIT_RETENTION_DAYS: whole days, 1 to 36500, or 0 to keep every event. Undefined when the
 * setting is not one of those: nothing is deleted on a setting nobody meant.
 */
export function retentionDaysOf(env: Pick<Bindings, "AUDIT_RETENTION_DAYS">): number | undefined {
  const setting = env.AUDIT_RETENTION_DAYS?.trim();
  if (!setting) return DEFAULT_RETENTION_DAYS;
  if (!/^\d{1,5}$/.test(setting)) return undefined;
  const days = Number(setting);
  return days <= MAX_RETENTION_DAYS ? days : undefined;
}

/**
 * Deletes audit events older than the retention period, oldest first, in bounded statements
 * (each one walks the `at` index: `audit_events_at_idx`). Dead-lettered events age like the rest.
 */
export async function purgeAuditEvents(
  env: Pick<Bindings, "DB" | "AUDIT_RETENTION_DAYS">,
  { now = Date.now(), limits = LIMITS }: { now?: number; limits?: PurgeLimits } = {},
): Promise<PurgeReport | undefined> {
  const days = retentionDaysOf(env);
  if (days === undefined) {
    log.error("AUDIT_RETENTION_DAYS must be whole days, 0 to 36500; no audit event was purged");
    return undefined;
  }
  if (days === 0) return undefined;
  const before = new Date(now - days * DAY_MS).toISOString();
  const db = database(env.DB);
  const oldest = db
    .select({ id: auditEvents.id })
    .from(auditEvents)
    .where(lt(auditEvents.at, before))
    .orderBy(auditEvents.at)
    .limit(limits.batchSize);
  let purged = 0;
  for (let batch = 0; batch < limits.maxBatches; batch++) {
    const result = await db.delete(auditEvents).where(sql`${auditEvents.id} IN ${oldest}`).run();
    const deleted = result.meta.changes ?? 0;
    purged += deleted;
    if (deleted < limits.batchSize) return { before, purged, more: false };
  }
  return { before, purged, more: true };
}

/** The cron trigger's entry: one bounded purge, and a log line when it deleted anything. */
export async function scheduledAuditPurge(env: Bindings): Promise<void> {
  const report = await purgeAuditEvents(env);
  if (report && (report.purged > 0 || report.more)) {
    log.info("audit retention purge", { ...report });
  }
}
