import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { reportTokens } from "../../src/ai-proxy/tokens";
import type { Bindings } from "../../src/env";
import {
  FLUSH_AFTER_MS,
  flushUsage,
  LOST_CALLER,
  LOST_CODE,
  MAX_ENTRIES,
  recordTokens,
  recordVerification,
  TOKENS_CODE,
  usageMemory,
} from "../../src/usage/recorder";
import { call, team } from "../support/api";
import { createAiKey, createStorageKey } from "../support/keys";
import { keyVerifier } from "../verify/support";
import { lastHourOf, settleUsage } from "./support";

// The AI gateway's token usage (src/ai-proxy/tokens.ts) in the usage analytics: recorded with
// the verification counts, shown beside them, never counted as one.

let t: Awaited<ReturnType<typeof team>>;

beforeAll(async () => {
  t = await team();
});

// Whatever another test scheduled is written first, so each test starts with nothing held.
beforeEach(settleUsage);

afterEach(() => vi.restoreAllMocks());

const quiet = () => {};

const usage = (keyId: string, input: number, output: number) => ({
  keyId,
  repoId: t.repoId,
  aiType: "OPENAI",
  model: "gpt-x",
  inputTokens: input,
  outputTokens: output,
});

/** The AI key's usage over the last hour, minute by minute, once what is held is written. */
const aiUsageOf = (keyId: string) =>
  lastHourOf(`/repo/${t.repoId}/ai/apikey/${keyId}/usage`, t.reader);

type Point = { valid: number; refused: Record<string, number>; tokens: Tokens };
type Tokens = { input: number; output: number };

describe("token usage in the usage analytics", () => {
  it("reported N times: exact totals beside the verifications, never a verification or a refusal", async () => {
    const key = await createAiKey(t.admin, t.repoId, { aiType: "OPENAI" });
    for (let i = 0; i < 3; i++) {
      expect((await keyVerifier.verifyAiSecret({ secret: key.secret })).code).toBe("VALID");
    }
    const logs = vi.spyOn(console, "log");
    const answers = [
      [10, 5],
      [7, 0],
      [1_000, 250],
      [3, 2],
    ];
    for (const [input, output] of answers) {
      reportTokens(env as Bindings, quiet, usage(key.id, input ?? 0, output ?? 0));
    }
    // The log line stays, one per answer.
    const lines = logs.mock.calls
      .map(([line]) => JSON.parse(String(line)))
      .filter((line) => line.message === "ai usage");
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatchObject({ keyId: key.id, inputTokens: 1_000, outputTokens: 250 });

    const body = await aiUsageOf(key.id);
    expect(body.totals).toEqual({ valid: 3, refused: {}, tokens: { input: 1_020, output: 257 } });
    const points = body.series as Point[];
    expect(points.every((p) => Object.keys(p.refused).length === 0)).toBe(true);
    expect(points.reduce((sum, p) => sum + p.tokens.input, 0)).toBe(1_020);
    expect(points.reduce((sum, p) => sum + p.tokens.output, 0)).toBe(257);
    expect(points.reduce((sum, p) => sum + p.valid, 0)).toBe(3);

    // The repo's list: the AI key's tokens beside its counts; tokens are no verifications.
    const repo = await call("GET", `/repo/${t.repoId}/usage`, { as: t.reader });
    expect(repo.status, repo.text).toBe(200);
    const row = repo.body.keys.find((k: { id: string }) => k.id === key.id);
    expect(row).toMatchObject({
      kind: "ai",
      total: 3,
      valid: 3,
      refused: {},
      tokens: { input: 1_020, output: 257 },
    });
    // Nor a key list's usage24h.
    const list = await call("GET", `/repo/${t.repoId}/ai/apikey`, { as: t.reader });
    expect(list.status, list.text).toBe(200);
    expect(list.body.apiKeys.find((k: { id: string }) => k.id === key.id)?.usage24h).toBe(3);
  });

  it("a key with tokens and no verification in the range: total 0, nothing refused", async () => {
    const key = await createAiKey(t.admin, t.repoId, { aiType: "ANTHROPIC" });
    reportTokens(env as Bindings, quiet, usage(key.id, 4, 6));
    const body = await aiUsageOf(key.id);
    expect(body.totals).toEqual({ valid: 0, refused: {}, tokens: { input: 4, output: 6 } });
    const repo = await call("GET", `/repo/${t.repoId}/usage`, { as: t.reader });
    expect(repo.body.keys.find((k: { id: string }) => k.id === key.id)).toMatchObject({
      total: 0,
      valid: 0,
      refused: {},
      tokens: { input: 4, output: 6 },
    });
  });

  it("storage keys answer 0 tokens", async () => {
    const key = await createStorageKey(t.admin, t.repoId);
    const response = await call("GET", `/repo/${t.repoId}/apikey/${key.id}/usage`, {
      as: t.reader,
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body.totals.tokens).toEqual({ input: 0, output: 0 });
    expect(
      (response.body.series as Point[]).every((p) => p.tokens.input === 0 && p.tokens.output === 0),
    ).toBe(true);
  });

  it("an answer with no tokens, or counts that are not counts, records nothing", async () => {
    const keyId = crypto.randomUUID();
    reportTokens(env as Bindings, quiet, usage(keyId, 0, 0));
    reportTokens(env as Bindings, quiet, usage(keyId, -5, Number.NaN));
    expect(usageMemory.held()).toBe(0);
    recordTokens(env as Bindings, quiet, {
      keyId,
      repoId: t.repoId,
      inputTokens: 2.7,
      outputTokens: -1,
    });
    await flushUsage(env as Bindings);
    const rows = await env.DB.prepare(
      "SELECT code, n, input_tokens AS input, output_tokens AS output FROM key_usage WHERE key_id = ?1",
    )
      .bind(keyId)
      .all();
    expect(rows.results).toEqual([{ code: TOKENS_CODE, n: 0, input: 2, output: 0 }]);
  });

  it("never writes per answer: tokens and verifications share one D1 batch per flush", async () => {
    let batches = 0;
    let statements = 0;
    const db = new Proxy(env.DB, {
      get(target, property) {
        if (property === "batch") {
          return (list: D1PreparedStatement[]) => {
            batches += 1;
            statements += list.length;
            return target.batch(list);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const bindings = { ...(env as Bindings), DB: db };
    const pending: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => pending.push(p);
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    for (let i = 0; i < 50; i++) {
      reportTokens(bindings, waitUntil, usage(i % 2 ? a : b, 10, 1));
    }
    const { attributed } = await import("../../src/usage/attribution");
    for (let i = 0; i < 10; i++) {
      recordVerification(
        bindings,
        waitUntil,
        "ai",
        { transport: "rpc", caller: "rpc" },
        attributed({ code: "VALID" }, { keyId: a, repoId: t.repoId }),
      );
    }
    expect(pending).toHaveLength(1); // one flush scheduled for them all
    expect(batches).toBe(0); // nothing on the request path
    await Promise.all(pending);
    expect(batches).toBe(1);
    expect(statements).toBe(3); // a's tokens, b's tokens, a's VALID
    const rows = await env.DB.prepare(
      `SELECT key_id AS keyId, code, n, input_tokens AS input, output_tokens AS output
       FROM key_usage WHERE scale = 'minute' AND key_id IN (?1, ?2) ORDER BY key_id = ?1 DESC, code`,
    )
      .bind(a, b)
      .all();
    expect(rows.results).toEqual([
      { keyId: a, code: TOKENS_CODE, n: 0, input: 250, output: 25 },
      { keyId: a, code: "VALID", n: 10, input: 0, output: 0 },
      { keyId: b, code: TOKENS_CODE, n: 0, input: 250, output: 25 },
    ]);
    expect(FLUSH_AFTER_MS).toBeLessThanOrEqual(5_000);
  });

  it("a failed flush: retried once, then each report counted as lost with its tokens, loudly", async () => {
    const failing = {
      ...(env as Bindings),
      DB: {
        prepare: env.DB.prepare.bind(env.DB),
        batch: () => Promise.reject(new Error("D1 down")),
      },
    } as unknown as Bindings;
    const lostRow = () =>
      env.DB.prepare(
        `SELECT coalesce(sum(n), 0) AS n, coalesce(sum(input_tokens), 0) AS input,
         coalesce(sum(output_tokens), 0) AS output FROM key_usage
         WHERE key_id = '' AND caller = ?1 AND code = ?2`,
      )
        .bind(LOST_CALLER, LOST_CODE)
        .first<{ n: number; input: number; output: number }>();
    const before = await lostRow();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const keyId = crypto.randomUUID();
    reportTokens(failing, quiet, usage(keyId, 30, 3));
    reportTokens(failing, quiet, usage(keyId, 12, 4));
    await flushUsage(failing);
    expect(usageMemory.held()).toBe(1); // kept for one more try
    expect(usageMemory.lost()).toBe(0);
    await flushUsage(failing);
    expect(usageMemory.held()).toBe(0);
    expect(usageMemory.lost()).toBe(2);
    expect(usageMemory.lostTokens()).toEqual({ input: 42, output: 7 });
    const lines = errors.mock.calls.map((args) => String(args[0]));
    expect(
      lines.some(
        (l) => l.includes("recording verification usage failed") && l.includes('"count":2'),
      ),
    ).toBe(true);
    errors.mockRestore();

    await flushUsage(env as Bindings);
    expect(usageMemory.lost()).toBe(0);
    const after = await lostRow();
    expect(after).toEqual({
      n: (before?.n ?? 0) + 2,
      input: (before?.input ?? 0) + 42,
      output: (before?.output ?? 0) + 7,
    });
    const row = await env.DB.prepare("SELECT count(*) AS n FROM key_usage WHERE key_id = ?1")
      .bind(keyId)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });

  it("memory full: a token report is lost, counted, never held", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    for (let i = 0; i < MAX_ENTRIES; i++) {
      recordVerification(
        env as Bindings,
        quiet,
        "storage",
        { transport: "http", caller: `flood-${i}` },
        { code: "MALFORMED" },
      );
    }
    reportTokens(env as Bindings, quiet, usage(crypto.randomUUID(), 9, 1));
    expect(usageMemory.held()).toBe(MAX_ENTRIES);
    expect(usageMemory.lost()).toBe(1);
    expect(usageMemory.lostTokens()).toEqual({ input: 9, output: 1 });
    const lines = errors.mock.calls.map((args) => String(args[0]));
    expect(lines.filter((l) => l.includes("too many distinct counts"))).toHaveLength(1);
    errors.mockRestore();
    usageMemory.clear();
  });

  it("records no tokens with USAGE_RECORDING=off (the log line stays)", async () => {
    const off = { ...(env as Bindings), USAGE_RECORDING: "off" };
    const pending: Promise<unknown>[] = [];
    const logs = vi.spyOn(console, "log");
    reportTokens(off, (p) => pending.push(p), usage(crypto.randomUUID(), 5, 5));
    expect(usageMemory.held()).toBe(0);
    expect(pending).toHaveLength(0);
    expect(
      logs.mock.calls.filter(([line]) => String(line).includes('"message":"ai usage"')),
    ).toHaveLength(1);
  });
});
