import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../http/error";
import { countAuthFailure, tooManyFailures, waitFor } from "./failures";
import { type Caller, invalidToken, VERIFY_SCOPE, verifierFor } from "./verifier";

const BEARER = /^Bearer +([A-Za-z0-9_.~+/=-]+) *$/i;

/** The bearer token of an Authorization header, or a 401 saying what is wrong with it. */
function bearerToken(header: string | undefined): string {
  if (!header) {
    throw invalidToken('Missing Authorization header; send "Authorization: Bearer <access token>"');
  }
  const token = BEARER.exec(header)?.[1];
  if (!token)
    throw invalidToken(
      'The Authorization header must use the Bearer scheme: "Bearer <access token>"',
    );
  return token;
}

/**
 * The verified caller of `Authorization: Bearer <JWT>`, or a 401 (503 when unconfigured).
 * Failures are counted per client address; an address over the limit is 429 for a minute,
 * with no token verified, unless its token is one this isolate has already verified (an honest
 * caller behind the same address as a flood keeps working).
 */
async function callerOf(c: Context<AppEnv>): Promise<Caller> {
  // Fail closed before looking at the token: no key configured means nobody gets in.
  const verifier = verifierFor(c.env);
  const header = c.req.header("Authorization");
  const address = c.req.header("CF-Connecting-IP");
  const now = Date.now();
  if (address) {
    const wait = waitFor(address, now);
    if (wait > 0) {
      const token = header && BEARER.exec(header)?.[1];
      const known = token ? verifier.remembered(token) : undefined;
      if (!known) throw tooManyFailures(wait);
      return known;
    }
  }
  try {
    return await verifier.verify(bearerToken(header));
  } catch (error) {
    if (address && error instanceof ApiError && error.code === "UNAUTHORIZED") {
      const wait = await countAuthFailure(c.env, address, now);
      if (wait > 0) throw tooManyFailures(wait);
    }
    throw error;
  }
}

/**
 * Management endpoints: a user's token. Sets `userId` to its subject. A gateway token
 * (scope keys:verify) may verify keys and nothing else: here it is 403.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const caller = await callerOf(c);
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
  const caller = await callerOf(c);
  if (!caller.gateway) {
    throw new ApiError(
      "FORBIDDEN",
      `The verification endpoints need a gateway token (scope ${VERIFY_SCOPE})`,
    );
  }
  c.set("userId", caller.subject);
  await next();
});
