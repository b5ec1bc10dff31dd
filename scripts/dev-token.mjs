// A development JWT signed with .dev.vars' secret, as `npm run token` prints it.
import { SignJWT } from "jose";
import { ensureDevVars, readDevVars } from "./dev-vars.mjs";

/**
 * A 1-hour HS256 token for `userId`, with the issuer and audience `npm run dev` expects; with
 * `scope` ("keys:verify"), a gateway's token. `claims` set or, as `undefined`, remove any claim
 * (tests use it for tokens the service must refuse).
 */
export async function devToken(userId, { scope, claims = {} } = {}) {
  ensureDevVars();
  const vars = readDevVars();
  if (!vars.JWT_SECRET) {
    throw new Error(".dev.vars has no JWT_SECRET; delete it and run `npm run dev` again");
  }
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    sub: userId,
    iat: now,
    exp: now + 3600,
    ...(vars.JWT_ISSUER ? { iss: vars.JWT_ISSUER } : {}),
    ...(vars.JWT_AUDIENCE ? { aud: vars.JWT_AUDIENCE } : {}),
    ...(scope ? { scope } : {}),
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined) delete payload[name];
  }
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(vars.JWT_SECRET));
}
