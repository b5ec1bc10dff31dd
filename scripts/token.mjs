// `npm run --silent token -- <userId>`: prints a 1-hour development JWT signed with .dev.vars' secret.
import { SignJWT } from "jose";
import { ensureDevVars, readDevVars } from "./dev-vars.mjs";

const userId = process.argv[2];
if (!userId) {
  console.error("usage: npm run --silent token -- <userId>");
  process.exit(2);
}
ensureDevVars();
const vars = readDevVars();
if (!vars.JWT_SECRET) {
  console.error(".dev.vars has no JWT_SECRET; delete it and run `npm run dev` again");
  process.exit(1);
}
let jwt = new SignJWT({})
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(userId)
  .setIssuedAt()
  .setExpirationTime("1h");
if (vars.JWT_ISSUER) jwt = jwt.setIssuer(vars.JWT_ISSUER);
if (vars.JWT_AUDIENCE) jwt = jwt.setAudience(vars.JWT_AUDIENCE);
process.stdout.write(`${await jwt.sign(new TextEncoder().encode(vars.JWT_SECRET))}\n`);
