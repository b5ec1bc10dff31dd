import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { AuditEvent } from "../audit/event";
import type { AppEnv } from "../env";

/**
 * Everything a log line may carry: ids, codes, counts and the service's own words. There is no
 * field for a URL, a query string, a header's value, a body or a secret, so none can be passed.
 */
export interface LogFields {
  /** The service's id of the request: its X-Request-Id response header. */
  requestId?: string;
  method?: string;
  /** The route pattern matched (`/repo/:repoId/apikey`), never the URL that was asked for. */
  route?: string;
  status?: number;
  durationMs?: number;
  /** A caught error, written as "Name: message". */
  error?: unknown;
  /** Where an unhandled error was thrown. */
  stack?: string;
  /** Why something failed, when it is not the error itself. */
  reason?: unknown;

  // Audit delivery. An event holds no secret by its schema (src/audit/event.ts).
  eventId?: string;
  event?: AuditEvent;
  events?: AuditEvent[];
  queue?: string;
  messageId?: string;
  issues?: string[];
  count?: number;
  queueError?: unknown;
  storeError?: unknown;

  // Keys and their verification: a key's row id or an address, never its secret.
  kind?: "storage" | "ai" | "provider";
  keyId?: string;
  /** How many keys. */
  keys?: number;
  /** "key:<access key id>" or "ip:<address>". */
  subject?: string;
  lastFailure?: string;
  /** The configured JSON Web Key Set's URL (a setting, not something a caller sent). */
  jwksUrl?: string;

  // AI gateway calls (src/ai-proxy/): ids, the provider type, the model name and token counts.
  repoId?: string;
  aiType?: string;
  model?: string;
  inputTokens?: number;
  outputTokens?: number;

  // The re-seal sweep (src/keys/reseal.ts).
  version?: string;
  resealed?: number;
  unopenable?: number;
  more?: boolean;

  // The audit retention purge (src/audit/retention.ts).
  /** Events older than this instant were purged. */
  before?: string;
  purged?: number;
}

/**
 * Shapes of credentials. A line's every string is scrubbed of them before it is written: an
 * error's message may quote what a caller sent, and the fields above cannot stop that.
 */
const CREDENTIALS: [RegExp, string | ((match: string) => string)][] = [
  // A JWT: base64url of `{"` then payload and signature.
  [/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, "[jwt]"],
  [/\b(Bearer|Basic)\s+[^\s"',;]+/gi, "$1 [redacted]"],
  // A query string: ?access_token=, or a presigned URL's signature.
  [/\?[^\s"'<>#]*=[^\s"'<>#]*/g, "?[redacted]"],
  // A sealed secret (src/crypto/seal.ts) and an AI secret (src/crypto/credentials.ts).
  [/aesgcm\.[\w-]+\.[\w.-]+/g, "aesgcm.[redacted]"],
  [/fbai_sk_\w*/g, "[ai secret]"],
  // Any other long run in both letter cases: a storage secret, a base64 key. UUIDs, hex digests
  // and access key ids are single-case, and stay.
  [
    /[A-Za-z0-9+/_=-]{32,}/g,
    (run) => (/[A-Z]/.test(run) && /[a-z]/.test(run) ? "[redacted]" : run),
  ],
];

/**
 * Together these match every string one of CREDENTIALS' patterns would change (each needs one
 * of the words, or a run of 32 in both letter cases), so a string neither matches is left as it
 * is without running them all: the request log's ids, methods and route patterns.
 */
const CREDENTIAL_WORDS = /eyJ|bearer|basic|\?|aesgcm\.|fbai_sk_/i;
const MIXED_CASE_RUN = /(?=[\w+/=-]*[A-Z])(?=[\w+/=-]*[a-z])[\w+/=-]{32}/;

/** `text` with anything shaped like a credential replaced. */
export function scrubCredentials(text: string): string {
  if (!CREDENTIAL_WORDS.test(text) && !MIXED_CASE_RUN.test(text)) return text;
  let scrubbed = text;
  for (const [pattern, replacement] of CREDENTIALS) {
    scrubbed = scrubbed.replace(pattern, replacement as (match: string) => string);
  }
  return scrubbed;
}

function scrubbed(_key: string, value: unknown): unknown {
  if (value instanceof Error) return scrubCredentials(`${value.name}: ${value.message}`);
  if (typeof value === "string") return scrubCredentials(value);
  return value;
}

type Level = "info" | "warn" | "error";

/**
 * The line for `fields` of strings, numbers and booleans only (the request log's): each string
 * scrubbed, then written without a replacer, which JSON.stringify would call for every key. The
 * same text `scrubbed` writes; undefined for any other fields, which go through it.
 */
function flatLine(level: Level, message: string, fields: LogFields): string | undefined {
  const line: Record<string, unknown> = { level, message: scrubCredentials(message) };
  for (const key in fields) {
    const value = fields[key as keyof LogFields];
    if (typeof value === "string") line[key] = scrubCredentials(value);
    else if (value === undefined || typeof value === "number" || typeof value === "boolean") {
      line[key] = value;
    } else return undefined;
  }
  return JSON.stringify(line);
}

function write(level: Level, message: string, fields: LogFields): void {
  const line =
    flatLine(level, message, fields) ?? JSON.stringify({ level, message, ...fields }, scrubbed);
  // Looked up per call, so a test's spy on console sees the line.
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * The Worker's one logger: one JSON line per call (Workers Logs indexes each field), written
 * with console.log, console.warn or console.error by level.
 */
export const log = {
  info: (message: string, fields: LogFields = {}) => write("info", message, fields),
  warn: (message: string, fields: LogFields = {}) => write("warn", message, fields),
  error: (message: string, fields: LogFields = {}) => write("error", message, fields),
};

/** The most specific route pattern the request matched: "/*" when no operation did. */
export function routeOf(c: Context): string {
  return routePath(c, -1) || "/*";
}

/** One line per request: its id, method, route pattern, status and time taken. */
export const requestLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = Date.now();
  await next();
  log.info("request", {
    requestId: c.var.requestId,
    method: c.req.method,
    route: routeOf(c),
    status: c.res.status,
    durationMs: Date.now() - started,
  });
});
