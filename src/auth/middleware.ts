import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../http/error";
import { type Caller, invalidToken, VERIFY_SCOPE, verifierFor } from "./verifier";

const BEARER = /^Bearer +([A-Za-z0-9_.~+/=-]+) *$/i;

/** The verified caller of `Authorization: Bearer <JWT>`, or a 401 (503 when unconfigured). */
async function callerOf(header: string | undefined, env: AppEnv["Bindings"]): Promise<Caller> {
  // Fail closed before looking at the token: no key configured means nobody gets in.
  const verifier = verifierFor(env);
  if (!header) {
    throw invalidToken('Missing Authorization header; send "Authorization: Bearer <access token>"');
  }
  const token = BEARER.exec(header)?.[1];
  if (!token)
    throw invalidToken(
      'The Authorization header must use the Bearer scheme: "Bearer <access token>"',
    );
  return verifier.verify(token);
}

/**
 * Management endpoints: a user's token. Sets `userId` to its subject. A gateway token
 * (scope keys:verify) may verify keys and nothing else: here it is 403.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const caller = await callerOf(c.req.header("Authorization"), c.env);
  if (caller.gateway) {
    throw new ApiError(
      "FORBIDDEN",
      `A gateway token (scope ${VERIFY_SCOPE}) may only call the verification endpoints`,
    );
  }
  c.set("userId", caller.subject);
  await next();
});

/** Verification endpoints: a gateway's token (scope keys:verify); a user's token is 403. */
export const authenticateGateway = createMiddleware<AppEnv>(async (c, next) => {
  const caller = await callerOf(c.req.header("Authorization"), c.env);
  if (!caller.gateway) {
    throw new ApiError(
      "FORBIDDEN",
      `The verification endpoints need a gateway token (scope ${VERIFY_SCOPE})`,
    );
  }
  c.set("userId", caller.subject);
  await next();
});
