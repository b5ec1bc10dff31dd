import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";

/** A client's own X-Request-Id is kept when it is this: short, in characters nothing misreads. */
export const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

/**
 * Every request gets the service's own id, a UUID: sent back in X-Request-Id, and the
 * `requestId` of error envelopes, log lines and audit events. A client's X-Request-Id never
 * replaces it, so no caller chooses the id its actions are recorded under; a well-formed one is
 * kept beside it as `clientRequestId`, and any other is dropped (not an error).
 */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const id = crypto.randomUUID();
  c.set("requestId", id);
  const clientId = c.req.header("X-Request-Id");
  if (clientId !== undefined && CLIENT_REQUEST_ID.test(clientId)) {
    c.set("clientRequestId", clientId);
  }
  // Set before the response exists (src/http/private-responses.ts says why).
  c.header("X-Request-Id", id);
  await next();
});
