import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import type { KeyVerifier, VerifyS3Answer } from "../src/verify";
import { BUCKET, codeOf, headerSigned } from "./support/requests";

/** The gateway with a verifier that answers `answer` to every request. */
function sendVerifiedAs(answer: VerifyS3Answer, request: Request): Promise<Response> {
  const verifier: KeyVerifier = { verifyS3Request: async () => answer };
  return worker.fetch(request as never, { ...env, KEY_VERIFIER: verifier } as never);
}

const overItsLimit = (reset: number): VerifyS3Answer => ({
  success: true,
  valid: false,
  code: "RATE_LIMITED",
  s3Error: "SlowDown",
  message: "The key's rate limit is reached: 5 per 60 s",
  ratelimit: { limit: 5, remaining: 0, reset },
});

describe("a key over its own rate limit", () => {
  it("is answered 503 SlowDown in S3's XML, with Retry-After until its window resets", async () => {
    await env.BUCKET.put(`${BUCKET}/limited.txt`, "limited");
    const reset = Date.now() + 42_500;
    const response = await sendVerifiedAs(
      overItsLimit(reset),
      headerSigned("GET", `/${BUCKET}/limited.txt`),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/xml");
    const retryAfter = Number(response.headers.get("retry-after"));
    // Whole seconds, rounded up: 43 unless this test itself took over half a second to get here.
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(43);
    expect(Number.isInteger(retryAfter)).toBe(true);
    const text = await response.clone().text();
    expect(await codeOf(response)).toBe("SlowDown");
    expect(text).toContain("<Message>The key&apos;s rate limit is reached: 5 per 60 s</Message>");
    expect(text).not.toContain("limited");
  });

  it("waits at least 1 s even when the reset has just passed", async () => {
    const response = await sendVerifiedAs(
      overItsLimit(Date.now() - 5_000),
      headerSigned("PUT", `/${BUCKET}/late.txt`, { body: "x" }),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await env.BUCKET.head(`${BUCKET}/late.txt`)).toBeNull();
  });

  it("a HEAD is answered 503 with Retry-After and no body", async () => {
    const response = await sendVerifiedAs(
      overItsLimit(Date.now() + 10_000),
      headerSigned("HEAD", `/${BUCKET}/limited.txt`),
    );
    expect(response.status).toBe(503);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(9);
    expect(await response.text()).toBe("");
  });
});

describe("the failure limit's RATE_LIMITED (no reset said)", () => {
  it("is still SlowDown 503, without a Retry-After it cannot know", async () => {
    const response = await sendVerifiedAs(
      {
        success: true,
        valid: false,
        code: "RATE_LIMITED",
        s3Error: "SlowDown",
        message: "Too many failed verifications; slow down",
      },
      headerSigned("GET", `/${BUCKET}/limited.txt`),
    );
    expect(response.status).toBe(503);
    expect(await codeOf(response)).toBe("SlowDown");
    expect(response.headers.get("retry-after")).toBeNull();
  });
});
