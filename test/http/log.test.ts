import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { newAiCredentials, newStorageCredentials } from "../../src/crypto/credentials";
import type { Bindings } from "../../src/env";
import { log } from "../../src/http/log";
import { team, tokenFor } from "../support/api";
import { auditEvent } from "../support/audit";
import { sessionsThrough } from "../support/sessions";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every line written through console.log, console.warn and console.error while spied on. */
function captureConsole() {
  const lines: { method: "log" | "warn" | "error"; text: string }[] = [];
  for (const method of ["log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((...args) => {
      lines.push({ method, text: args.map(String).join(" ") });
    });
  }
  return lines;
}

/** One request to a fresh app (bindings changed by `overrides`), its deferred work awaited. */
async function fetchApp(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  overrides: Partial<Bindings> = {},
) {
  const ctx = createExecutionContext();
  const response = await createApp().fetch(
    new Request(`https://flashgate.test${path}`, { method, headers }),
    { ...env, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  await response.arrayBuffer();
  return response;
}

/** The parsed request-log lines among `lines`. */
const requestLines = (lines: { text: string }[]) =>
  lines.map(({ text }) => JSON.parse(text)).filter((line) => line.message === "request");

/** The real D1, except that every statement fails with `message`. */
function dbFailingWith(message: string): D1Database {
  return sessionsThrough(
    new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare" || property === "batch") {
          return () => {
            throw new Error(message);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }),
  );
}

describe("the logger", () => {
  it("writes one JSON line per call, through console.log, console.warn or console.error by level", () => {
    const lines = captureConsole();
    log.info("re-seal sweep", { resealed: 3 });
    log.warn("audit queue send failed", { eventId: "e-1" });
    log.error("recording key use failed", { keys: 2 });

    expect(lines.map(({ method, text }) => [method, JSON.parse(text)])).toEqual([
      ["log", { level: "info", message: "re-seal sweep", resealed: 3 }],
      ["warn", { level: "warn", message: "audit queue send failed", eventId: "e-1" }],
      ["error", { level: "error", message: "recording key use failed", keys: 2 }],
    ]);
  });

  it("writes a caught error as its name and message", () => {
    const lines = captureConsole();
    log.error("failed", { error: new TypeError("not a function"), reason: "plain words" });
    expect(JSON.parse(lines[0]?.text as string)).toMatchObject({
      error: "TypeError: not a function",
      reason: "plain words",
    });
  });

  it("scrubs anything shaped like a credential out of every string, however deep", async () => {
    const jwt = await tokenFor("someone");
    const storageSecret = newStorageCredentials().secret;
    const aiSecret = newAiCredentials().secret;
    const sealed = "aesgcm.v1.q1w2e3r4t5y6u7i8.Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0";
    const keyId = crypto.randomUUID();
    const accessKeyId = "FBAKABCDEFGHIJ012345";
    const sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const lines = captureConsole();

    const thrown = new Error(`refused ${jwt} at https://x.test/repo?access_token=SENTINEL123`);
    log.error(`opened ${sealed}`, {
      keyId,
      error: thrown,
      stack: thrown.stack,
      reason: `Authorization: Bearer opaque-token-1; secret ${storageSecret}; hash ${sha256}`,
      event: auditEvent({
        userAgent: `agent ${aiSecret}`,
        changes: { key: { after: accessKeyId } },
      }),
    });

    const text = lines[0]?.text as string;
    for (const secret of [jwt, storageSecret, aiSecret, sealed, "SENTINEL123", "opaque-token-1"]) {
      expect(text).not.toContain(secret);
    }
    // Ids and digests are single-case: they stay, so the line still says what it is about.
    for (const kept of [keyId, accessKeyId, sha256, "https://x.test/repo"]) {
      expect(text).toContain(kept);
    }
    const line = JSON.parse(text);
    expect(line.error).toBe("Error: refused [jwt] at https://x.test/repo?[redacted]");
    expect(line.stack).toContain("[jwt]");
    expect(line.message).toBe("opened aesgcm.[redacted]");
    expect(line.event.userAgent).toBe("agent [ai secret]");
  });
});

describe("the request log", () => {
  let admin: string;
  let repoId: string;
  beforeAll(async () => {
    ({ admin, repoId } = await team());
  });

  it("is one line per request: the service's id, method, route pattern, status and time, nothing the caller sent", async () => {
    const lines = captureConsole();
    const response = await fetchApp("GET", `/repo/${repoId}/apikey?limit=5&access_token=SENTINEL`, {
      Authorization: `Bearer ${await tokenFor(admin)}`,
      "X-Request-Id": "my-trace-1",
    });

    expect(response.status).toBe(200);
    const logged = requestLines(lines);
    expect(logged).toEqual([
      {
        level: "info",
        message: "request",
        requestId: response.headers.get("X-Request-Id"),
        method: "GET",
        route: "/repo/:repoId/apikey",
        status: 200,
        durationMs: expect.any(Number),
      },
    ]);
    const text = JSON.stringify(logged);
    for (const sent of [repoId, "SENTINEL", "limit", "?", "my-trace-1", "Bearer"]) {
      expect(text).not.toContain(sent);
    }
  });

  it("has the final status of refusals and failures, which onError answered", async () => {
    const lines = captureConsole();
    const answers = [
      await fetchApp("GET", "/workspace?access_token=SENTINEL"),
      await fetchApp("GET", "/nowhere?access_token=SENTINEL"),
      await fetchApp("DELETE", "/health"),
      await fetchApp(
        "GET",
        "/workspace",
        { Authorization: `Bearer ${await tokenFor(admin)}` },
        { DB: dbFailingWith("D1_ERROR: disk I/O error") },
      ),
    ];

    expect(answers.map((response) => response.status)).toEqual([401, 404, 405, 500]);
    expect(requestLines(lines).map(({ route, status }) => [route, status])).toEqual([
      ["/workspace", 401],
      ["/*", 404],
      ["/*", 405],
      ["/workspace", 500],
    ]);
    expect(lines.map(({ text }) => text).join("\n")).not.toContain("SENTINEL");
  });

  it("comes with an unhandled error's own line: route pattern, error and stack, no token its message quoted", async () => {
    const jwt = await tokenFor("quoted");
    const lines = captureConsole();
    const response = await fetchApp(
      "GET",
      `/repo/${repoId}/apikey?access_token=SENTINEL`,
      { Authorization: `Bearer ${await tokenFor(admin)}` },
      { DB: dbFailingWith(`could not use ${jwt}`) },
    );

    expect(response.status).toBe(500);
    const errors = lines.filter(({ method }) => method === "error").map(({ text }) => text);
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0] as string)).toEqual({
      level: "error",
      message: "unhandled error",
      requestId: response.headers.get("X-Request-Id"),
      method: "GET",
      route: "/repo/:repoId/apikey",
      error: "Error: could not use [jwt]",
      stack: expect.stringContaining("could not use [jwt]"),
    });
    expect(errors[0]).not.toContain(jwt);
    expect(errors[0]).not.toContain(repoId);
  });
});
