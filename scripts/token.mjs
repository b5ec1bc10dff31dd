// `npm run --silent token -- <userId>`: prints a 1-hour development JWT signed with .dev.vars' secret.
import { devToken } from "./dev-token.mjs";

const userId = process.argv[2];
if (!userId) {
  console.error("usage: npm run --silent token -- <userId>");
  process.exit(2);
}
try {
  process.stdout.write(`${await devToken(userId)}\n`);
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
