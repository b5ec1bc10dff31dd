import { describe, expect, it } from "vitest";
import {
  type ApiResponse,
  call,
  expectError,
  tokenFor,
  withinOneRateLimitWindow,
} from "../support/api";

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
    // Any failure keeps being refused, a missing header too.
    expectThrottled(await from(address));
  });

  it("refuse a fresh valid token from that address without verifying it", async () => {
    const address = freshAddress();
    await failTimes(address, LIMIT + 1);
    expectThrottled(await from(address, `Bearer ${await tokenFor("newcomer")}`));
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
