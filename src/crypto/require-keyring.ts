import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../http/error";
import { log } from "../http/log";
import { KeyringError, keyringFrom } from "./seal";

/**
 * Checks ENCRYPTION_KEYS on an isolate's first request (then from cache): a malformed keyring
 * turns the whole API into 503s, with the reason in the logs, instead of sealing with a weak key.
 */
export const requireKeyring = createMiddleware<AppEnv>(async (c, next) => {
  try {
    keyringFrom(c.env.ENCRYPTION_KEYS);
  } catch (error) {
    if (!(error instanceof KeyringError)) throw error;
    log.error("encryption keyring refused", { requestId: c.var.requestId, reason: error.message });
    // The reason stays in the logs: callers cannot fix it, and it names the secret's layout.
    throw new ApiError(
      "SERVICE_UNAVAILABLE",
      "The service's encryption keys are misconfigured; nothing was changed. Try again later.",
    );
  }
  await next();
});
