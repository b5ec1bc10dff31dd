import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "./error";

export const MAX_BODY_BYTES = 64 * 1024;

// The media type hono's JSON validator reads: application/json or application/*+json.
const JSON_CONTENT_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** A request that carries a body must say it is JSON (415), before anything reads it. */
export const requireJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.raw.body !== null) {
    const type = c.req.header("Content-Type");
    if (!type || !JSON_CONTENT_TYPE.test(type.split(";")[0]?.trim() ?? "")) {
      throw new ApiError(
        "UNSUPPORTED_MEDIA_TYPE",
        `Request body must be JSON, sent with "Content-Type: application/json" (got ${type ? `"${type.slice(0, 100)}"` : "no Content-Type"})`,
      );
    }
  }
  await next();
});

/** API answers carry credentials and membership data: no caching anywhere, no sniffing. */
export const privateResponses = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
  c.header("X-Content-Type-Options", "nosniff");
});
