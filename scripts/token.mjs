// `npm run --silent token -- [--scope keys:verify] <id>`: prints a 1-hour development JWT signed
// with .dev.vars' secret: a user's, or with --scope keys:verify a gateway's.
import { parseArgs } from "node:util";
import { devToken } from "./dev-token.mjs";

let parsed;
try {
  parsed = parseArgs({ options: { scope: { type: "string" } }, allowPositionals: true });
} catch (error) {
  parsed = { error };
}
const id = parsed.positionals?.[0];
if (parsed.error || !id || parsed.positionals.length > 1) {
  console.error("usage: npm run --silent token -- [--scope keys:verify] <userId or gatewayId>");
  process.exit(2);
}
try {
  process.stdout.write(`${await devToken(id, { scope: parsed.values.scope })}\n`);
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
