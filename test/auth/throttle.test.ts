import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { THROTTLED_KEY_SET_LOAD_MS } from "../../src/auth/verifier";
import type { Bindings } from "../../src/env";
import {
  type ApiResponse,
  call,
  expectError,
  tokenFor,
  withinOneRateLimitWindow,
} from "../support/api";
import { signToken } from "../support/auth-tokens";
import { gatewayToken } from "../verify/support";

// wrangler.toml: AUTH_FAILURES allows 100 failures a minute per address.
const LIMIT = 100;

let lastOctet = 0;
/** A client address no other test uses: blocks and counts are per address. */
const freshAddress = () => `198.51.100.${++lastOctet}`;

const from = (address: string | undefined, authorization?: string) =>
  call("GET", "/workspace", {
    ...(authorization === undefined ? {} : { authorization }),
    headers: address ? { "CF-Connecting-IP": address } : {},
  });

async function failTimes(address: string | undefined, times: number): Promise<ApiResponse[]> {
  await withinOneRateLimitWindow();
  const answers: ApiResponse[] = [];
  for (let i = 0; i < times; i++) answers.push(await from(address, "Bearer not-a-token"));
  return answers;
}

function expectThrottled(response: ApiResponse) {
  expectError(response, 429, /Too many failed authentications from this address/);
  expect(response.body.code).toBe("RATE_LIMITED");
  expect(response.body.requestId).toBe(response.headers.get("X-Request-Id"));
  const retryAfter = Number(response.headers.get("Retry-After"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

// Each may first wait up to 10 s for a fresh rate-limit window (withinOneRateLimitWindow).
describe("failed authentications from one address", { timeout: 30_000 }, () => {
  it(`are 401 up to ${LIMIT} a minute, then 429 with Retry-After and the JSON envelope`, async () => {
    const address = freshAddress();
    const answers = await failTimes(address, LIMIT);
    expect(answers.map((a) => a.status)).toEqual(Array(LIMIT).fill(401));
    const over = await from(address, "Bearer not-a-token");
    expectThrottled(over);
    expect(Number(over.headers.get("Retry-After"))).toBe(60);
    // Any failure keeps being refused, a missing header and a forged signature too.
    expectThrottled(await from(address));
    const [header, payload] = (await tokenFor("mallory")).split(".");
    expectThrottled(await from(address, `Bearer ${header}.${payload}.${"A".repeat(43)}`));
  });

  it("never refuse a token that verifies: a new valid token from that address is accepted", async () => {
    const address = freshAddress();
    await failTimes(address, LIMIT + 1);
    // Never sent before, so no isolate remembers it: it is verified, and it verifies.
    const newcomer = await from(address, `Bearer ${await tokenFor("newcomer")}`);
    expect(newcomer.status, newcomer.text).toBe(200);
    // A gateway's new token too (Cloudflare gives every cross-zone Worker one address).
    const gateway = await call("POST", "/verify/ai", {
      authorization: `Bearer ${await gatewayToken("gateway-zone-2")}`,
      body: { secret: "fbai_sk_x" },
      headers: { "CF-Connecting-IP": address },
    });
    expect(gateway.status, gateway.text).toBe(200);
    // …while its failures are still refused.
    expectThrottled(await from(address, "Bearer not-a-token"));
  });

  it("do not lock out a token this isolate already accepted (an honest user behind the same NAT)", async () => {
    const address = freshAddress();
    const honest = `Bearer ${await tokenFor("honest")}`;
    expect((await from(address, honest)).status).toBe(200);
    await failTimes(address, LIMIT + 1);
    const response = await from(address, honest);
    expect(response.status, response.text).toBe(200);
  });

  it("do not throttle another address", async () => {
    const flooder = freshAddress();
    await failTimes(flooder, LIMIT + 1);
    const neighbour = freshAddress();
    expectError(await from(neighbour, "Bearer not-a-token"), 401);
    expect((await from(neighbour, `Bearer ${await tokenFor("neighbour")}`)).status).toBe(200);
  });

  it("are counted, successes are not: an honest client never reaches the limit", async () => {
    const address = freshAddress();
    for (let i = 0; i < LIMIT + 20; i++) {
      const ok = await from(address, `Bearer ${await tokenFor(`user-${i}`)}`);
      expect(ok.status).toBe(200);
    }
    expectError(await from(address, "Bearer not-a-token"), 401);
  });

  it("are not counted against a gateway or user for a 403 (wrong kind of token)", async () => {
    const address = freshAddress();
    for (let i = 0; i < LIMIT + 5; i++) {
      const response = await call("POST", "/verify/ai", {
        as: "alice",
        body: { secret: "x" },
        headers: { "CF-Connecting-IP": address },
      });
      expect(response.status).toBe(403);
    }
    expectError(await from(address, "Bearer not-a-token"), 401);
  });
});

/** Calls to the Rate Limiting binding, which the real AUTH_FAILURES still answers. */
function countedLimiter() {
  const real = env.AUTH_FAILURES;
  if (!real) throw new Error("wrangler.toml binds AUTH_FAILURES");
  const counted = { calls: 0 };
  const limiter: RateLimit = {
    limit: (options) => {
      counted.calls++;
      return real.limit(options);
    },
  };
  return { limiter, counted };
}

/** One request to a fresh app on the test bindings changed by `overrides`, from `address`. */
async function request(
  overrides: Partial<Bindings>,
  address: string,
  authorization: string,
): Promise<ApiResponse> {
  const headers = { Authorization: authorization, "CF-Connecting-IP": address };
  const ctx = createExecutionContext();
  const response = await createApp().fetch(
    new Request("https://flashgate.test/workspace", { headers }),
    { ...env, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text), text };
}

describe("the cost of a blocked address's failure", { timeout: 30_000 }, () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is no Rate Limiting call: a blocked address's failures are refused, not counted again", async () => {
    const { limiter, counted } = countedLimiter();
    const address = freshAddress();
    await withinOneRateLimitWindow();
    for (let i = 0; i <= LIMIT; i++) {
      await request({ AUTH_FAILURES: limiter }, address, "Bearer not-a-token");
    }
    expect(counted.calls).toBe(LIMIT + 1);
    for (let i = 0; i < 50; i++) {
      expectThrottled(await request({ AUTH_FAILURES: limiter }, address, "Bearer not-a-token"));
    }
    expect(counted.calls).toBe(LIMIT + 1);
  });

  /** An identity provider at a fresh URL serving one ES256 key; counts fetches of its key set. */
  async function identityProvider() {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "idp-key", alg: "ES256" };
    const url = `https://idp-${crypto.randomUUID()}.test/.well-known/jwks.json`;
    const provider = { up: true, fetches: 0 };
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const requested = input instanceof Request ? input.url : String(input);
      if (requested !== url) return new Response("not found", { status: 404 });
      provider.fetches++;
      if (!provider.up) return new Response("upstream down", { status: 502 });
      return Response.json({ keys: [jwk] });
    });
    const stranger = await generateKeyPair("ES256");
    return {
      config: { JWT_JWKS_URL: url, JWT_SECRET: undefined } as Partial<Bindings>,
      provider,
      sign: (sub: string) =>
        signToken(privateKey, { alg: "ES256", kid: "idp-key", claims: { sub } }),
      /** Signed by a key the provider never published, under a key id it does not have. */
      forge: (kid: string) => signToken(stranger.privateKey, { alg: "ES256", kid }),
    };
  }

  /** Blocks `address` with tokens that fail before any key is needed (no JWKS fetch). */
  async function block(config: Partial<Bindings>, address: string) {
    await withinOneRateLimitWindow();
    for (let i = 0; i <= LIMIT; i++) await request(config, address, "Bearer not-a-token");
  }

  it("with a key set: a new valid token is verified with the cached keys, no fetch; unknown key ids fetch nothing", async () => {
    const idp = await identityProvider();
    const honest = freshAddress();
    const first = await request(idp.config, honest, `Bearer ${await idp.sign("first")}`);
    expect(first.status, first.text).toBe(200);
    expect(idp.provider.fetches).toBe(1);

    const address = freshAddress();
    await block(idp.config, address);
    // Past jose's 30 s cooldown, when an unknown kid would make it fetch the set again.
    const later = Date.now() + 31_000;
    vi.spyOn(Date, "now").mockReturnValue(later);
    const fresh = await request(idp.config, address, `Bearer ${await idp.sign("gateway")}`);
    expect(fresh.status, fresh.text).toBe(200);
    for (let i = 0; i < 20; i++) {
      expectThrottled(await request(idp.config, address, `Bearer ${await idp.forge(`kid-${i}`)}`));
    }
    expect(idp.provider.fetches).toBe(1);
    // The same unknown key id from an address that is not blocked does make jose look again.
    expectError(
      await request(idp.config, freshAddress(), `Bearer ${await idp.forge("kid-x")}`),
      401,
    );
    expect(idp.provider.fetches).toBe(2);
  });

  it("without a key set yet: one fetch lets a valid token in; with the provider down, at most one fetch per 30 s", async () => {
    const idp = await identityProvider();
    const address = freshAddress();
    await block(idp.config, address);
    expect(idp.provider.fetches).toBe(0);
    const fresh = await request(idp.config, address, `Bearer ${await idp.sign("first-call")}`);
    expect(fresh.status, fresh.text).toBe(200);
    expect(idp.provider.fetches).toBe(1);

    vi.spyOn(console, "error").mockImplementation(() => {});
    const down = await identityProvider();
    down.provider.up = false;
    const downAddress = freshAddress();
    await block(down.config, downAddress);
    const answers: number[] = [];
    for (let i = 0; i < 20; i++) {
      answers.push(
        (await request(down.config, downAddress, `Bearer ${await down.sign("u")}`)).status,
      );
    }
    // The first failed fetch is the provider's outage (503); then no keys at hand: refused.
    expect(answers).toEqual([503, ...Array(19).fill(429)]);
    expect(down.provider.fetches).toBe(1);
    vi.spyOn(Date, "now").mockReturnValue(Date.now() + THROTTLED_KEY_SET_LOAD_MS);
    down.provider.up = true;
    const recovered = await request(down.config, downAddress, `Bearer ${await down.sign("u")}`);
    expect(recovered.status, recovered.text).toBe(200);
    expect(down.provider.fetches).toBe(2);
  });
});
