// Creates .dev.vars (git-ignored) on first use with fresh random secrets, and reads it back.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const DEV_VARS_PATH = fileURLToPath(new URL("../.dev.vars", import.meta.url));

export const DEV_ISSUER = "flashgate-dev";
export const DEV_AUDIENCE = "flashgate-api";

/** Returns true when the file was created now. */
export function ensureDevVars() {
  if (existsSync(DEV_VARS_PATH)) return false;
  const lines = [
    "# Local development secrets, written by `npm run dev` on first run. Never commit this file.",
    `JWT_SECRET=${randomBytes(48).toString("base64url")}`,
    `JWT_ISSUER=${DEV_ISSUER}`,
    `JWT_AUDIENCE=${DEV_AUDIENCE}`,
    `ENCRYPTION_KEYS=dev1:${randomBytes(32).toString("base64")}`,
    "",
  ];
  writeFileSync(DEV_VARS_PATH, lines.join("\n"), { mode: 0o600 });
  return true;
}

export function readDevVars() {
  const vars = {};
  for (const line of readFileSync(DEV_VARS_PATH, "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]] = match[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}
