import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Bindings } from "../../src/env";
import { verifyAiSecret } from "../../src/verify/ai";
import { verifyS3Request } from "../../src/verify/s3";
import { team, withinOneRateLimitWindow } from "../support/api";
import { createAiKey, createStorageKey } from "../support/keys";
import { signedS3Request, verifyAiHttp } from "./support";

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

// Each may first wait up to 10 s for a fresh rate-limit window (withinOneRateLimitWindow).
describe("failed verifications", { timeout: 30_000 }, () => {
  it("are limited per client address with the Rate Limiting binding, then SlowDown for everything from it", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = await createStorageKey(admin, repoId);
    await withinOneRateLimitWindow();
    const good = await signedS3Request(key, { path: `/${repoId}/a` });
    const wrongSecret = await signedS3Request(
      { key: key.key, secret: "x".repeat(40) },
      { path: `/${repoId}/a` },
    );
    const clientIp = "198.51.100.7";
    const codes: string[] = [];
    for (let i = 0; i <= LIMIT; i++) {
      const answer = await verifyS3Request(
        env as Bindings,
        { ...wrongSecret, clientIp },
        ignoreWaitUntil,
      );
      codes.push(answer.code);
    }
    expect(codes.slice(0, LIMIT).every((code) => code === "SIGNATURE_MISMATCH")).toBe(true);
    const last = await verifyS3Request(env as Bindings, { ...good, clientIp }, ignoreWaitUntil);
    expect(last).toMatchObject({ valid: false, code: "RATE_LIMITED", s3Error: "SlowDown" });

    // Logged once, as JSON naming the subject, never a secret or signature.
    const lines = warn.mock.calls.map((args) => String(args[0]));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) {
      expect(JSON.parse(line)).toMatchObject({ level: "warn", lastFailure: "SIGNATURE_MISMATCH" });
      expect(line).not.toContain(key.secret);
      expect(line).not.toContain((good.headers.authorization as string).slice(-64));
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
    let answer = await verifyS3Request(env as Bindings, wrongSecret, ignoreWaitUntil);
    for (let i = 0; i < LIMIT; i++) {
      answer = await verifyS3Request(
        env as Bindings,
        { ...wrongSecret, clientIp: `203.0.113.${i % 250}` },
        ignoreWaitUntil,
      );
    }
    expect(answer.code).toBe("RATE_LIMITED");
    // An access key id is public (presigned URLs carry it): failures by others must not lock
    // out whoever can sign with the secret.
    const holder = await signedS3Request(key, { path: `/${repoId}/a` });
    expect((await verifyS3Request(env as Bindings, holder, ignoreWaitUntil)).code).toBe("VALID");
    expect((await verifyS3Request(env as Bindings, wrongSecret, ignoreWaitUntil)).code).toBe(
      "RATE_LIMITED",
    );
  });

  it("of AI secrets are limited per client address; another address is unaffected", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const key = await createAiKey(admin, repoId);
    const clientIp = "192.0.2.55";
    await withinOneRateLimitWindow();
    for (let i = 0; i <= LIMIT; i++) {
      await verifyAiSecret(env as Bindings, { secret: "fbai_sk_nope", clientIp }, ignoreWaitUntil);
    }
    const blocked = await verifyAiHttp({ secret: key.secret, clientIp });
    expect(blocked.body).toMatchObject({ valid: false, code: "RATE_LIMITED" });
    const elsewhere = await verifyAiHttp({ secret: key.secret, clientIp: "192.0.2.56" });
    expect(elsewhere.body.code).toBe("VALID");
  });
});
