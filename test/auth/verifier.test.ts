import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildVerifier, CLOCK_TOLERANCE_SECONDS } from "../../src/auth/verifier";
import type { Bindings } from "../../src/env";
import { ApiError } from "../../src/http/error";
import { signToken, testSecret } from "../support/auth-tokens";

/** A verifier on the test configuration whose clock reads `clock.ms`. */
function verifierAt(clock: { ms: number }, overrides: Partial<Bindings> = {}) {
  return buildVerifier({ ...env, ...overrides }, { now: () => clock.ms });
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("a verified token, remembered by the isolate", () => {
  it("is accepted again until exp plus the clock tolerance, then refused as expired", async () => {
    const issuedAt = Math.floor(Date.now() / 1000);
    const clock = { ms: issuedAt * 1000 };
    const verifier = verifierAt(clock);
    const token = await signToken(testSecret, {
      claims: { sub: "remembered", iat: issuedAt, exp: issuedAt + 60 },
    });

    expect((await verifier.verify(token)).subject).toBe("remembered");
    clock.ms = (issuedAt + 60 + CLOCK_TOLERANCE_SECONDS - 1) * 1000;
    expect((await verifier.verify(token)).subject).toBe("remembered");

    clock.ms = (issuedAt + 60 + CLOCK_TOLERANCE_SECONDS) * 1000;
    const expired = await refusal(verifier.verify(token));
    expect(expired.status).toBe(401);
    expect(expired.message).toMatch(/expired/);
    // Forgotten, not resurrected: still refused on the next call.
    expect((await refusal(verifier.verify(token))).status).toBe(401);
  });

  it("does not vouch for a different string: the same token with another signature is refused", async () => {
    const clock = { ms: Date.now() };
    const verifier = verifierAt(clock);
    const token = await signToken(testSecret, { claims: { sub: "signed" } });
    expect((await verifier.verify(token)).subject).toBe("signed");

    const [header, payload] = token.split(".");
    const forged = `${header}.${payload}.${"A".repeat(43)}`;
    expect((await refusal(verifier.verify(forged))).message).toMatch(/signature/);
  });

  it("does not remember a refusal: a token not valid yet is accepted once its nbf arrives", async () => {
    const start = Math.floor(Date.now() / 1000);
    const clock = { ms: start * 1000 };
    const verifier = verifierAt(clock);
    const nbf = start + 120;
    const token = await signToken(testSecret, {
      claims: { sub: "patient", nbf, exp: nbf + 600 },
    });

    expect((await refusal(verifier.verify(token))).message).toMatch(/nbf/);
    clock.ms = nbf * 1000;
    expect((await verifier.verify(token)).subject).toBe("patient");
  });

  it("is kept per configuration: a verifier for another secret does not accept it", async () => {
    const clock = { ms: Date.now() };
    const token = await signToken(testSecret, { claims: { sub: "first-config" } });
    expect((await verifierAt(clock).verify(token)).subject).toBe("first-config");

    const other = verifierAt(clock, { JWT_SECRET: "another-secret-0123456789abcdefghijklmnop" });
    expect((await refusal(other.verify(token))).message).toMatch(/signature/);
  });
});

describe("HMAC algorithms on the allowlist", () => {
  it.each(["HS256", "HS384", "HS512"])(
    "verifies %s with the secret imported for it",
    async (alg) => {
      const verifier = verifierAt({ ms: Date.now() }, { JWT_ALGORITHMS: "HS256,HS384,HS512" });
      const token = await signToken(testSecret, { alg, claims: { sub: `user-${alg}` } });
      expect((await verifier.verify(token)).subject).toBe(`user-${alg}`);
    },
  );
});
