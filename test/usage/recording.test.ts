import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { newAiCredentials } from "../../src/crypto/credentials";
import type { Bindings } from "../../src/env";
import { attributed } from "../../src/usage/attribution";
import {
  FLUSH_AFTER_MS,
  flushUsage,
  LOST_CALLER,
  LOST_CODE,
  MAX_ENTRIES,
  recordVerification,
  usageMemory,
} from "../../src/usage/recorder";
import { clearBlocks } from "../../src/verify/failures";
import { verifyS3Request } from "../../src/verify/s3";
import { issueCredentials, signedWithToken } from "../credentials/support";
import { call, team } from "../support/api";
import { createAiKey, createStorageKey } from "../support/keys";
import { gatewayToken, keyVerifier, signedS3Request } from "../verify/support";
import { lastHourOf, settleUsage } from "./support";

let t: Awaited<ReturnType<typeof team>>;

beforeAll(async () => {
  t = await team();
});

// Whatever another test scheduled is written first, so each test starts with nothing held.
beforeEach(settleUsage);

const objectPath = () => `/${t.repoId}/usage/a.txt`;

/** POST /verify/<kind> as the gateway `gatewayId`. */
async function verifyAs(gatewayId: string, kind: "s3" | "ai", body: unknown) {
  const response = await call("POST", `/verify/${kind}`, {
    authorization: `Bearer ${await gatewayToken(gatewayId)}`,
    body,
  });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** The key's usage over the last hour, minute by minute, once what is held is written. */
const usageOf = (path: string, as = t.admin) => lastHourOf(path, as);

describe("recording verification outcomes", () => {
  it("counts each outcome of a storage key exactly, by code, over HTTP and RPC alike", async () => {
    const key = await createStorageKey(t.admin, t.repoId, { accessType: "WRITE" });
    const valid = await signedS3Request(key, { path: objectPath() });
    const wrong = await signedS3Request(
      { key: key.key, secret: `${key.secret.slice(0, -1)}x` },
      { path: objectPath() },
    );
    for (let i = 0; i < 5; i++) expect((await verifyAs("gw-a", "s3", valid)).code).toBe("VALID");
    for (let i = 0; i < 3; i++)
      expect((await keyVerifier.verifyS3Request(valid)).code).toBe("VALID");
    for (let i = 0; i < 2; i++) {
      expect((await verifyAs("gw-a", "s3", wrong)).code).toBe("SIGNATURE_MISMATCH");
    }
    const read = await createStorageKey(t.admin, t.repoId, { accessType: "READ" });
    const put = await signedS3Request(read, { method: "PUT", path: objectPath() });
    expect((await verifyAs("gw-a", "s3", { ...put, requiredAccess: "WRITE" })).code).toBe(
      "INSUFFICIENT_ACCESS",
    );

    const usage = await usageOf(`/repo/${t.repoId}/apikey/${key.id}/usage`);
    expect(usage.totals).toEqual({
      valid: 8,
      refused: { SIGNATURE_MISMATCH: 2 },
      tokens: { input: 0, output: 0 },
    });
    const points = usage.series.filter((p: { valid: number }) => p.valid > 0);
    expect(points.reduce((sum: number, p: { valid: number }) => sum + p.valid, 0)).toBe(8);
    const other = await usageOf(`/repo/${t.repoId}/apikey/${read.id}/usage`);
    expect(other.totals).toEqual({
      valid: 0,
      refused: { INSUFFICIENT_ACCESS: 1 },
      tokens: { input: 0, output: 0 },
    });
  });

  it("counts an AI key's outcomes, a disabled key's refusals under that key", async () => {
    const key = await createAiKey(t.admin, t.repoId);
    for (let i = 0; i < 4; i++)
      expect((await verifyAs("gw-a", "ai", { secret: key.secret })).code).toBe("VALID");
    expect((await keyVerifier.verifyAiSecret({ secret: key.secret })).code).toBe("VALID");
    const disabled = await call("PUT", `/repo/${t.repoId}/ai/apikey/${key.id}`, {
      as: t.admin,
      body: { status: "INACTIVE" },
    });
    expect(disabled.status, disabled.text).toBe(200);
    // The verifier remembers keys for VERIFY_CACHE_TTL_SECONDS: wait for it to see the change.
    let code = "VALID";
    const deadline = Date.now() + 20_000;
    let stillValid = 0;
    while (code === "VALID" && Date.now() < deadline) {
      code = (await verifyAs("gw-a", "ai", { secret: key.secret })).code;
      if (code === "VALID") {
        stillValid += 1;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    expect(code).toBe("DISABLED");
    const usage = await usageOf(`/repo/${t.repoId}/ai/apikey/${key.id}/usage`);
    expect(usage.totals).toEqual({
      valid: 5 + stillValid,
      refused: { DISABLED: 1 },
      tokens: { input: 0, output: 0 },
    });
  });

  it("counts whatever code the verification answers: RATE_LIMITED under the key it names", async () => {
    const key = await createStorageKey(t.admin, t.repoId);
    const wrong = await signedS3Request(
      { key: key.key, secret: `${key.secret.slice(0, -1)}y` },
      { path: objectPath() },
    );
    // A limiter that says every subject is over: each failure is answered RATE_LIMITED.
    const over = {
      ...(env as Bindings),
      VERIFY_FAILURES: { limit: async () => ({ success: false }) },
    } as Bindings;
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await verifyS3Request(over, wrong, (p) => pending.push(p));
      expect(answer.code).toBe("RATE_LIMITED");
      recordVerification(
        over,
        (p) => pending.push(p),
        "storage",
        { transport: "rpc", caller: "rpc" },
        answer,
      );
    }
    clearBlocks();
    const usage = await usageOf(`/repo/${t.repoId}/apikey/${key.id}/usage`);
    expect(usage.totals).toEqual({
      valid: 0,
      refused: { RATE_LIMITED: 3 },
      tokens: { input: 0, output: 0 },
    });
  });

  it("counts a temporary credential's verifications under its parent key", async () => {
    const parent = await createStorageKey(t.admin, t.repoId, { accessType: "WRITE" });
    const issued = await issueCredentials(t.admin, t.repoId, parent.id, { permission: "READ" });
    const input = await signedWithToken(issued, { path: objectPath() });
    for (let i = 0; i < 3; i++) expect((await verifyAs("gw-a", "s3", input)).code).toBe("VALID");
    expect((await keyVerifier.verifyS3Request(input)).code).toBe("VALID");
    const usage = await usageOf(`/repo/${t.repoId}/apikey/${parent.id}/usage`);
    expect(usage.totals).toEqual({ valid: 4, refused: {}, tokens: { input: 0, output: 0 } });
  });

  it("counts refusals that name no key per caller: the gateway's subject, or rpc", async () => {
    const gateway = `gw-${crypto.randomUUID()}`;
    const unknown = await signedS3Request(
      { key: "FBAK0000000000000000", secret: "x".repeat(40) },
      { path: objectPath() },
    );
    for (let i = 0; i < 3; i++) {
      expect((await verifyAs(gateway, "s3", unknown)).code).toBe("INVALID_ACCESS_KEY");
    }
    expect((await verifyAs(gateway, "ai", { secret: newAiCredentials().secret })).code).toBe(
      "INVALID",
    );
    const before = await unattributed();
    const rpcBefore = rpcCount(before, "storage");
    expect((await keyVerifier.verifyS3Request(unknown)).code).toBe("INVALID_ACCESS_KEY");
    const after = await unattributed();
    const mine = after.callers.filter((c: { caller: string }) => c.caller === gateway);
    expect(mine).toEqual([
      {
        caller: gateway,
        kind: "storage",
        transport: "http",
        total: 3,
        refused: { INVALID_ACCESS_KEY: 3 },
      },
      { caller: gateway, kind: "ai", transport: "http", total: 1, refused: { INVALID: 1 } },
    ]);
    expect(rpcCount(after, "storage")).toBe(rpcBefore + 1);
  });

  it("never writes per verification: one D1 batch per flush, after FLUSH_AFTER_MS", async () => {
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
    const keyId = crypto.randomUUID();
    for (let i = 0; i < 100; i++) {
      recordVerification(
        bindings,
        (p) => pending.push(p),
        "storage",
        { transport: "http", caller: "x" },
        withKey({ code: i % 2 ? "VALID" : "SIGNATURE_MISMATCH" }, keyId),
      );
    }
    expect(pending).toHaveLength(1); // one flush scheduled for them all
    expect(batches).toBe(0); // nothing on the request path
    await Promise.all(pending);
    expect(batches).toBe(1);
    expect(statements).toBe(2); // one upsert per (key, minute, code, transport)
    const rows = await env.DB.prepare(
      "SELECT code, n FROM key_usage WHERE scale = 'minute' AND key_id = ?1 ORDER BY code",
    )
      .bind(keyId)
      .all();
    expect(rows.results).toEqual([
      { code: "SIGNATURE_MISMATCH", n: 50 },
      { code: "VALID", n: 50 },
    ]);
    expect(FLUSH_AFTER_MS).toBeLessThanOrEqual(5_000);
  });

  it("retries a failed flush once, then counts it as lost: a log line, then a USAGE_FLUSH_LOST count", async () => {
    const failing = {
      ...(env as Bindings),
      DB: {
        prepare: env.DB.prepare.bind(env.DB),
        batch: () => Promise.reject(new Error("D1 down")),
      },
    } as unknown as Bindings;
    const before = lostCount(await unattributed());
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const keyId = crypto.randomUUID();
    for (let i = 0; i < 3; i++) {
      recordVerification(
        failing,
        () => {},
        "ai",
        { transport: "rpc", caller: "rpc" },
        withKey({ code: "VALID" }, keyId),
      );
    }
    await flushUsage(failing);
    expect(usageMemory.held()).toBe(1); // kept for one more try
    expect(usageMemory.lost()).toBe(0);
    await flushUsage(failing);
    expect(usageMemory.held()).toBe(0);
    expect(usageMemory.lost()).toBe(3);
    const lines = errors.mock.calls.map((args) => String(args[0]));
    expect(
      lines.some(
        (l) => l.includes("recording verification usage failed") && l.includes('"count":3'),
      ),
    ).toBe(true);
    errors.mockRestore();

    await flushUsage(env as Bindings);
    expect(usageMemory.lost()).toBe(0);
    expect(lostCount(await unattributed())).toBe(before + 3);
    const row = await env.DB.prepare("SELECT count(*) AS n FROM key_usage WHERE key_id = ?1")
      .bind(keyId)
      .first<{ n: number }>();
    expect(row?.n).toBe(0);
  });

  it("holds at most MAX_ENTRIES distinct counts; beyond them it counts loss, loudly", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const quiet = () => {};
    for (let i = 0; i < MAX_ENTRIES + 5; i++) {
      recordVerification(
        env as Bindings,
        quiet,
        "storage",
        { transport: "http", caller: `flood-${i}` },
        { code: "MALFORMED" },
      );
    }
    expect(usageMemory.held()).toBe(MAX_ENTRIES);
    expect(usageMemory.lost()).toBe(5);
    const lines = errors.mock.calls.map((args) => String(args[0]));
    expect(lines.filter((l) => l.includes("too many distinct counts"))).toHaveLength(1);
    errors.mockRestore();
    usageMemory.clear();
  });

  it("records nothing with USAGE_RECORDING=off", async () => {
    const off = { ...(env as Bindings), USAGE_RECORDING: "off" };
    const pending: Promise<unknown>[] = [];
    recordVerification(
      off,
      (p) => pending.push(p),
      "storage",
      { transport: "http", caller: "x" },
      { code: "VALID" },
    );
    expect(usageMemory.held()).toBe(0);
    expect(pending).toHaveLength(0);
  });
});

afterEach(() => vi.restoreAllMocks());

/** An answer counted under `keyId` (as src/verify's verifiers mark theirs). */
function withKey<A extends object>(answer: A, keyId: string): A {
  return attributed(answer, { keyId, repoId: t.repoId });
}

const unattributed = () => lastHourOf(`/workspace/${t.workspaceId}/usage/unattributed`, t.admin);

type Unattributed = {
  callers: {
    caller: string;
    kind: string;
    transport: string;
    total: number;
    refused: Record<string, number>;
  }[];
};

const rpcCount = (body: Unattributed, kind: string) =>
  body.callers
    .filter((c) => c.caller === "rpc" && c.kind === kind && c.transport === "rpc")
    .reduce((sum, c) => sum + c.total, 0);

const lostCount = (body: Unattributed) =>
  body.callers
    .filter((c) => c.caller === LOST_CALLER)
    .reduce((sum, c) => sum + (c.refused[LOST_CODE] ?? 0), 0);
