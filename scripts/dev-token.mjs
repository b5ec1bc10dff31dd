// A development JWT signed with .dev.vars' secret, as `npm run token` prints it.
import { SignJWT } from "jose";
import { ensureDevVars, readDevVars } from "./dev-vars.mjs";

/**
 * A 1-hour HS256 token for `userId`, with the issuer and audience `npm run dev` expects; with
 * `scope` ("keys:verify"), a gateway's token.
 */
export async function devToken(userId, { scope } = {}) {
  ensureDevVars();
  const vars = readDevVars();
  if (!vars.JWT_SECRET) {
    throw new Error(".dev.vars has no JWT_SECRET; delete it and run `npm run dev` again");
  }
  let jwt = new SignJWT(scope ? { scope } : {})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime("1h");
  if (vars.JWT_ISSUER) jwt = jwt.setIssuer(vars.JWT_ISSUER);
  if (vars.JWT_AUDIENCE) jwt = jwt.setAudience(vars.JWT_AUDIENCE);
  return jwt.sign(new TextEncoder().encode(vars.JWT_SECRET));
}
