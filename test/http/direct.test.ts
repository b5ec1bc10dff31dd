import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import type { Bindings } from "../../src/env";
import { team, tokenFor } from "../support/api";
import { createAiKey, createStorageKey } from "../support/keys";
import { sessionsThrough } from "../support/sessions";
import { gatewayToken, signedS3Request } from "../verify/support";

afterEach(() => {
  vi.restoreAllMocks();
});

interface Sent {
  path: string;
  body?: string;
  headers?: Record<string, string>;
  overrides?: Partial<Bindings>;
}

/**
 * One request answered by an app, as everything a client and the logs can see of it: status,
 * headers, body and log lines, with the request's own id (random) and the time taken (a clock)
 * written out of them, and an unhandled error's stack cut to its message (the frames are where
 * it was thrown from).
 */
async function observed(direct: boolean, { path, body, headers = {}, overrides = {} }: Sent) {
  const lines: string[] = [];
  for (const method of ["log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((...args) => {
      lines.push(`${method} ${args.map(String).join(" ")}`);
    });
  }
  const ctx = createExecutionContext();
  const response = await createApp({ direct }).fetch(
    new Request(`https://flashgate.test${path}`, { method: "POST", headers, body }),
    // Usage counting (test/usage) is the same code both ways; its batched write would have every
    // request here wait out FLUSH_AFTER_MS in waitOnExecutionContext.
    { ...env, USAGE_RECORDING: "off", ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  vi.restoreAllMocks();
  const id = response.headers.get("X-Request-Id") as string;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const anonymous = (value: string) =>
    value
      .replaceAll(id, "<request id>")
      .replace(/"durationMs":\d+/, '"durationMs":0')
      // The database's position moves on between the two requests; its shape must not.
      .replace(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/, "<bookmark>")
      .replace(/"stack":"([^"\\]|\\.)*?\\n[^"]*"/, '"stack":"<stack>"');
  return {
    status: response.status,
    headers: [...response.headers].map(([name, value]) => `${name}: ${anonymous(value)}`),
    body: anonymous(text),
    logs: lines.map(anonymous),
  };
}

/**
 * The answer served directly, and the chain's to the same request. Asked once before, so that
 * a key both answer from is remembered (or not: VERIFY_CACHE_TTL_SECONDS 0) for both alike.
 */
async function bothWays(sent: Sent) {
  await observed(true, sent);
  return { direct: await observed(true, sent), chain: await observed(false, sent) };
}

let s3Body: string;
/** A key no test verifies but the one whose database fails. */
let unreadS3Body: string;
let aiBody: string;
let readKeyS3Body: string;
let gateway: Record<string, string>;

beforeAll(async () => {
  const { admin, repoId } = await team();
  const key = await createStorageKey(admin, repoId, { accessType: "WRITE" });
  s3Body = JSON.stringify(await signedS3Request(key, { path: `/${repoId}/photos/cat.jpg` }));
  readKeyS3Body = JSON.stringify({
    ...(await signedS3Request(await createStorageKey(admin, repoId, { accessType: "READ" }), {
      path: `/${repoId}/a`,
    })),
    requiredAccess: "WRITE",
  });
  aiBody = JSON.stringify({ secret: (await createAiKey(admin, repoId)).secret });
  unreadS3Body = JSON.stringify(
    await signedS3Request(await createStorageKey(admin, repoId), { path: `/${repoId}/b` }),
  );
  gateway = {
    Authorization: `Bearer ${await gatewayToken()}`,
    "Content-Type": "application/json",
  };
});

describe("a verification served in front of the chain", () => {
  it("answers what the chain answers, byte for byte, headers and log line included", async () => {
    const tampered = s3Body.replace(
      /Signature=([0-9a-f])/,
      (_, c) => `Signature=${c === "0" ? "1" : "0"}`,
    );
    const cases: Sent[] = [
      // The key read from D1 each time (a bookmark comes back), then remembered (none).
      { path: "/verify/s3", body: s3Body, overrides: { VERIFY_CACHE_TTL_SECONDS: "0" } },
      { path: "/verify/s3", body: s3Body },
      { path: "/verify/s3", body: s3Body },
      { path: "/verify/s3", body: tampered },
      { path: "/verify/s3", body: readKeyS3Body },
      { path: "/verify/ai", body: aiBody, overrides: { VERIFY_CACHE_TTL_SECONDS: "0" } },
      { path: "/verify/ai", body: aiBody },
      { path: "/verify/ai", body: JSON.stringify({ secret: "fbai_sk_nope" }) },
      { path: "/verify/ai?x=1", body: aiBody },
    ];
    for (const sent of cases) {
      const { direct, chain } = await bothWays({ ...sent, headers: gateway });
      expect(direct, sent.path).toEqual(chain);
      expect(direct.status).toBe(200);
    }
  });

  it("refuses what the chain refuses, in the same order, with the same envelope and log lines", async () => {
    const userToken = `Bearer ${await tokenFor("someone")}`;
    const json = { "Content-Type": "application/json" };
    const cases: [number, Sent][] = [
      [401, { path: "/verify/s3", body: s3Body, headers: json }],
      [401, { path: "/verify/s3", body: s3Body, headers: { ...json, Authorization: "Basic x" } }],
      [
        401,
        { path: "/verify/ai", body: aiBody, headers: { ...json, Authorization: "Bearer a.b" } },
      ],
      [403, { path: "/verify/ai", body: aiBody, headers: { ...json, Authorization: userToken } }],
      [
        415,
        { path: "/verify/s3", body: s3Body, headers: { ...gateway, "Content-Type": "text/plain" } },
      ],
      [400, { path: "/verify/s3", body: "{not json", headers: gateway }],
      [400, { path: "/verify/s3", body: "", headers: gateway }],
      [400, { path: "/verify/s3", body: JSON.stringify({ methd: "GET" }), headers: gateway }],
      [
        400,
        { path: "/verify/ai", body: JSON.stringify({ secret: 7, extra: 1 }), headers: gateway },
      ],
      [413, { path: "/verify/ai", body: "x".repeat(70_000), headers: gateway }],
      // Keyring refused before the token is looked at; then the token's own configuration.
      [
        503,
        {
          path: "/verify/s3",
          body: s3Body,
          headers: json,
          overrides: { ENCRYPTION_KEYS: "v1:short" },
        },
      ],
      [
        503,
        {
          path: "/verify/ai",
          body: aiBody,
          headers: gateway,
          overrides: { JWT_SECRET: "too short" },
        },
      ],
      [
        500,
        {
          path: "/verify/s3",
          body: unreadS3Body,
          headers: gateway,
          overrides: { VERIFY_CACHE_TTL_SECONDS: "0", DB: dbFailing() },
        },
      ],
    ];
    for (const [status, sent] of cases) {
      const { direct, chain } = await bothWays(sent);
      expect(direct, `${status} ${sent.path}`).toEqual(chain);
      expect(direct.status, direct.body).toBe(status);
    }
  });

  it("leaves to the chain what it does not serve: CORS, a client's bookmark, other methods", async () => {
    const cases: Sent[] = [
      {
        path: "/verify/s3",
        body: s3Body,
        headers: { ...gateway, Origin: "https://app.example" },
        overrides: { CORS_ORIGINS: "https://app.example", VERIFY_CACHE_TTL_SECONDS: "0" },
      },
      { path: "/verify/ai", body: aiBody, headers: { ...gateway, "X-D1-Bookmark": "not one" } },
    ];
    for (const sent of cases) {
      const { direct, chain } = await bothWays(sent);
      expect(direct).toEqual(chain);
    }
    const preflight = await createApp().fetch(
      new Request("https://flashgate.test/verify/s3", { method: "OPTIONS" }),
      env,
      createExecutionContext(),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Allow")).toBe("POST, OPTIONS");
  });
});

/** The real D1, except that every statement fails. */
function dbFailing(): D1Database {
  return sessionsThrough(
    new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare" || property === "batch") {
          return () => {
            throw new Error("D1_ERROR: disk I/O error");
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }),
  );
}
