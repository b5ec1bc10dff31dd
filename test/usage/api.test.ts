import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import { recentValidRead } from "../../src/usage/recent";
import { flushUsage, usageMemory } from "../../src/usage/recorder";
import { call, expectError, team } from "../support/api";
import { createAiKey, createStorageKey } from "../support/keys";
import { gatewayToken, signedS3Request } from "../verify/support";

let t: Awaited<ReturnType<typeof team>>;

beforeAll(async () => {
  t = await team();
});

/** Minute rows written straight into D1: `ago` seconds back, n verifications of `code`. */
async function seed(
  keyId: string,
  rows: { ago: number; code?: string; n: number; kind?: "storage" | "ai" }[],
  repoId = t.repoId,
) {
  const now = Math.floor(Date.now() / 1000);
  await env.DB.batch(
    rows.map(({ ago, code = "VALID", n, kind = "storage" }) =>
      env.DB.prepare(
        `INSERT INTO key_usage (scale, key_id, t, kind, code, transport, caller, repo_id, n)
         VALUES ('minute', ?1, ?2, ?3, ?4, 'http', '', ?5, ?6)
         ON CONFLICT DO UPDATE SET n = n + excluded.n`,
      ).bind(keyId, Math.floor((now - ago) / 60) * 60, kind, code, repoId, n),
    ),
  );
}

/**
 * Runs `fn` with the real hour watermark (usage_rollups) at `through`, then puts back what was
 * there: a key list reads the hours below it from hour rows (src/usage/recent.ts), and another
 * file's cron run may have moved it past the minute rows a test writes by hand.
 */
async function withHourWatermark<T>(through: number, fn: () => Promise<T>): Promise<T> {
  const saved = await env.DB.prepare(
    "SELECT through FROM usage_rollups WHERE scale = 'hour'",
  ).first<{ through: number }>();
  await env.DB.prepare(
    `INSERT INTO usage_rollups (scale, through) VALUES ('hour', ?1)
     ON CONFLICT (scale) DO UPDATE SET through = excluded.through`,
  )
    .bind(through)
    .run();
  try {
    return await fn();
  } finally {
    await (saved
      ? env.DB.prepare("UPDATE usage_rollups SET through = ?1 WHERE scale = 'hour'").bind(
          saved.through,
        )
      : env.DB.prepare("DELETE FROM usage_rollups WHERE scale = 'hour'")
    ).run();
  }
}

const usagePath = (keyId: string, query = "") =>
  `/repo/${t.repoId}/apikey/${keyId}/usage${query ? `?${query}` : ""}`;

describe("GET …/apikey/{id}/usage", () => {
  it("answers the last 24 hours by hour by default, every hour a point, with totals", async () => {
    const key = await createStorageKey(t.admin, t.repoId);
    await seed(key.id, [
      { ago: 120, n: 7 },
      { ago: 120, code: "SIGNATURE_MISMATCH", n: 2 },
      { ago: 240, n: 3 },
      { ago: 30 * 3600, n: 100 }, // outside the last 24 hours
    ]);
    const response = await call("GET", usagePath(key.id), { as: t.reader });
    expect(response.status, response.text).toBe(200);
    const body = response.body;
    expect(body.granularity).toBe("hour");
    expect(body.series.length).toBeGreaterThanOrEqual(24);
    expect(body.series.length).toBeLessThanOrEqual(25);
    expect(body.totals).toEqual({
      valid: 10,
      refused: { SIGNATURE_MISMATCH: 2 },
      tokens: { input: 0, output: 0 },
    });
    const hours = body.series.map((p: { t: string }) => Date.parse(p.t));
    expect(hours.every((h: number, i: number) => i === 0 || h - hours[i - 1] === 3_600_000)).toBe(
      true,
    );
    expect(body.series.at(-1).valid + (body.series.at(-2)?.valid ?? 0)).toBeGreaterThanOrEqual(7);
  });

  it("answers by minute and by day when asked", async () => {
    const key = await createStorageKey(t.admin, t.repoId);
    await seed(key.id, [{ ago: 60, n: 4 }]);
    const from = new Date(Date.now() - 600_000).toISOString();
    const minutes = await call("GET", usagePath(key.id, `from=${from}&granularity=minute`), {
      as: t.admin,
    });
    expect(minutes.status, minutes.text).toBe(200);
    expect(minutes.body.series.length).toBeGreaterThanOrEqual(10);
    expect(minutes.body.totals.valid).toBe(4);
    const days = await call(
      "GET",
      usagePath(key.id, `from=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`),
      { as: t.admin },
    );
    expect(days.status, days.text).toBe(200);
    expect(days.body.granularity).toBe("day");
    expect(days.body.totals.valid).toBe(4);
  });

  it("refuses bad ranges and granularities with 400 JSON, saying why", async () => {
    const key = await createStorageKey(t.admin, t.repoId);
    expectError(
      await call("GET", usagePath(key.id, "granularity=week"), { as: t.admin }),
      400,
      /granularity/,
    );
    expectError(
      await call("GET", usagePath(key.id, "from=yesterday"), { as: t.admin }),
      400,
      /from/,
    );
    const now = Date.now();
    expectError(
      await call(
        "GET",
        usagePath(
          key.id,
          `from=${new Date(now).toISOString()}&to=${new Date(now - 1000).toISOString()}`,
        ),
        { as: t.admin },
      ),
      400,
      "from must be before to",
    );
    expectError(
      await call(
        "GET",
        usagePath(
          key.id,
          `from=${new Date(now - 3 * 86_400_000).toISOString()}&granularity=minute`,
        ),
        { as: t.admin },
      ),
      400,
      /too large for granularity minute: at most 48 hours/,
    );
    expectError(
      await call(
        "GET",
        usagePath(key.id, `from=${new Date(now - 500 * 86_400_000).toISOString()}&granularity=day`),
        { as: t.admin },
      ),
      400,
      /at most 400 days/,
    );
  });

  it("is 404 for a key of another repo or kind, 403 for non-members", async () => {
    const key = await createStorageKey(t.admin, t.repoId);
    const ai = await createAiKey(t.admin, t.repoId);
    expectError(await call("GET", usagePath(ai.id), { as: t.admin }), 404);
    expectError(
      await call("GET", `/repo/${t.repoId}/ai/apikey/${key.id}/usage`, { as: t.admin }),
      404,
    );
    expectError(await call("GET", usagePath(key.id), { as: t.outsider }), 403);
    const ok = await call("GET", `/repo/${t.repoId}/ai/apikey/${ai.id}/usage`, { as: t.reader });
    expect(ok.status, ok.text).toBe(200);
  });
});

describe("GET /repo/{id}/usage", () => {
  it("lists the repo's keys busiest first, both kinds, paged", async () => {
    const own = await team();
    const quiet = await createStorageKey(own.admin, own.repoId, { name: "quiet" });
    const busy = await createStorageKey(own.admin, own.repoId, { name: "busy" });
    const ai = await createAiKey(own.admin, own.repoId, { name: "ai" });
    await seed(quiet.id, [{ ago: 60, n: 1 }], own.repoId);
    await seed(
      busy.id,
      [
        { ago: 60, n: 9 },
        { ago: 120, code: "EXPIRED", n: 1 },
      ],
      own.repoId,
    );
    await seed(ai.id, [{ ago: 60, n: 5, kind: "ai" }], own.repoId);
    const first = await call("GET", `/repo/${own.repoId}/usage?limit=2`, { as: own.reader });
    expect(first.status, first.text).toBe(200);
    expect(first.body.keys).toEqual([
      {
        id: busy.id,
        kind: "storage",
        name: "busy",
        key: busy.key,
        deleted: false,
        total: 10,
        valid: 9,
        refused: { EXPIRED: 1 },
        tokens: { input: 0, output: 0 },
      },
      {
        id: ai.id,
        kind: "ai",
        name: "ai",
        key: ai.key,
        deleted: false,
        total: 5,
        valid: 5,
        refused: {},
        tokens: { input: 0, output: 0 },
      },
    ]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call(
      "GET",
      `/repo/${own.repoId}/usage?limit=2&cursor=${first.body.nextCursor}`,
      { as: own.reader },
    );
    expect(second.body.keys.map((k: { id: string }) => k.id)).toEqual([quiet.id]);
    expect(second.body.nextCursor).toBeNull();
    expectError(await call("GET", `/repo/${own.repoId}/usage`, { as: t.admin }), 403);
    expectError(await call("GET", `/repo/${own.repoId}/usage?cursor=nope`, { as: own.admin }), 400);
  });
});

describe("key lists' usage24h", () => {
  it("is each key's VALID verifications in the last 24 hours, for both kinds", async () => {
    const own = await team();
    const used = await createStorageKey(own.admin, own.repoId);
    const unused = await createStorageKey(own.admin, own.repoId);
    const ai = await createAiKey(own.admin, own.repoId);
    await seed(
      used.id,
      [
        { ago: 60, n: 3 },
        { ago: 23 * 3600, n: 4 },
        { ago: 60, code: "SIGNATURE_MISMATCH", n: 50 },
        { ago: 25 * 3600, n: 1000 },
      ],
      own.repoId,
    );
    await seed(ai.id, [{ ago: 60, n: 2, kind: "ai" }], own.repoId);
    // Minute rows written by hand are never rolled up: no hour is final for this read.
    const list = await withHourWatermark(0, () =>
      call("GET", `/repo/${own.repoId}/apikey`, { as: own.reader }),
    );
    expect(list.status, list.text).toBe(200);
    const usage = Object.fromEntries(
      list.body.keys.map((k: { id: string; usage24h: number }) => [k.id, k.usage24h]),
    );
    expect(usage).toEqual({ [used.id]: 7, [unused.id]: 0 });
    const paged = await call("GET", `/repo/${own.repoId}/apikey?limit=1`, { as: own.reader });
    expect(paged.status, paged.text).toBe(200);
    expect(paged.body.keys[0].usage24h).toBe(0); // newest first: `unused`
    const aiList = await call("GET", `/repo/${own.repoId}/ai/apikey`, { as: own.reader });
    expect(aiList.body.apiKeys[0].usage24h).toBe(2);
  });
});

describe("usage24h's read (src/usage/recent.ts)", () => {
  it("takes rolled hours from hour rows, and minutes only before the first whole hour and after the watermark", async () => {
    const own = await team();
    const key = await createStorageKey(own.admin, own.repoId);
    const at = (iso: string) => Date.parse(iso) / 1000;
    // Now 2026-01-02 12:30: the window starts 2026-01-01 12:30, its first whole hour is 13:00,
    // and the cron has rolled every hour before 2026-01-02 11:00.
    const now = Date.parse("2026-01-02T12:30:00Z");
    const rows: [string, string, string, number][] = [
      ["minute", "2026-01-01T12:20:00Z", "VALID", 1000], // before the window
      ["minute", "2026-01-01T12:40:00Z", "VALID", 1], // the first, partial hour: its minutes
      ["minute", "2026-01-01T12:40:00Z", "SIGNATURE_MISMATCH", 50], // not VALID
      ["hour", "2026-01-01T12:00:00Z", "VALID", 5000], // the hour the window starts inside
      ["hour", "2026-01-01T13:00:00Z", "VALID", 10], // rolled: its hour row …
      ["minute", "2026-01-01T13:10:00Z", "VALID", 100], // … not its minutes
      ["hour", "2026-01-02T11:00:00Z", "VALID", 7000], // not rolled yet (at the watermark)
      ["minute", "2026-01-02T11:30:00Z", "VALID", 2], // after the watermark: its minutes
    ];
    await env.DB.batch(
      rows.map(([scale, t, code, n]) =>
        env.DB.prepare(
          `INSERT INTO key_usage (scale, key_id, t, kind, code, transport, caller, repo_id, n)
           VALUES (?1, ?2, ?3, 'storage', ?4, 'http', '', ?5, ?6)`,
        ).bind(scale, key.id, at(t), code, own.repoId, n),
      ),
    );
    const read = (userId: string) => {
      const { statement, rowsOf } = recentValidRead(
        env.DB,
        { repoId: own.repoId, userId, readers: ["READ", "WRITE", "ADMIN"] },
        now,
      );
      return statement.all().then(rowsOf);
    };
    await withHourWatermark(at("2026-01-02T11:00:00Z"), async () => {
      expect(await read(own.reader)).toEqual([{ keyId: key.id, n: 1 + 10 + 2 }]);
      // An outsider's read finds nothing (and seeks nothing: test/access/refusal-cost).
      expect(await read(own.outsider)).toEqual([]);
    });
  });
});

describe("GET /workspace/{id}/usage/unattributed", () => {
  it("is for workspace ADMINs only", async () => {
    for (const who of [t.writer, t.reader, t.outsider]) {
      expectError(
        await call("GET", `/workspace/${t.workspaceId}/usage/unattributed`, { as: who }),
        403,
      );
    }
    const gateway = `gw-${crypto.randomUUID()}`;
    const unknown = await signedS3Request(
      { key: "FBAK0000000000000001", secret: "y".repeat(40) },
      { path: `/${t.repoId}/x` },
    );
    await call("POST", "/verify/s3", {
      authorization: `Bearer ${await gatewayToken(gateway)}`,
      body: unknown,
    });
    await usageMemory.settled();
    await flushUsage(env as Bindings);
    const answer = await call("GET", `/workspace/${t.workspaceId}/usage/unattributed`, {
      as: t.admin,
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.callers).toContainEqual({
      caller: gateway,
      kind: "storage",
      transport: "http",
      total: 1,
      refused: { INVALID_ACCESS_KEY: 1 },
    });
  });
});
