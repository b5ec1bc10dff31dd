import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/** API answers carry credentials and membership data: no caching anywhere, no sniffing. */
export const privateResponses = createMiddleware<AppEnv>(async (c, next) => {
  // Set before the response exists: set after, Hono copies the whole Response per header.
  c.header("Cache-Control", "no-store");
  c.header("X-Content-Type-Options", "nosniff");
  await next();
});
