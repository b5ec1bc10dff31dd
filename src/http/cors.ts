import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { BOOKMARK_HEADER } from "../db/session";
import type { AppEnv } from "../env";

const ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-Request-Id", BOOKMARK_HEADER];
// Browsers hide other response headers from scripts; these a client needs to read.
const EXPOSED_HEADERS = ["X-Request-Id", "WWW-Authenticate", BOOKMARK_HEADER];

let built: { setting: string; middleware: MiddlewareHandler } | undefined;

/**
 * Cross-origin access for browser apps, from CORS_ORIGINS: a comma-separated list of origins
 * (`https://app.example.com`) or `*`. Unset, no CORS headers are sent and browsers on other
 * origins cannot call the API. Bearer tokens, not cookies, so credentials are never allowed.
 * Preflights are answered here, before authentication (they carry no token).
 */
export const corsFromSettings: MiddlewareHandler<AppEnv> = async (c, next) => {
  const setting = c.env.CORS_ORIGINS?.trim();
  if (!setting) return next();
  if (built?.setting !== setting) {
    const origins = setting
      .split(",")
      .map((origin) => origin.trim().replace(/\/+$/, ""))
      .filter(Boolean);
    built = {
      setting,
      middleware: cors({
        origin: origins.includes("*") ? "*" : origins,
        allowMethods: ["GET", "POST", "PUT", "DELETE"],
        allowHeaders: ALLOWED_HEADERS,
        exposeHeaders: EXPOSED_HEADERS,
        maxAge: 600,
      }),
    };
  }
  return built.middleware(c, next);
};
