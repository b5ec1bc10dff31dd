import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/** API answers carry credentials and membership data: no caching anywhere, no sniffing. */
export const privateResponses = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
  c.header("X-Content-Type-Options", "nosniff");
});
