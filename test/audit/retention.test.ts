import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { purgeAuditEvents, retentionDaysOf } from "../../src/audit/retention";
import { D1_MAX_BOUND_PARAMETERS, storeAuditEvents } from "../../src/audit/store";
import { database } from "../../src/db/client";
import worker from "../../src/index";
import { auditEvent, seedEvents } from "../support/audit";

const DAY_MS = 86_400_000;
const daysAgo = (days: number, now = Date.now()) => new Date(now - days * DAY_MS).toISOString();

/** Events of one fresh workspace, `at` each given age in days; their ids in that order. */
async function eventsAged(...ages: number[]): Promise<string[]> {
  const workspaceId = crypto.randomUUID();
  const events = ages.map((age) => auditEvent({ workspaceId, at: daysAgo(age) }));
  await seedEvents(events);
  return events.map((event) => event.id);
}

async function stored(ids: string[]): Promise<boolean[]> {
  const { results } = await env.DB.prepare(
    "SELECT id FROM audit_events WHERE id IN (SELECT value FROM json_each(?))",
  )
    .bind(JSON.stringify(ids))
    .all<{ id: string }>();
  const present = new Set(results.map((row) => row.id));
  return ids.map((id) => present.has(id));
}

/** Deletes every event older than a year ago's cutoff, so each test starts from its own. */
async function purgeEverythingOld() {
  await env.DB.prepare("DELETE FROM audit_events WHERE at < ?").bind(daysAgo(30)).run();
}

describe("audit retention", () => {
  it("by default keeps 400 days: a cron run purges older events and keeps the rest", async () => {
    await purgeEverythingOld();
    const [old, older, recent, today] = await eventsAged(401, 900, 399, 0);
    const ctx = createExecutionContext();
    await worker.scheduled?.(createScheduledController({ cron: "*/10 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await stored([old, older, recent, today] as string[])).toEqual([
      false,
      false,
      true,
      true,
    ]);
  });

  it("follows AUDIT_RETENTION_DAYS, dead-lettered events included", async () => {
    await purgeEverythingOld();
    const workspaceId = crypto.randomUUID();
    const dead = auditEvent({ workspaceId, at: daysAgo(8) });
    await seedEvents([dead], { deadLettered: true });
    const [kept, gone] = await eventsAged(6, 8);
    const report = await purgeAuditEvents({ ...env, AUDIT_RETENTION_DAYS: "7" });
    expect(report?.purged).toBeGreaterThanOrEqual(2);
    expect(report?.more).toBe(false);
    expect(await stored([kept, gone, dead.id] as string[])).toEqual([true, false, false]);
  });

  it("keeps everything with AUDIT_RETENTION_DAYS=0", async () => {
    const ids = await eventsAged(5000, 401);
    expect(await purgeAuditEvents({ ...env, AUDIT_RETENTION_DAYS: "0" })).toBeUndefined();
    expect(await stored(ids)).toEqual([true, true]);
  });

  it("deletes nothing, and says so in the log, when the setting is not whole days", async () => {
    const ids = await eventsAged(5000);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const setting of ["forever", "-1", "1.5", "36501", "1e3", "7 days"]) {
      expect(retentionDaysOf({ AUDIT_RETENTION_DAYS: setting }), setting).toBeUndefined();
      expect(await purgeAuditEvents({ ...env, AUDIT_RETENTION_DAYS: setting })).toBeUndefined();
    }
    expect(errors.mock.calls.map(([line]) => JSON.parse(String(line)).message)).toContain(
      "AUDIT_RETENTION_DAYS must be whole days, 0 to 36500; no audit event was purged",
    );
    errors.mockRestore();
    expect(await stored(ids)).toEqual([true]);
  });

  it("is bounded per run, oldest first, and the next run goes on", async () => {
    await purgeEverythingOld();
    const ids = await eventsAged(410, 409, 408, 407, 406, 405, 404, 403);
    const limits = { batchSize: 3, maxBatches: 2 };
    const first = await purgeAuditEvents(env, { limits });
    expect(first).toMatchObject({ purged: 6, more: true });
    // The six oldest went first.
    expect(await stored(ids)).toEqual([false, false, false, false, false, false, true, true]);
    const second = await purgeAuditEvents(env, { limits });
    expect(second).toMatchObject({ purged: 2, more: false });
    expect(await stored(ids)).toEqual(Array(8).fill(false));
  });
});

describe("storing audit events", () => {
  it("binds at most D1's 100 parameters per statement, however many events come at once", async () => {
    const bound: number[] = [];
    const counting = new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare") {
          return (query: string) => {
            const statement = target.prepare(query);
            const bind = statement.bind.bind(statement);
            statement.bind = (...values: unknown[]) => {
              bound.push(values.length);
              return bind(...values);
            };
            return statement;
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const events = Array.from({ length: 40 }, () => auditEvent());
    await storeAuditEvents(database(counting), events);
    expect(bound.length).toBeGreaterThan(1);
    expect(Math.max(...bound)).toBeLessThanOrEqual(D1_MAX_BOUND_PARAMETERS);
    expect(await stored(events.map((e) => e.id))).toEqual(Array(40).fill(true));
  });
});
