import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Bindings } from "../../src/env";
import { verifyAiSecret } from "../../src/verify/ai";
import { verifyS3Request } from "../../src/verify/s3";
import type { VerifyS3Request } from "../../src/verify/schemas";
import { issueCredentials, signedWithToken } from "../credentials/support";
import { team } from "../support/api";
import { createAiKey, createStorageKey } from "../support/keys";
import { keyVerifier, signedS3Request, verifyAiHttp, verifyS3Http } from "../verify/support";
import { DAY, setRateLimit, windowStart } from "./support";

let t: Awaited<ReturnType<typeof team>>;

/** Failures never blocked (forgeries below must not trip the failure limit instead). */
const quietEnv = {
  ...(env as Bindings),
  VERIFY_FAILURES: { limit: async () => ({ success: true }) },
} as Bindings;

/**
 * A rate limiter binding that records every use (and throws: the verifier fails open, so the
 * record, not the throw, is what a test checks).
 */
const touched: string[] = [];
const untouchable = new Proxy({} as NonNullable<Bindings["KEY_RATE_LIMITER"]>, {
  get(_, property) {
    touched.push(String(property));
    throw new Error(`KEY_RATE_LIMITER.${String(property)} was used`);
  },
});

beforeAll(async () => {
  t = await team();
});

afterEach(() => {
  vi.restoreAllMocks();
  touched.length = 0;
});

const storageKeyWith = (ratelimit: { limit: number; periodSeconds: number } | null) =>
  createStorageKey(t.admin, t.repoId, { ratelimit } as never);
const aiKeyWith = (ratelimit: { limit: number; periodSeconds: number } | null) =>
  createAiKey(t.admin, t.repoId, { ratelimit } as never);

const objectPath = () => `/${t.repoId}/photos/cat.jpg`;

/** One header-signed GET by `credentials` at `at`, verified with the clock at `now`. */
async function verifyS3At(
  credentials: { key: string; secret: string },
  at: number,
  now = at,
  bindings = quietEnv,
) {
  const input = await signedS3Request(credentials, {
    path: objectPath(),
    signingDate: new Date(at),
  });
  return verifyS3Request(bindings, input, () => {}, now);
}

describe("a storage key with a rate limit of 5 per 60 s", () => {
  it("answers VALID 5 times, counting down, then RATE_LIMITED until the window resets", async () => {
    const key = await storageKeyWith({ limit: 5, periodSeconds: 60 });
    // An injected clock, 1 s into a window: the count cannot straddle a boundary by chance.
    const start = windowStart(Date.now(), 60) + 1_000;
    const reset = start - 1_000 + 60_000;
    for (let i = 1; i <= 5; i++) {
      const answer = await verifyS3At(key, start + i);
      expect(answer).toMatchObject({
        valid: true,
        code: "VALID",
        keyId: key.id,
        ratelimit: { limit: 5, remaining: 5 - i, reset },
      });
    }
    const refused = await verifyS3At(key, start + 10);
    expect(refused).toEqual({
      success: true,
      valid: false,
      code: "RATE_LIMITED",
      s3Error: "SlowDown",
      message: "The key's rate limit is reached: 5 per 60 s",
      ratelimit: { limit: 5, remaining: 0, reset },
    });
    // Still refused at the last millisecond of the window, and the refusals are not counted:
    expect((await verifyS3At(key, reset - 1)).code).toBe("RATE_LIMITED");
    // the next window starts afresh.
    const next = await verifyS3At(key, reset, reset);
    expect(next).toMatchObject({
      code: "VALID",
      ratelimit: { limit: 5, remaining: 4, reset: reset + 60_000 },
    });
  });

  it("is counted once across HTTP and RPC callers", async () => {
    const key = await storageKeyWith({ limit: 3, periodSeconds: DAY });
    const input = () => signedS3Request(key, { path: objectPath() });
    const first = await verifyS3Http(await input());
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ code: "VALID", ratelimit: { limit: 3, remaining: 2 } });
    expect(await keyVerifier.verifyS3Request(await input())).toMatchObject({
      code: "VALID",
      ratelimit: { remaining: 1 },
    });
    expect((await verifyS3Http(await input())).body).toMatchObject({
      code: "VALID",
      ratelimit: { remaining: 0 },
    });
    const overRpc = await keyVerifier.verifyS3Request(await input());
    expect(overRpc).toMatchObject({
      success: true,
      valid: false,
      code: "RATE_LIMITED",
      s3Error: "SlowDown",
      ratelimit: { limit: 3, remaining: 0 },
    });
    const overHttp = await verifyS3Http(await input());
    expect(overHttp.status).toBe(200);
    expect(overHttp.body).toMatchObject({ code: "RATE_LIMITED", ratelimit: { remaining: 0 } });
    const { reset } = (overHttp.body as { ratelimit: { reset: number } }).ratelimit;
    expect(reset).toBe(windowStart(Date.now(), DAY) + DAY * 1000);
  });

  it("is not consumed by forged signatures, nor by refusals before the signature", async () => {
    const key = await storageKeyWith({ limit: 2, periodSeconds: DAY });
    const now = Date.now();
    for (let i = 0; i < 10; i++) {
      const forged = await verifyS3At({ key: key.key, secret: `${key.secret.slice(0, -1)}x` }, now);
      expect(forged.code).toBe("SIGNATURE_MISMATCH");
      expect(forged).not.toHaveProperty("ratelimit");
    }
    // Too much access asked for: the key is proven but not usable for this, so not counted.
    const input = await signedS3Request(key, { path: objectPath(), signingDate: new Date(now) });
    const denied = await verifyS3Request(
      quietEnv,
      { ...input, requiredAccess: "ADMIN" },
      () => {},
      now,
    );
    expect(denied.code).toBe("INSUFFICIENT_ACCESS");
    expect((await verifyS3At(key, now)).code).toBe("VALID");
    expect(await verifyS3At(key, now)).toMatchObject({
      code: "VALID",
      ratelimit: { remaining: 0 },
    });
    expect((await verifyS3At(key, now)).code).toBe("RATE_LIMITED");
  });

  it("is shared by the key's temporary credentials", async () => {
    const key = await storageKeyWith({ limit: 3, periodSeconds: DAY });
    const issued = await issueCredentials(t.admin, t.repoId, key.id, { permission: "READ" });
    const temporary = () => signedWithToken(issued, { path: objectPath() });
    const verify = async (input: VerifyS3Request) =>
      verifyS3Request(quietEnv, input, () => {}, Date.now());
    expect(await verify(await signedS3Request(key, { path: objectPath() }))).toMatchObject({
      code: "VALID",
      ratelimit: { remaining: 2 },
    });
    expect(await verify(await temporary())).toMatchObject({
      code: "VALID",
      key: issued.accessKeyId,
      keyId: key.id,
      ratelimit: { remaining: 1 },
    });
    expect(await verify(await temporary())).toMatchObject({ ratelimit: { remaining: 0 } });
    expect((await verify(await temporary())).code).toBe("RATE_LIMITED");
    // The parent itself is over the same limit.
    expect((await verify(await signedS3Request(key, { path: objectPath() }))).code).toBe(
      "RATE_LIMITED",
    );
  });

  it("is gone once the key is updated with ratelimit null", async () => {
    const key = await storageKeyWith({ limit: 1, periodSeconds: DAY });
    const now = Date.now();
    expect((await verifyS3At(key, now)).code).toBe("VALID");
    expect((await verifyS3At(key, now)).code).toBe("RATE_LIMITED");
    await setRateLimit(t.admin, `/repo/${t.repoId}/apikey/${key.id}`, null);
    // No counter is asked any more: the binding may not even be touched.
    const freed = await verifyS3At(key, now, now, { ...quietEnv, KEY_RATE_LIMITER: untouchable });
    expect(freed.code).toBe("VALID");
    expect(freed).not.toHaveProperty("ratelimit");
    expect(touched).toEqual([]);
  });

  it("follows an update of the limit at once, keeping the window's count", async () => {
    const key = await storageKeyWith({ limit: 1, periodSeconds: DAY });
    const now = Date.now();
    expect((await verifyS3At(key, now)).code).toBe("VALID");
    expect((await verifyS3At(key, now)).code).toBe("RATE_LIMITED");
    await setRateLimit(t.admin, `/repo/${t.repoId}/apikey/${key.id}`, {
      limit: 2,
      periodSeconds: DAY,
    });
    expect(await verifyS3At(key, now)).toMatchObject({
      code: "VALID",
      ratelimit: { limit: 2, remaining: 0 },
    });
    expect((await verifyS3At(key, now)).code).toBe("RATE_LIMITED");
  });
});

describe("keys without a rate limit", () => {
  it("never reach a counter (storage and AI)", async () => {
    const storage = await storageKeyWith(null);
    const ai = await aiKeyWith(null);
    const bindings = { ...quietEnv, KEY_RATE_LIMITER: untouchable };
    for (let i = 0; i < 3; i++) {
      const s3 = await verifyS3At(storage, Date.now(), Date.now(), bindings);
      expect(s3.code).toBe("VALID");
      expect(s3).not.toHaveProperty("ratelimit");
      const answer = await verifyAiSecret(bindings, { secret: ai.secret }, () => {});
      expect(answer.code).toBe("VALID");
      expect(answer).not.toHaveProperty("ratelimit");
    }
    expect(touched).toEqual([]);
  });

  it("the untouchable binding would notice a call (the check above can fail)", async () => {
    const limited = await storageKeyWith({ limit: 5, periodSeconds: DAY });
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const bindings = { ...quietEnv, KEY_RATE_LIMITER: untouchable };
    expect((await verifyS3At(limited, Date.now(), Date.now(), bindings)).code).toBe("VALID");
    expect(touched).not.toEqual([]);
    expect(errors).toHaveBeenCalled();
  });
});

describe("when the counter cannot be reached", () => {
  it("lets a limited key's proven verification through (fail-open) and logs an error", async () => {
    const key = await storageKeyWith({ limit: 1, periodSeconds: DAY });
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const broken = {
      ...quietEnv,
      KEY_RATE_LIMITER: {
        idFromName: () => {
          throw new Error("Durable Object unavailable");
        },
      } as unknown as Bindings["KEY_RATE_LIMITER"],
    };
    for (let i = 0; i < 3; i++) {
      const answer = await verifyS3At(key, Date.now(), Date.now(), broken);
      expect(answer.code).toBe("VALID");
      expect(answer).not.toHaveProperty("ratelimit");
    }
    const lines = errors.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "error",
        keyId: key.id,
        message: expect.stringMatching(/rate limit counter cannot be reached/),
      }),
    );
    // Never the secret in that line.
    expect(JSON.stringify(lines)).not.toContain(key.secret);
  });
});

describe("an AI key with a rate limit of 2 per 60 s", () => {
  it("answers VALID twice then RATE_LIMITED, over HTTP and RPC alike", async () => {
    const key = await aiKeyWith({ limit: 2, periodSeconds: 60 });
    const start = windowStart(Date.now(), 60) + 1_000;
    const reset = start - 1_000 + 60_000;
    const at = (now: number) => verifyAiSecret(quietEnv, { secret: key.secret }, () => {}, now);
    expect(await at(start)).toMatchObject({
      code: "VALID",
      keyId: key.id,
      ratelimit: { limit: 2, remaining: 1, reset },
    });
    expect(await at(start + 1)).toMatchObject({ code: "VALID", ratelimit: { remaining: 0 } });
    expect(await at(start + 2)).toEqual({
      success: true,
      valid: false,
      code: "RATE_LIMITED",
      message: "The key's rate limit is reached: 2 per 60 s",
      ratelimit: { limit: 2, remaining: 0, reset },
    });
    // The next window starts afresh.
    expect((await at(reset)).code).toBe("VALID");
  });

  it("counts HTTP and RPC verifications against one limit", async () => {
    const key = await aiKeyWith({ limit: 2, periodSeconds: DAY });
    expect((await verifyAiHttp({ secret: key.secret })).body).toMatchObject({
      code: "VALID",
      ratelimit: { remaining: 1 },
    });
    expect(await keyVerifier.verifyAiSecret({ secret: key.secret })).toMatchObject({
      code: "VALID",
      ratelimit: { remaining: 0 },
    });
    expect(await keyVerifier.verifyAiSecret({ secret: key.secret })).toMatchObject({
      code: "RATE_LIMITED",
      ratelimit: { limit: 2, remaining: 0 },
    });
    const overHttp = await verifyAiHttp({ secret: key.secret });
    expect(overHttp.status).toBe(200);
    expect(overHttp.body).toMatchObject({ valid: false, code: "RATE_LIMITED" });
  });
});
