import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv, Bindings } from "../env";
import { ApiError } from "../http/error";
import { countAuthFailure, tooManyFailures, waitFor } from "./failures";
import { type Caller, invalidToken, VERIFY_SCOPE, verifierFor } from "./verifier";

// RFC 6750's b64token: base64 and URL-safe characters, then any padding.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * A 401 for a request that carried no credentials: RFC 6750 §3.1 challenges it with the scheme
 * alone, no error code, where onError gives every other 401 `error="invalid_token"`.
 */
const noCredentials = (message: string) =>
  new ApiError("UNAUTHORIZED", message, undefined, { "WWW-Authenticate": "Bearer" });

/**
 * The bearer token of an Authorization header, or a 401 saying what is wrong with it. No header,
 * or another scheme (Basic), is no credentials; anything sent as a Bearer token that is not one
 * is an invalid token (RFC 6750: "malformed").
 */
function bearerToken(header: string | undefined): string {
  if (!header) {
    throw noCredentials(
      'Missing Authorization header; send "Authorization: Bearer <access token>"',
    );
  }
  if (!/^Bearer(?: |$)/i.test(header)) {
    throw noCredentials(
      'The Authorization header must use the Bearer scheme: "Bearer <access token>"',
    );
  }
  const token = BEARER.exec(header)?.[1];
  if (!token) {
    throw invalidToken(
      'The access token is malformed: send "Bearer <access token>", the token being letters, digits and -._~+/ then any = padding (RFC 6750)',
    );
  }
  return token;
}

/**
 * The verified caller of `Authorization: Bearer <JWT>`, or a 401 (503 when unconfigured).
 * Failures are counted per client address. Over the limit, the address's failures are 429 for a
 * minute, but its tokens are still verified, with keys at hand (no fetch for an unknown key id):
 * a correct token always gets through. Many callers share one address (a NAT, CI, and every
 * Worker calling from another zone: 2a06:98c0:3600::103), and one of them failing must not lock
 * out the others.
 */
async function callerOf(
  env: Bindings,
  authorization: string | undefined,
  address: string | undefined,
): Promise<Caller> {
  // Fail closed before looking at the token: no key configured means nobody gets in.
  const verifier = verifierFor(env);
  const now = Date.now();
  const wait = address ? waitFor(address, now) : 0;
  try {
    const token = bearerToken(authorization);
    return await verifier.verify(token, { throttled: wait > 0 });
  } catch (error) {
    if (!address || !(error instanceof ApiError) || error.code !== "UNAUTHORIZED") throw error;
    // Already refused: not counted again, so a flood costs no more limiter calls.
    if (wait > 0) throw tooManyFailures(wait);
    const refusedFor = await countAuthFailure(env, address, now);
    if (refusedFor > 0) throw tooManyFailures(refusedFor);
    throw error;
  }
}

/**
 * The gateway a request's token speaks for (scope keys:verify), or the error to answer: 401,
 * 429 or 503 as for any token, 403 for a user's token. For the verification endpoints, mounted
 * (`authenticateGateway`) and served directly (src/http/direct.ts) alike.
 */
export async function gatewayOf(env: Bindings, headers: Headers): Promise<Caller> {
  const caller = await callerOf(
    env,
    headers.get("Authorization") ?? undefined,
    headers.get("CF-Connecting-IP") ?? undefined,
  );
  if (!caller.gateway) {
    throw new ApiError(
      "FORBIDDEN",
      `The verification endpoints need a gateway token (scope ${VERIFY_SCOPE})`,
    );
  }
  return caller;
}

const callerOfRequest = (c: Context<AppEnv>) =>
  callerOf(c.env, c.req.header("Authorization"), c.req.header("CF-Connecting-IP"));

/**
 * Management endpoints: a user's token. Sets `userId` to its subject. A gateway token
 * (scope keys:verify) may verify keys and nothing else: here it is 403.
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const caller = await callerOfRequest(c);
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
  const caller = await gatewayOf(c.env, c.req.raw.headers);
  c.set("userId", caller.subject);
  await next();
});
