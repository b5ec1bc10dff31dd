import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { newAiCredentials, newStorageCredentials } from "../../src/crypto/credentials";
import type { Bindings } from "../../src/env";
import { verifyAiSecret } from "../../src/verify/ai";
import { verifyS3Request } from "../../src/verify/s3";
import { call, team, withinOneRateLimitWindow } from "../support/api";
import { countingDb, createAiKey, createStorageKey } from "../support/keys";
import { signedS3Request, verifyAiHttp, verifyS3Http } from "./support";

let admin: string;
let repoId: string;

beforeAll(async () => {
  ({ admin, repoId } = await team());
});

afterEach(() => {
  vi.restoreAllMocks();
});

const ignoreWaitUntil = () => {};
const LIMIT = 100; // wrangler.toml: [[ratelimits]] VERIFY_FAILURES, 100 per 60 s
const verifyS3 = (input: Parameters<typeof verifyS3Request>[1], on = env as Bindings) =>
  verifyS3Request(on, input, ignoreWaitUntil);
const verifyAi = (input: Parameters<typeof verifyAiSecret>[1], on = env as Bindings) =>
  verifyAiSecret(on, input, ignoreWaitUntil);

/** A client address no other test uses: blocks are per address. */
let addresses = 0;
const newAddress = () => `198.18.${Math.floor(Math.random() * 250)}.${++addresses}`;

/** Blocks `clientIp` with LIMIT + 1 unsigned-looking (malformed) requests: no key involved. */
async function block(clientIp: string) {
  const garbled = {
    method: "GET",
    url: "https://s3.flashgate.test/x",
    headers: { authorization: "AWS4-HMAC-SHA256 garbage" },
    clientIp,
  };
  for (let i = 0; i <= LIMIT; i++) await verifyS3(garbled);
  expect((await verifyS3(garbled)).code).toBe("RATE_LIMITED");
}

/**
 * The work the verifications `run` makes: D1 round trips, sealed secrets opened (one per
 * signing-key derivation), HMAC signs (key derivation, AI secret digests), HMAC verifies
 * (signature checks), and calls to the Rate Limiting binding.
 */
async function workOf(run: (on: Bindings) => Promise<void>) {
  const { db, roundTrips } = countingDb();
  const counted: string[] = [];
  const limiter = (env as Bindings).VERIFY_FAILURES as RateLimit;
  const opened = vi.spyOn(crypto.subtle, "decrypt");
  const signs = vi.spyOn(crypto.subtle, "sign");
  const verifies = vi.spyOn(crypto.subtle, "verify");
  try {
    await run({
      ...(env as Bindings),
      DB: db,
      VERIFY_FAILURES: {
        limit(options) {
          counted.push(options.key);
          return limiter.limit(options);
        },
      },
    });
    return {
      d1Reads: roundTrips(),
      secretsOpened: opened.mock.calls.length,
      hmacSigns: signs.mock.calls.length,
      hmacVerifies: verifies.mock.calls.length,
      limiterCalls: counted.length,
    };
  } finally {
    opened.mockRestore();
    signs.mockRestore();
    verifies.mockRestore();
  }
}

const none = { d1Reads: 0, secretsOpened: 0, hmacSigns: 0, hmacVerifies: 0, limiterCalls: 0 };

// Each may first wait up to 10 s for a fresh rate-limit window (withinOneRateLimitWindow).
describe("failed verifications", { timeout: 30_000 }, () => {
  it("are limited per client address: then its failures are SlowDown, while a correct signature from it is still VALID", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = await createStorageKey(admin, repoId);
    await withinOneRateLimitWindow();
    const good = await signedS3Request(key, { path: `/${repoId}/a` });
    const wrongSecret = await signedS3Request(
      { key: key.key, secret: "x".repeat(40) },
      { path: `/${repoId}/a` },
    );
    const clientIp = newAddress();
    const codes: string[] = [];
    for (let i = 0; i <= LIMIT; i++)
      codes.push((await verifyS3({ ...wrongSecret, clientIp })).code);
    expect(codes.slice(0, LIMIT).every((code) => code === "SIGNATURE_MISMATCH")).toBe(true);
    expect(codes[LIMIT]).toBe("RATE_LIMITED");
    expect(await verifyS3({ ...wrongSecret, clientIp })).toMatchObject({
      valid: false,
      code: "RATE_LIMITED",
      s3Error: "SlowDown",
    });
    expect((await verifyS3({ ...good, clientIp })).code).toBe("VALID");
    expect((await verifyS3({ ...wrongSecret, clientIp })).code).toBe("RATE_LIMITED");

    // Logged once, as JSON naming the subject, never a secret or signature.
    const lines = warn.mock.calls.map((args) => String(args[0]));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) {
      expect(JSON.parse(line)).toMatchObject({ level: "warn", lastFailure: "SIGNATURE_MISMATCH" });
      expect(line).not.toContain(key.secret);
      expect(line).not.toContain((good.headers.authorization as string).slice(-64));
    }
  });

  it("105 requests signed by a deleted key, or an unknown one, lock no valid key out of their address", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const deleted = await createStorageKey(admin, repoId);
    expect(
      (await call("DELETE", `/repo/${repoId}/apikey/${deleted.id}`, { as: admin })).status,
    ).toBe(200);
    const valid = await createStorageKey(admin, repoId);
    await withinOneRateLimitWindow();
    const stale = await signedS3Request(deleted, { path: `/${repoId}/a` });
    const unknown = await signedS3Request(newStorageCredentials(), { path: `/${repoId}/a` });
    for (const attempt of [stale, unknown]) {
      const clientIp = newAddress();
      const codes: string[] = [];
      for (let i = 0; i < 105; i++) codes.push((await verifyS3({ ...attempt, clientIp })).code);
      expect(new Set(codes.slice(0, LIMIT))).toEqual(
        new Set([attempt === stale ? "REVOKED" : "INVALID_ACCESS_KEY"]),
      );
      expect(new Set(codes.slice(LIMIT))).toEqual(new Set(["RATE_LIMITED"]));

      // Through POST /verify/s3 as a gateway asks: the valid key from the same address is VALID.
      const request = await signedS3Request(valid, { path: `/${repoId}/a` });
      const answer = await verifyS3Http({ ...request, clientIp });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ valid: true, code: "VALID", keyId: valid.id });
      expect((await verifyS3({ ...attempt, clientIp })).code).toBe("RATE_LIMITED");
    }
  });

  it("are limited per access key id too, whoever sends them, yet the key's holder still gets in", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = await createStorageKey(admin, repoId);
    await withinOneRateLimitWindow();
    const wrongSecret = await signedS3Request(
      { key: key.key, secret: "y".repeat(40) },
      { path: `/${repoId}/a` },
    );
    let answer = await verifyS3(wrongSecret);
    for (let i = 0; i < LIMIT; i++) {
      answer = await verifyS3({ ...wrongSecret, clientIp: `203.0.113.${i % 250}` });
    }
    expect(answer.code).toBe("RATE_LIMITED");
    // An access key id is public (presigned URLs carry it): failures by others must not lock
    // out whoever can sign with the secret.
    const holder = await signedS3Request(key, { path: `/${repoId}/a` });
    expect((await verifyS3(holder)).code).toBe("VALID");
    expect((await verifyS3(wrongSecret)).code).toBe("RATE_LIMITED");
  });

  it("of AI secrets are limited per client address: then its failures are RATE_LIMITED, its real secrets still VALID", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = await createAiKey(admin, repoId);
    const deleted = await createAiKey(admin, repoId);
    await call("DELETE", `/repo/${repoId}/ai/apikey/${deleted.id}`, { as: admin });
    const clientIp = newAddress();
    await withinOneRateLimitWindow();
    const codes: string[] = [];
    for (let i = 0; i < 105; i++) {
      codes.push((await verifyAi({ secret: deleted.secret, clientIp })).code);
    }
    expect(new Set(codes.slice(0, LIMIT))).toEqual(new Set(["REVOKED"]));
    expect(new Set(codes.slice(LIMIT))).toEqual(new Set(["RATE_LIMITED"]));
    const blocked = await verifyAiHttp({ secret: key.secret, clientIp });
    expect(blocked.body).toMatchObject({ valid: true, code: "VALID", keyId: key.id });
    expect((await verifyAi({ secret: "fbai_sk_nope", clientIp })).code).toBe("RATE_LIMITED");
    expect((await verifyAi({ secret: newAiCredentials().secret, clientIp })).code).toBe(
      "RATE_LIMITED",
    );
    expect((await verifyAi({ secret: "fbai_sk_nope", clientIp: newAddress() })).code).toBe(
      "INVALID",
    );
  });
});

describe("what a blocked address's failures cost", { timeout: 30_000 }, () => {
  it("S3: no D1 read, derivation or limiter call for what needs no key; at most one D1 read and one derivation each otherwise", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = await createStorageKey(admin, repoId);
    const deleted = await createStorageKey(admin, repoId);
    const seenNever = await createStorageKey(admin, repoId);
    await call("DELETE", `/repo/${repoId}/apikey/${deleted.id}`, { as: admin });
    const path = `/${repoId}/a`;
    const wrong = { key: key.key, secret: "z".repeat(40) };
    // Remembered by this isolate, as keys in use are: their rows and signing keys are cached.
    expect((await verifyS3(await signedS3Request(key, { path }))).code).toBe("VALID");
    expect((await verifyS3(await signedS3Request(deleted, { path }))).code).toBe("REVOKED");
    const clientIp = newAddress();
    await withinOneRateLimitWindow();
    await block(clientIp);

    const twenty = async (on: Bindings, inputs: Parameters<typeof verifyS3Request>[1][]) => {
      for (const input of inputs) {
        expect((await verifyS3({ ...input, clientIp }, on)).code).toBe("RATE_LIMITED");
      }
    };
    const many = <T>(make: (i: number) => Promise<T>) =>
      Promise.all(Array.from({ length: 20 }, (_, i) => make(i)));

    const signed = await signedS3Request(key, { path });
    const unsignedHeader = { ...signed, headers: { ...signed.headers, "x-amz-meta-evil": "1" } };
    const skewed = await signedS3Request(key, {
      path,
      signingDate: new Date(Date.now() - 3_600_000),
    });
    expect(await workOf((on) => twenty(on, Array(20).fill(unsignedHeader)))).toEqual(none);
    expect(await workOf((on) => twenty(on, Array(20).fill(skewed)))).toEqual(none);

    // A deleted key's requests are refused whatever their signature: nothing is checked.
    const stale = await many(() => signedS3Request(deleted, { path }));
    expect(await workOf((on) => twenty(on, stale))).toEqual(none);

    // A wrong secret for a remembered key: the one HMAC that tells it from the right one.
    const mismatched = await many(() => signedS3Request(wrong, { path }));
    expect(await workOf((on) => twenty(on, mismatched))).toEqual({ ...none, hmacVerifies: 20 });

    // Each in a region this key never signed in: one signing-key derivation each (a sealed
    // secret opened, four HMACs), no more. S3_REGION, when set, refuses them before any of it.
    const regions = await many((i) => signedS3Request(wrong, { path, region: `xx-${i}-1` }));
    expect(await workOf((on) => twenty(on, regions))).toEqual({
      ...none,
      secretsOpened: 20,
      hmacSigns: 80,
      hmacVerifies: 20,
    });
    expect(await workOf((on) => twenty({ ...on, S3_REGION: "auto" }, regions))).toEqual(none);

    // The same unknown access key id twenty times: one D1 read, then remembered as unknown.
    const unknownOnce = await signedS3Request(newStorageCredentials(), { path });
    expect(await workOf((on) => twenty(on, Array(20).fill(unknownOnce)))).toEqual({
      ...none,
      d1Reads: 1,
    });
    // Twenty different unknown ids: one D1 read each. It may be a valid key's first use here.
    const unknown = await many(() => signedS3Request(newStorageCredentials(), { path }));
    expect(await workOf((on) => twenty(on, unknown))).toEqual({ ...none, d1Reads: 20 });

    // And that is what a valid key's first use from the blocked address costs: it is VALID.
    const first = await signedS3Request(seenNever, { path });
    let answer: Awaited<ReturnType<typeof verifyS3Request>> | undefined;
    const work = await workOf(async (on) => {
      answer = await verifyS3({ ...first, clientIp }, on);
    });
    expect(answer?.code).toBe("VALID");
    expect(work).toEqual({ ...none, d1Reads: 1, secretsOpened: 1, hmacSigns: 4, hmacVerifies: 1 });
  });

  it("S3: an address not blocked pays a limiter call per subject for each failure", async () => {
    const key = await createStorageKey(admin, repoId);
    const mismatched = await signedS3Request(
      { key: key.key, secret: "w".repeat(40) },
      { path: `/${repoId}/a` },
    );
    const clientIp = newAddress();
    const work = await workOf(async (on) => {
      expect((await verifyS3({ ...mismatched, clientIp }, on)).code).toBe("SIGNATURE_MISMATCH");
    });
    expect(work).toEqual({
      d1Reads: 1,
      secretsOpened: 1,
      hmacSigns: 4,
      hmacVerifies: 1,
      limiterCalls: 2,
    });
  });

  it("AI: a checksum failure costs nothing; a well-formed unknown secret its digests and, once per 5 s, a D1 read", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const deleted = await createAiKey(admin, repoId);
    await call("DELETE", `/repo/${repoId}/ai/apikey/${deleted.id}`, { as: admin });
    expect((await verifyAi({ secret: deleted.secret })).code).toBe("REVOKED");
    const clientIp = newAddress();
    await withinOneRateLimitWindow();
    await block(clientIp);

    const twenty = async (on: Bindings, secrets: string[]) => {
      for (const secret of secrets) {
        expect((await verifyAi({ secret, clientIp }, on)).code).toBe("RATE_LIMITED");
      }
    };
    const forged = (i: number) => `fbai_sk_${String(i).padStart(50, "A")}`;
    expect(
      await workOf((on) =>
        twenty(
          on,
          Array.from({ length: 20 }, (_, i) => forged(i)),
        ),
      ),
    ).toEqual(none);
    // Two keyring versions (test bindings): two HMAC digests per well-formed secret.
    const unissued = newAiCredentials().secret;
    expect(await workOf((on) => twenty(on, Array(20).fill(unissued)))).toEqual({
      ...none,
      d1Reads: 1,
      hmacSigns: 40,
    });
    const unissuedEach = Array.from({ length: 20 }, () => newAiCredentials().secret);
    expect(await workOf((on) => twenty(on, unissuedEach))).toEqual({
      ...none,
      d1Reads: 20,
      hmacSigns: 40,
    });
    expect(await workOf((on) => twenty(on, Array(20).fill(deleted.secret)))).toEqual({
      ...none,
      hmacSigns: 40,
    });

    const key = await createAiKey(admin, repoId);
    let code: string | undefined;
    const work = await workOf(async (on) => {
      code = (await verifyAi({ secret: key.secret, clientIp }, on)).code;
    });
    expect(code).toBe("VALID");
    expect(work).toEqual({ ...none, d1Reads: 1, hmacSigns: 2 });
  });
});
