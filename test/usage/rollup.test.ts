import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import { KEPT_SECONDS } from "../../src/usage/buckets";
import { flushUsage, recordTokens, TOKENS_CODE } from "../../src/usage/recorder";
import { rollUpUsage } from "../../src/usage/rollup";
import { call, team } from "../support/api";
import { createAiKey, createStorageKey } from "../support/keys";

// Real time only: the rollup's watermarks and the purge act on the whole (shared) test
// database, so these tests put their rows in the past and run the cron as it runs in production.

let t: Awaited<ReturnType<typeof team>>;

beforeAll(async () => {
  t = await team();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function insert(
  keyId: string,
  rows: { scale: "minute" | "hour" | "day"; t: number; n: number; code?: string }[],
) {
  await env.DB.batch(
    rows.map((row) =>
      env.DB.prepare(
        `INSERT INTO key_usage (scale, key_id, t, kind, code, transport, caller, repo_id, n)
         VALUES (?1, ?2, ?3, 'storage', ?4, 'http', '', ?5, ?6)`,
      ).bind(row.scale, keyId, row.t, row.code ?? "VALID", t.repoId, row.n),
    ),
  );
}

async function rowsOf(keyId: string) {
  const { results } = await env.DB.prepare(
    "SELECT scale, t, code, n FROM key_usage WHERE key_id = ?1 ORDER BY scale, t, code",
  )
    .bind(keyId)
    .all<{ scale: string; t: number; code: string; n: number }>();
  return results;
}

/** Runs the cron's rollup until it says nothing is left; how many runs that took. */
async function rollUntilDone(limits?: Parameters<typeof rollUpUsage>[1]) {
  for (let run = 1; run <= 100; run++) {
    if (!(await rollUpUsage(env, limits)).more) return run;
  }
  throw new Error("the rollup never finished");
}

async function series(keyId: string, query: string, kind: "" | "ai/" = "") {
  const response = await call("GET", `/repo/${t.repoId}/${kind}apikey/${keyId}/usage?${query}`, {
    as: t.admin,
  });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

describe("the usage rollup", () => {
  it("rolls finished hours and days, keeps the current hour as minutes, and every granularity still adds up", async () => {
    const key = await createStorageKey(t.admin, t.repoId);
    const now = nowSeconds();
    const hourAgo3 = Math.floor((now - 3 * 3600) / 3600) * 3600;
    const recent = Math.floor((now - 60) / 60) * 60;
    await insert(key.id, [
      { scale: "minute", t: hourAgo3 + 60, n: 2 },
      { scale: "minute", t: hourAgo3 + 120, n: 3 },
      { scale: "minute", t: hourAgo3 + 180, n: 1, code: "SIGNATURE_MISMATCH" },
      { scale: "minute", t: recent, n: 5 },
    ]);
    // An AI key's tokens, recorded as the AI gateway's answers report them, in the same minutes.
    const ai = await createAiKey(t.admin, t.repoId);
    const tokensAt = (at: number, inputTokens: number, outputTokens: number) =>
      recordTokens(
        env as Bindings,
        () => {},
        { keyId: ai.id, repoId: t.repoId, inputTokens, outputTokens },
        at * 1000,
      );
    tokensAt(hourAgo3 + 60, 100, 10);
    tokensAt(hourAgo3 + 60, 20, 2);
    tokensAt(hourAgo3 + 1800, 3, 1);
    tokensAt(recent, 7, 5);
    await flushUsage(env as Bindings);
    await rollUntilDone();
    const rows = await rowsOf(key.id);
    expect(rows.filter((r) => r.scale === "hour")).toEqual([
      { scale: "hour", t: hourAgo3, code: "SIGNATURE_MISMATCH", n: 1 },
      { scale: "hour", t: hourAgo3, code: "VALID", n: 5 },
    ]);
    // The current hour is not final: its minutes are not rolled yet.
    expect(rows.filter((r) => r.scale === "hour" && r.t > hourAgo3)).toEqual([]);
    // Minutes stay (48 hours) after their hour is rolled.
    expect(rows.filter((r) => r.scale === "minute")).toHaveLength(4);

    // Rolled or not, each granularity reads every count exactly once.
    const from = new Date((now - 6 * 3600) * 1000).toISOString();
    for (const granularity of ["minute", "hour", "day"]) {
      const body = await series(key.id, `from=${from}&granularity=${granularity}`);
      expect(body.totals, granularity).toEqual({
        valid: 10,
        refused: { SIGNATURE_MISMATCH: 1 },
        tokens: { input: 0, output: 0 },
      });
      // Tokens add up alike, and are never a verification.
      const tokens = await series(ai.id, `from=${from}&granularity=${granularity}`, "ai/");
      expect(tokens.totals, granularity).toEqual({
        valid: 0,
        refused: {},
        tokens: { input: 130, output: 18 },
      });
    }
    // The finished hour's tokens in one hour row, n = 0; the current hour's still in minutes.
    const tokenRows = await env.DB.prepare(
      `SELECT scale, t, code, n, input_tokens AS input, output_tokens AS output FROM key_usage
       WHERE key_id = ?1 AND scale = 'hour'`,
    )
      .bind(ai.id)
      .all();
    expect(tokenRows.results).toEqual([
      { scale: "hour", t: hourAgo3, code: TOKENS_CODE, n: 0, input: 123, output: 13 },
    ]);
    // A second run rolls nothing twice.
    await rollUntilDone();
    expect((await rowsOf(key.id)).filter((r) => r.scale === "hour")).toEqual(
      rows.filter((r) => r.scale === "hour"),
    );
  });
});

/**
 * A rollup over tables of its own (the real ones' shape), at a clock of the test's choosing:
 * its watermarks and purges touch nothing another test reads.
 */
async function privateTables() {
  const suffix = crypto.randomUUID().replaceAll("-", "");
  const tables = { usage: `key_usage_${suffix}`, rollups: `usage_rollups_${suffix}` };
  for (const [name, copy] of [
    ["key_usage", tables.usage],
    ["usage_rollups", tables.rollups],
  ]) {
    const ddl = await env.DB.prepare(
      "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
    )
      .bind(name)
      .first<{ sql: string }>();
    await env.DB.prepare((ddl?.sql ?? "").replace(`\`${name}\``, `\`${copy}\``)).run();
  }
  const rows = async () =>
    (
      await env.DB.prepare(`SELECT scale, t, n FROM ${tables.usage} ORDER BY scale, t`).all<{
        scale: string;
        t: number;
        n: number;
      }>()
    ).results;
  const insertRows = (list: { scale: "minute" | "hour" | "day"; t: number; n: number }[]) =>
    env.DB.batch(
      list.map((row) =>
        env.DB.prepare(
          `INSERT INTO ${tables.usage} (scale, key_id, t, kind, code, transport, caller, repo_id, n)
           VALUES (?1, 'k', ?2, 'storage', 'VALID', 'http', '', 'r', ?3)`,
        ).bind(row.scale, row.t, row.n),
      ),
    );
  return { tables, rows, insert: insertRows };
}

// A fixed clock: 2026-06-15T12:30:00Z.
const NOW = Date.UTC(2026, 5, 15, 12, 30) / 1000;
const H = 3600;
const D = 86_400;

describe("the usage rollup's boundaries (a fixed clock)", () => {
  it("rolls an hour only 5 minutes after it ends, and a day only once all its hours are rolled", async () => {
    const db = await privateTables();
    const hour = NOW - (NOW % H); // 12:00, the current hour
    await db.insert([
      { scale: "minute", t: hour - H + 59 * 60, n: 1 }, // 11:59
      { scale: "minute", t: hour, n: 2 }, // 12:00
    ]);
    // 12:04:59: the 11:00 hour ended less than 5 minutes ago.
    await rollUpUsage(env, { now: (hour + 299) * 1000, tables: db.tables });
    expect((await db.rows()).filter((r) => r.scale === "hour")).toEqual([]);
    await rollUpUsage(env, { now: (hour + 300) * 1000, tables: db.tables });
    expect((await db.rows()).filter((r) => r.scale === "hour")).toEqual([
      { scale: "hour", t: hour - H, n: 1 },
    ]);
    // Today is not final until its last hour is rolled, 5 minutes into tomorrow.
    expect((await db.rows()).filter((r) => r.scale === "day")).toEqual([]);
    const tomorrow = hour - (hour % D) + D;
    await rollUpUsage(env, { now: (tomorrow + 300) * 1000, tables: db.tables });
    expect((await db.rows()).filter((r) => r.scale === "day")).toEqual([
      { scale: "day", t: tomorrow - D, n: 3 },
    ]);
  });

  it("sums the AI keys' tokens into hours and days exactly, their n staying 0", async () => {
    const db = await privateTables();
    const hour = NOW - (NOW % H);
    const insert = (t: number, input: number, output: number) =>
      env.DB.prepare(
        `INSERT INTO ${db.tables.usage}
         (scale, key_id, t, kind, code, transport, caller, repo_id, n, input_tokens, output_tokens)
         VALUES ('minute', 'k', ?1, 'ai', ?2, 'rpc', '', 'r', 0, ?3, ?4)`,
      ).bind(t, TOKENS_CODE, input, output);
    await env.DB.batch([
      insert(hour - 2 * H, 5, 1), // 10:00
      insert(hour - 2 * H + 60, 6, 2), // 10:01
      insert(hour - H + 59 * 60, 7, 3), // 11:59
      insert(hour, 8, 4), // 12:00
    ]);
    const tokenRows = async (scale: string) =>
      (
        await env.DB.prepare(
          `SELECT t, code, n, input_tokens AS input, output_tokens AS output
           FROM ${db.tables.usage} WHERE scale = ?1 ORDER BY t`,
        )
          .bind(scale)
          .all()
      ).results;
    await rollUpUsage(env, { now: (hour + 300) * 1000, tables: db.tables });
    expect(await tokenRows("hour")).toEqual([
      { t: hour - 2 * H, code: TOKENS_CODE, n: 0, input: 11, output: 3 },
      { t: hour - H, code: TOKENS_CODE, n: 0, input: 7, output: 3 },
    ]);
    const tomorrow = hour - (hour % D) + D;
    await rollUpUsage(env, { now: (tomorrow + 300) * 1000, tables: db.tables });
    expect(await tokenRows("day")).toEqual([
      { t: tomorrow - D, code: TOKENS_CODE, n: 0, input: 26, output: 10 },
    ]);
  });

  it("purges minutes after 48 hours, hours after 90 days, days after 400, to the second", async () => {
    const db = await privateTables();
    // Each scale's oldest bucket still kept (its start within the retention), and the one before.
    const ceil = (at: number, size: number) => Math.ceil(at / size) * size;
    const minuteEdge = NOW - KEPT_SECONDS.minute;
    const hourEdge = ceil(NOW - KEPT_SECONDS.hour, H);
    const dayEdge = ceil(NOW - KEPT_SECONDS.day, D);
    await db.insert([
      { scale: "minute", t: minuteEdge - 60, n: 1 },
      { scale: "minute", t: minuteEdge, n: 2 },
      { scale: "hour", t: hourEdge - H, n: 4 },
      { scale: "hour", t: hourEdge, n: 8 },
      { scale: "day", t: dayEdge - D, n: 16 },
      { scale: "day", t: dayEdge, n: 32 },
    ]);
    for (let run = 0; run < 20; run++) {
      if (!(await rollUpUsage(env, { now: NOW * 1000, tables: db.tables })).more) break;
    }
    const rows = await db.rows();
    const at = (scale: string, time: number) =>
      rows.filter((r) => r.scale === scale && r.t === time).reduce((sum, r) => sum + r.n, 0);
    expect(at("minute", minuteEdge - 60)).toBe(0);
    expect(at("minute", minuteEdge)).toBe(2);
    // Both minutes were rolled into their hour before the older one went.
    expect(at("hour", minuteEdge - 60 - ((minuteEdge - 60) % H))).toBe(3);
    expect(at("hour", hourEdge - H)).toBe(0);
    expect(at("hour", hourEdge)).toBe(8);
    // The purged hour was rolled into its day first.
    expect(at("day", hourEdge - H - ((hourEdge - H) % D))).toBe(4 + 8);
    expect(at("day", dayEdge - D)).toBe(0);
    expect(at("day", dayEdge)).toBe(32);
  });

  it("does bounded work per run: a backlog finishes over several runs, each bucket rolled once", async () => {
    const db = await privateTables();
    const base = NOW - (NOW % H) - 40 * H;
    await db.insert(
      Array.from({ length: 30 }, (_, i) => ({
        scale: "minute" as const,
        t: base + i * H + 60,
        n: 1,
      })),
    );
    const limits = { rollSteps: 4, batchSize: 5_000, maxBatches: 10 };
    const first = await rollUpUsage(env, { now: NOW * 1000, limits, tables: db.tables });
    expect(first.more).toBe(true);
    expect((await db.rows()).filter((r) => r.scale === "hour")).toHaveLength(4);
    let runs = 1;
    while ((await rollUpUsage(env, { now: NOW * 1000, limits, tables: db.tables })).more) runs++;
    expect(runs).toBeGreaterThanOrEqual(7);
    const hours = (await db.rows()).filter((r) => r.scale === "hour");
    expect(hours).toHaveLength(30);
    expect(hours.every((r) => r.n === 1)).toBe(true);
  });

  it("purges in LIMITed statements, the rest on the next runs", async () => {
    const db = await privateTables();
    const old = NOW - (NOW % D) - KEPT_SECONDS.day - 10 * D;
    await db.insert(
      Array.from({ length: 7 }, (_, i) => ({ scale: "day" as const, t: old - i * D, n: 1 })),
    );
    const limits = { rollSteps: 24, batchSize: 2, maxBatches: 2 };
    const first = await rollUpUsage(env, { now: NOW * 1000, limits, tables: db.tables });
    expect(first).toMatchObject({ purged: 4, more: true });
    const second = await rollUpUsage(env, { now: NOW * 1000, limits, tables: db.tables });
    expect(second).toMatchObject({ purged: 3, more: false });
    expect(await db.rows()).toEqual([]);
  });
});
