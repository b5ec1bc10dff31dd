import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { invalidToken, verifierFor } from "./verifier";

const BEARER = /^Bearer +([A-Za-z0-9_.~+/=-]+) *$/i;

/** Requires `Authorization: Bearer <JWT>`, verifies it and sets `userId` to its subject. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  // Fail closed before looking at the token: no key configured means nobody gets in.
  const verifier = verifierFor(c.env);
  const header = c.req.header("Authorization");
  if (!header) {
    throw invalidToken('Missing Authorization header; send "Authorization: Bearer <access token>"');
  }
  const token = BEARER.exec(header)?.[1];
  if (!token)
    throw invalidToken(
      'The Authorization header must use the Bearer scheme: "Bearer <access token>"',
    );
  c.set("userId", await verifier.verify(token));
  await next();
});
