import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import type { Bindings } from "../src/env";
import { call, newUser, tokenFor } from "./support/api";

const APP_ORIGIN = "https://app.example.com";

/** One request to a fresh app with CORS_ORIGINS set to `origins` (undefined: unset). */
async function fetchWith(origins: string | undefined, path: string, init: RequestInit) {
  const bindings: Bindings = { ...env, CORS_ORIGINS: origins };
  const ctx = createExecutionContext();
  const response = await createApp().fetch(
    new Request(`https://flashgate.test${path}`, init),
    bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

const preflight = (origin: string) => ({
  method: "OPTIONS",
  headers: {
    Origin: origin,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
  },
});

describe("without CORS_ORIGINS", () => {
  it("sends no CORS headers: browsers on other origins cannot call the API", async () => {
    const response = await call("GET", "/workspace", {
      as: newUser(),
      headers: { Origin: APP_ORIGIN },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const answered = await fetchWith(undefined, "/workspace", preflight(APP_ORIGIN));
    expect(answered.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("with CORS_ORIGINS listing origins", () => {
  const origins = `${APP_ORIGIN}, https://admin.example.com/`;

  it("answers a listed origin's preflight before authentication: 204, methods and headers", async () => {
    const response = await fetchWith(origins, "/repo/some-repo/apikey", preflight(APP_ORIGIN));
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(APP_ORIGIN);
    expect(response.headers.get("Access-Control-Allow-Methods")).toBe("GET,POST,PUT,DELETE");
    expect(response.headers.get("Access-Control-Allow-Headers")).toBe(
      "Authorization,Content-Type,X-Request-Id,X-D1-Bookmark",
    );
    expect(response.headers.get("Access-Control-Allow-Credentials")).toBeNull();
    expect(response.headers.get("Vary")).toContain("Origin");
    // A trailing slash in the setting still names the origin.
    const admin = await fetchWith(origins, "/workspace", preflight("https://admin.example.com"));
    expect(admin.headers.get("Access-Control-Allow-Origin")).toBe("https://admin.example.com");
  });

  it("gives an unlisted origin no Access-Control-Allow-Origin", async () => {
    const response = await fetchWith(origins, "/workspace", preflight("https://evil.example"));
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("lets the browser read answers and errors alike, with the request id exposed", async () => {
    const token = await tokenFor(newUser());
    const ok = await fetchWith(origins, "/workspace", {
      headers: { Origin: APP_ORIGIN, Authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(APP_ORIGIN);
    expect(ok.headers.get("Access-Control-Expose-Headers")).toBe(
      "X-Request-Id,WWW-Authenticate,X-D1-Bookmark",
    );

    const refused = await fetchWith(origins, "/workspace", { headers: { Origin: APP_ORIGIN } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBe(APP_ORIGIN);
    expect(await refused.json()).toMatchObject({ success: false });
  });
});

describe('with CORS_ORIGINS = "*"', () => {
  it("allows any origin, still without credentials", async () => {
    const response = await fetchWith("*", "/workspace", preflight("https://anywhere.example"));
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(response.headers.get("Access-Control-Allow-Credentials")).toBeNull();
  });
});
