import { createMiddleware } from "hono/factory";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../http/error";
import { log } from "../http/log";
import { KeyringError, keyringFrom } from "./seal";

/**
 * Checks ENCRYPTION_KEYS on an isolate's first request (then from cache): a malformed keyring
 * turns the whole API into 503s, with the reason in the logs, instead of sealing with a weak key.
 */
export function checkKeyring(env: Bindings, requestId: string): void {
  try {
    keyringFrom(env.ENCRYPTION_KEYS);
  } catch (error) {
    if (!(error instanceof KeyringError)) throw error;
    log.error("encryption keyring refused", { requestId, reason: error.message });
    // The reason stays in the logs: callers cannot fix it, and it names the secret's layout.
    throw new ApiError(
      "SERVICE_UNAVAILABLE",
      "The service's encryption keys are misconfigured; nothing was changed. Try again later.",
    );
  }
}

/** `checkKeyring` before every route it guards. */
export const requireKeyring = createMiddleware<AppEnv>(async (c, next) => {
  checkKeyring(c.env, c.var.requestId);
  await next();
});
