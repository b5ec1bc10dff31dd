/**
 * The floor: the least work the measured endpoints could do, with no framework. It verifies
 * the same JWT with jose (remembering verified tokens until they expire, as the Worker does),
 * runs the same SQL (copied from what Drizzle generates) in the same round trips against the
 * same rows, and answers with the same JSON, with the contract's request id and one log line
 * per request, so `npm run bench` can divide our Worker's req/s by this one's. Only what a
 * hand-written Worker could skip is skipped: routing tables,
 * middleware chains, schema libraries and a query builder. No check is skipped.
 *
 * Keys' lifecycle is computed as the Worker computes it (src/db/key-state.ts): lists answer
 * EXPIRED once expiresAt has passed and a previous secret's end only during its grace.
 *
 * The verification plane (POST /verify/s3, /verify/ai) is at the end: a compact SigV4 of its
 * own (nothing imported from src/), the same lookup SQL, the same per-isolate memory of rows
 * (same TTL) and derived keys, the same WebCrypto operations, the same lifecycle checks
 * (revoked, disabled, expired; a rolled key's previous secret during its grace only) and the
 * same lastUsedAt batching. `checkS3` is also the S3 gateway's floor's inline check
 * (bench/gateway-floor.ts).
 */
import { jwtVerify } from "jose";

/** What the verification plane reads (bench/gateway-floor.ts has these bindings too). */
export interface VerifyEnv {
  DB: D1Database;
  ENCRYPTION_KEYS: string;
  VERIFY_CACHE_TTL_SECONDS?: string;
  S3_REGION?: string;
  VERIFY_FAILURES?: RateLimit;
}

interface Env extends VerifyEnv {
  AUDIT: Queue;
  JWT_SECRET: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  STORAGE_KEY_QUOTA: string;
}

// The same statements the Worker sends (src/access/membership.ts, src/keys, src/ai-keys,
// src/db/key-rows.ts), character for character, so SQLite does the same work for both.
// The reads alias each column to its JSON field, so rows need no mapping in either Worker.
const MEMBERSHIP_SQL =
  'select "workspace_members"."role" as "role", "repos"."workspace_id" as "workspaceId" from "repos" inner join "workspace_members" on ("workspace_members"."workspace_id" = "repos"."workspace_id" and "workspace_members"."user_id" = ?) where "repos"."id" = ? limit ?';
const LIST_STORAGE_KEYS_SQL =
  'select "id" as "id", "name" as "name", "access_type" as "accessType", "key" as "key", "created_at" as "createdAt", "created_by" as "createdBy", "last_used_at" as "lastUsedAt", "status" as "status", "expires_at" as "expiresAt", "previous_secret_expires_at" as "previousSecretExpiresAt", "disabled_reason" as "disabledReason", "leaked_at" as "leakedAt", "leak_source" as "leakSource", "leak_url" as "leakUrl", "ratelimit_limit" as "ratelimitLimit", "ratelimit_period_seconds" as "ratelimitPeriodSeconds" from "storage_keys" where ("storage_keys"."repo_id" = (SELECT "repos"."id" FROM "repos" INNER JOIN "workspace_members" ON "workspace_members"."workspace_id" = "repos"."workspace_id" WHERE ("repos"."id" = ? and "workspace_members"."user_id" = ? and "workspace_members"."role" in (?, ?, ?))) and "storage_keys"."deleted_at" is null) order by "storage_keys"."created_at" desc, "storage_keys"."id" desc';
const LIST_AI_KEYS_SQL =
  'select "id" as "id", "name" as "name", "repo_id" as "repoId", "key" as "key", "ai_type" as "aiType", "created_at" as "createdAt", "deleted_at" as "deletedAt", "status" as "status", "expires_at" as "expiresAt", "last_used_at" as "lastUsedAt", "previous_secret_expires_at" as "previousSecretExpiresAt", "disabled_reason" as "disabledReason", "leaked_at" as "leakedAt", "leak_source" as "leakSource", "leak_url" as "leakUrl", "ratelimit_limit" as "ratelimitLimit", "ratelimit_period_seconds" as "ratelimitPeriodSeconds", "models" as "models" from "ai_keys" where ("ai_keys"."repo_id" = (SELECT "repos"."id" FROM "repos" INNER JOIN "workspace_members" ON "workspace_members"."workspace_id" = "repos"."workspace_id" WHERE ("repos"."id" = ? and "workspace_members"."user_id" = ? and "workspace_members"."role" in (?, ?, ?))) and "ai_keys"."deleted_at" is null) order by "ai_keys"."created_at" desc, "ai_keys"."id" desc';
// The lists read rows only for a caller who may list them (src/access/policy.ts: READ and up):
// repo_id is compared to a membership subquery that is NULL for anyone else.
const READERS = ["READ", "WRITE", "ADMIN"];
// The insert re-checks quota and the creator's role, so it runs in one batch with the read.
const INSERT_STORAGE_KEY_SQL =
  'INSERT INTO "storage_keys" ("id", "repo_id", "name", "key", "sealed_secret", "created_by", "created_at", "updated_at", "expires_at", "ratelimit_limit", "ratelimit_period_seconds", "access_type", "secret_digest") SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM "storage_keys" WHERE "storage_keys"."repo_id" = ? AND "storage_keys"."deleted_at" IS NULL) < ? AND EXISTS (SELECT 1 FROM "repos" INNER JOIN "workspace_members" ON "workspace_members"."workspace_id" = "repos"."workspace_id" WHERE ("repos"."id" = ? and "workspace_members"."user_id" = ?) AND "workspace_members"."role" IN (SELECT value FROM json_each(?)))';

const RANK: Record<string, number> = { READ: 1, WRITE: 2, ADMIN: 3 };
const rankOf = (role: string | undefined): number => (role && RANK[role]) || 0;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
// src/http/schemas.ts's rules in one pattern each: a user id with no lone surrogate, control or
// format character and no whitespace at either end; a name with no lone surrogate, control
// character or bidi override/isolate.
const USER_ID = /^(?!\s)[^\p{Cs}\p{Cc}\p{Cf}]+(?<!\s)$/u;
const NAME = /^[^\p{Cs}\p{Cc}\u202A-\u202E\u2066-\u2069]+$/u;
const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** CRC-32 (IEEE) of ASCII text: the storage secret's checksum. */
function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i);
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
const encoder = new TextEncoder();

// Keys are imported once per isolate: a hand-written Worker would not re-import them per request.
let hmacKey: Promise<CryptoKey> | undefined;
let sealing: Promise<{ version: string; key: CryptoKey }> | undefined;

function hmacKeyOf(env: Env): Promise<CryptoKey> {
  hmacKey ??= crypto.subtle.importKey(
    "raw",
    encoder.encode(env.JWT_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  return hmacKey;
}

function sealingKeyOf(env: Env): Promise<{ version: string; key: CryptoKey }> {
  sealing ??= (async () => {
    const first = env.ENCRYPTION_KEYS.split(",")[0] as string;
    const separator = first.indexOf(":");
    const raw = Uint8Array.from(atob(first.slice(separator + 1)), (c) => c.charCodeAt(0));
    const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt"]);
    return { version: first.slice(0, separator), key };
  })();
  return sealing;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

// Tokens verified before, until they expire: the Worker keeps the same per-isolate memory.
const verified = new Map<string, { sub: string; exp: number; gateway: boolean }>();

/** The token's subject; a gateway token (scope keys:verify) only where `gateway` is wanted. */
async function verifiedCaller(request: Request, env: Env, gateway: boolean): Promise<string> {
  const token = /^Bearer +([A-Za-z0-9_.~+/=-]+) *$/i.exec(
    request.headers.get("Authorization") ?? "",
  )?.[1];
  if (!token) throw new Refusal(401, "Missing or malformed bearer token");
  let caller = verified.get(token);
  if (!caller || Math.floor(Date.now() / 1000) >= caller.exp + 30) {
    try {
      const { payload } = await jwtVerify(token, await hmacKeyOf(env), {
        algorithms: ["HS256"],
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        clockTolerance: 30,
        requiredClaims: ["exp", "sub"],
      });
      const sub = payload.sub as string;
      if (sub.length > 255 || !USER_ID.test(sub) || sub.normalize("NFC") !== sub) {
        throw new Error("bad sub");
      }
      const now = Date.now() / 1000;
      const exp = payload.exp as number;
      if (payload.iat !== undefined && payload.iat > now + 30) throw new Error("future iat");
      if ((payload.iat !== undefined ? exp - payload.iat : exp - now - 30) > 86_400) {
        throw new Error("lifetime over the maximum");
      }
      const scope = payload.scope;
      const scopes =
        typeof scope === "string" ? scope.split(" ") : Array.isArray(scope) ? scope : [];
      caller = { sub, exp: payload.exp as number, gateway: scopes.includes("keys:verify") };
      if (verified.size >= 1000) verified.delete(verified.keys().next().value as string);
      verified.set(token, caller);
    } catch {
      throw new Refusal(401, "Invalid access token");
    }
  }
  if (caller.gateway !== gateway) throw new Refusal(403, "Wrong kind of token for this endpoint");
  return caller.sub;
}

function repoIdOf(raw: string): string {
  if (!UUID.test(raw)) throw new Refusal(400, "repoId must be a UUID");
  return raw.toLowerCase();
}

type MembershipRow = { role: string; workspaceId: string };

/** Unbiased: bytes at or above the largest multiple of the alphabet size are redrawn. */
function randomString(alphabet: string, length: number): string {
  const limit = 256 - (256 % alphabet.length);
  const bytes = new Uint8Array(length * 2);
  let out = "";
  while (out.length < length) {
    crypto.getRandomValues(bytes);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const byte = bytes[i] as number;
      if (byte < limit) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A listed key's lifecycle columns, as stored. */
interface ListedRow {
  status: string;
  expiresAt: string | null;
  previousSecretExpiresAt: string | null;
  ratelimitLimit?: number | null;
  ratelimitPeriodSeconds?: number | null;
  ratelimit?: { limit: number; periodSeconds: number } | null;
}

// Each key's VALID verifications in the last 24 hours (src/usage/recent.ts), in the list's batch.
// As src/usage/recent.ts: only a reader's (the membership's answer is the repo id searched by),
// rolled hours from hour rows, the minutes before the first whole hour and after the watermark.
const USAGE_24H_SQL = `WITH g AS MATERIALIZED (SELECT r.id AS id FROM repos r
    JOIN workspace_members m ON m.workspace_id = r.workspace_id
    WHERE r.id = ?1 AND m.user_id = ?3 AND m.role IN (SELECT value FROM json_each(?4))),
  w AS MATERIALIZED (SELECT max(?5,
    coalesce((SELECT through FROM usage_rollups WHERE scale = 'hour'), 0)) AS h)
  SELECT key_id AS keyId, sum(n) AS n FROM (
    SELECT key_id, n FROM key_usage WHERE scale = 'minute' AND repo_id = (SELECT id FROM g)
      AND t >= ?2 AND t < ?5 AND code = 'VALID' AND caller = ''
    UNION ALL
    SELECT key_id, n FROM key_usage WHERE scale = 'hour' AND repo_id = (SELECT id FROM g)
      AND t >= ?5 AND t < (SELECT h FROM w) AND code = 'VALID' AND caller = ''
    UNION ALL
    SELECT key_id, n FROM key_usage WHERE scale = 'minute' AND repo_id = (SELECT id FROM g)
      AND t >= (SELECT h FROM w) AND code = 'VALID' AND caller = ''
  ) GROUP BY key_id`;

function usage24hRead(env: Env, repoId: string, userId: string) {
  const since = Math.floor((Date.now() / 1000 - 86_400) / 60) * 60;
  return env.DB.prepare(USAGE_24H_SQL).bind(
    repoId,
    since,
    userId,
    JSON.stringify(READERS),
    Math.ceil(since / 3_600) * 3_600,
  );
}

/**
 * Each key as a client sees it now (src/db/key-state.ts): EXPIRED once expiresAt has passed,
 * the previous secret's end only while its grace lasts; then its `usage24h` and its rate limit,
 * in the order the Worker's answer has them (src/keys/list.ts adds usage24h to each row, then
 * src/limits/setting.ts's withRateLimit turns the two columns into `ratelimit`, last). In place,
 * so the other fields keep the order the SELECT gave them (the Worker's spread keeps it too).
 */
function asListed(rows: ListedRow[], usage: { keyId: string; n: number }[]): ListedRow[] {
  const now = new Date().toISOString();
  const counts = new Map(usage.map(({ keyId, n }) => [keyId, n]));
  for (const row of rows as (ListedRow & { id: string; usage24h?: number })[]) {
    if (row.expiresAt !== null && row.expiresAt <= now) row.status = "EXPIRED";
    const previous = row.previousSecretExpiresAt;
    if (previous !== null && previous <= now) row.previousSecretExpiresAt = null;
    row.usage24h = counts.get(row.id) ?? 0;
    const limit = row.ratelimitLimit ?? null;
    const periodSeconds = row.ratelimitPeriodSeconds ?? null;
    delete row.ratelimitLimit;
    delete row.ratelimitPeriodSeconds;
    row.ratelimit = limit !== null && periodSeconds !== null ? { limit, periodSeconds } : null;
  }
  return rows;
}

async function listStorageKeys(env: Env, userId: string, repoId: string): Promise<Response> {
  const [membership, keys, usage] = await env.DB.batch<ListedRow>([
    env.DB.prepare(MEMBERSHIP_SQL).bind(userId, repoId, 1),
    env.DB.prepare(LIST_STORAGE_KEYS_SQL).bind(repoId, userId, ...READERS),
    usage24hRead(env, repoId, userId),
  ]);
  const role = (membership?.results[0] as MembershipRow | undefined)?.role;
  if (rankOf(role) < rankOf("READ")) throw new Refusal(403, "Insufficient permissions");
  const counts = (usage?.results ?? []) as unknown as { keyId: string; n: number }[];
  return json({ success: true, keys: asListed(keys?.results ?? [], counts), nextCursor: null });
}

async function listAiKeys(env: Env, userId: string, repoId: string): Promise<Response> {
  const [membership, keys, usage] = await env.DB.batch<ListedRow & { models?: unknown }>([
    env.DB.prepare(MEMBERSHIP_SQL).bind(userId, repoId, 1),
    env.DB.prepare(LIST_AI_KEYS_SQL).bind(repoId, userId, ...READERS),
    usage24hRead(env, repoId, userId),
  ]);
  const role = (membership?.results[0] as MembershipRow | undefined)?.role;
  if (rankOf(role) < rankOf("READ")) throw new Refusal(403, "Insufficient permissions");
  const rows = keys?.results ?? [];
  // The model allow-list is stored as JSON text (src/ai-keys/routes.ts).
  for (const row of rows) if (typeof row.models === "string") row.models = JSON.parse(row.models);
  const counts = (usage?.results ?? []) as unknown as { keyId: string; n: number }[];
  return json({ success: true, apiKeys: asListed(rows, counts), nextCursor: null });
}

const MAX_LIFETIME_MS = 10 * 366 * 24 * 3600 * 1000;
// As zod's z.iso.datetime({ offset: true }): seconds required, the offset with its colon.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** ExpiresAtSchema by hand: ISO 8601 with a zone, in the future, at most 10 years; as UTC. */
function expiryOf(value: unknown): string | null {
  if (value === undefined) return null;
  const at = typeof value === "string" && ISO_WITH_ZONE.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) throw new Refusal(400, "expiresAt must be an ISO 8601 date-time");
  const now = Date.now();
  if (at <= now || at > now + MAX_LIFETIME_MS) throw new Refusal(400, "expiresAt out of range");
  return new Date(at).toISOString();
}

/** The body checks of CreateStorageKeyBodySchema, by hand. */
function createBody(
  body: unknown,
  repoId: string,
): { name: string; accessType: string; expiresAt: string | null } {
  if (typeof body !== "object" || body === null) throw new Refusal(400, "body must be an object");
  const {
    name,
    accessType,
    expiresAt,
    repoId: bodyRepoId,
    ...unknown
  } = body as Record<string, unknown>;
  if (Object.keys(unknown).length > 0) throw new Refusal(400, "unknown fields");
  if (typeof name !== "string") throw new Refusal(400, "name must be a string");
  const trimmed = name.trim();
  if (trimmed.length === 0 || [...trimmed].length > 128 || !NAME.test(trimmed)) {
    throw new Refusal(400, "name is not acceptable");
  }
  if (typeof accessType !== "string" || !Object.hasOwn(RANK, accessType)) {
    throw new Refusal(400, "accessType must be READ, WRITE or ADMIN");
  }
  if (
    bodyRepoId !== undefined &&
    (typeof bodyRepoId !== "string" || repoIdOf(bodyRepoId) !== repoId)
  ) {
    throw new Refusal(400, "repoId does not match");
  }
  return { name: trimmed, accessType, expiresAt: expiryOf(expiresAt) };
}

async function createStorageKey(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  userId: string,
  repoId: string,
): Promise<Response> {
  const body = createBody(await request.json().catch(() => null), repoId);
  const creatorRoles = Object.keys(RANK).filter(
    (role) => rankOf(role) >= rankOf("WRITE") && rankOf(role) >= rankOf(body.accessType),
  );

  const id = crypto.randomUUID();
  const key = `FBAK${randomString(UPPER_ALNUM, 16)}`;
  // fbsk_ + 29 base62 + their base62 CRC-32 (src/crypto/credentials.ts), and its keyed digest.
  const body29 = randomString(BASE62, 29);
  let crc = crc32(body29);
  let checksum = "";
  for (let i = 0; i < 6; i++, crc = Math.floor(crc / 62)) checksum = BASE62[crc % 62] + checksum;
  const secret = `fbsk_${body29}${checksum}`;
  const { version, key: aesKey } = await sealingKeyOf(env);
  const mac = await crypto.subtle.sign(
    "HMAC",
    await digestKey(env as unknown as VerifyEnv, version),
    encoder.encode(secret),
  );
  const secretDigest = `${version}.${base64Url(new Uint8Array(mac))}`;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(`flashgate/storage/${repoId}/${id}`) },
    aesKey,
    encoder.encode(secret),
  );
  const sealed = `aesgcm.${version}.${base64Url(iv)}.${base64Url(new Uint8Array(ciphertext))}`;
  const at = new Date().toISOString();
  const quota = Number(env.STORAGE_KEY_QUOTA);
  const [membership, inserted] = await env.DB.batch([
    env.DB.prepare(MEMBERSHIP_SQL).bind(userId, repoId, 1),
    env.DB.prepare(INSERT_STORAGE_KEY_SQL).bind(
      id,
      repoId,
      body.name,
      key,
      sealed,
      userId,
      at,
      at,
      body.expiresAt,
      // No rate limit: the bench's create body sets none.
      null,
      null,
      body.accessType,
      secretDigest,
      repoId,
      quota,
      repoId,
      userId,
      JSON.stringify(creatorRoles),
    ),
  ]);
  const member = membership?.results[0] as MembershipRow | undefined;
  if (!creatorRoles.includes(member?.role ?? "")) {
    throw new Refusal(403, "Insufficient permissions");
  }
  if (inserted?.meta.changes !== 1) throw new Refusal(409, "Quota exceeded");

  // The audit event is part of the endpoint's contract, so the floor sends it too.
  ctx.waitUntil(
    env.AUDIT.send(
      {
        id: crypto.randomUUID(),
        at,
        actorId: userId,
        requestId: crypto.randomUUID(),
        ip: request.headers.get("CF-Connecting-IP"),
        userAgent: request.headers.get("User-Agent"),
        type: "apikey.created",
        workspaceId: member?.workspaceId,
        repoId,
        targetId: id,
        changes: {
          name: { after: body.name },
          accessType: { after: body.accessType },
          key: { after: key },
          ...(body.expiresAt ? { expiresAt: { after: body.expiresAt } } : {}),
        },
      },
      { contentType: "json" },
    ),
  );
  return json({ success: true, id, key, secret });
}

// ---------------------------------------------------------------------------------------------
// The verification plane.

// The same lookups the Worker sends (src/verify/s3.ts, src/verify/ai.ts), character for character.
const S3_LOOKUP_SQL = `SELECT k.id, k.key, k.repo_id AS repoId, r.workspace_id AS workspaceId,
  r.created_at AS repoCreatedAt,
  k.access_type AS accessType, k.sealed_secret AS sealedSecret, k.status,
  k.expires_at AS expiresAt, k.previous_sealed_secret AS previousSealedSecret,
  k.previous_secret_expires_at AS previousSecretExpiresAt, k.deleted_at AS deletedAt,
  k.ratelimit_limit AS ratelimitLimit, k.ratelimit_period_seconds AS ratelimitPeriodSeconds
  FROM storage_keys k JOIN repos r ON r.id = k.repo_id WHERE k.key = ?1`;
const aiLookupSql = (versions: number) => {
  const digests = Array.from({ length: versions }, (_, i) => `?${i + 1}`).join(", ");
  return `SELECT k.id, k.key, k.repo_id AS repoId, r.workspace_id AS workspaceId,
  k.ai_type AS aiType, k.secret_digest AS secretDigest,
  k.previous_secret_digest AS previousSecretDigest, k.status, k.expires_at AS expiresAt,
  k.previous_secret_expires_at AS previousSecretExpiresAt, k.deleted_at AS deletedAt,
  k.ratelimit_limit AS ratelimitLimit, k.ratelimit_period_seconds AS ratelimitPeriodSeconds,
  k.models
  FROM ai_keys k JOIN repos r ON r.id = k.repo_id
  WHERE k.secret_digest IN (${digests}) OR k.previous_secret_digest IN (${digests})`;
};

/** The lifecycle columns both lookups read. */
interface Lifecycle {
  status: string;
  expiresAt: string | null;
  previousSecretExpiresAt: string | null;
  deletedAt: string | null;
}

/** ACTIVE, INACTIVE, or EXPIRED once expiresAt has passed (`now` ISO, as stored). */
const stateOf = (row: Lifecycle, now: string) =>
  row.expiresAt !== null && row.expiresAt <= now ? "EXPIRED" : row.status;
/** Whether a rolled key's previous secret is still in its grace period. */
const previousLive = (row: Lifecycle, now: string) =>
  row.previousSecretExpiresAt !== null && row.previousSecretExpiresAt > now;

export interface StorageKeyRow extends Lifecycle {
  id: string;
  key: string;
  repoId: string;
  workspaceId: string;
  repoCreatedAt: string;
  accessType: string;
  sealedSecret: string;
  previousSealedSecret: string | null;
  /** Verify-only signing keys per "slot:date/region/service", hung on the remembered row. */
  signingKeys?: Map<string, Promise<CryptoKey>>;
}

interface AiKeyRow extends Lifecycle {
  id: string;
  key: string;
  repoId: string;
  workspaceId: string;
  aiType: string;
  secretDigest: string;
  previousSecretDigest: string | null;
  /** The model allow-list, parsed once when the row is read. */
  models: string[] | null;
}

/** Per-isolate memory of looked-up rows (null: known not to exist) until a deadline. */
class Remembered<Row> {
  readonly entries = new Map<string, { row: Row | null; until: number }>();
  recall(lookup: string, now: number): Row | null | undefined {
    const entry = this.entries.get(lookup);
    if (!entry) return undefined;
    if (now < entry.until) return entry.row;
    this.entries.delete(lookup);
    return undefined;
  }
  remember(lookup: string, row: Row | null, until: number): void {
    if (this.entries.size >= 10_000 && !this.entries.has(lookup)) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(lookup, { row, until });
  }
}
const storageRows = new Remembered<StorageKeyRow>();
const aiRows = new Remembered<AiKeyRow>();

/** VERIFY_CACHE_TTL_SECONDS (0–300, default 10); unknown keys for at most 5 s. */
function cacheTtlMs(env: VerifyEnv): { found: number; unknown: number } {
  const text = env.VERIFY_CACHE_TTL_SECONDS;
  const value = Number(text);
  const seconds =
    text !== undefined &&
    text.trim() !== "" &&
    Number.isInteger(value) &&
    value >= 0 &&
    value <= 300
      ? value
      : 10;
  return { found: seconds * 1000, unknown: Math.min(seconds, 5) * 1000 };
}

/** The keyring, parsed once per isolate: every version opens and digests, the first seals. */
let keyring: { versions: string[]; raw: Map<string, Uint8Array<ArrayBuffer>> } | undefined;
const openingKeys = new Map<string, Promise<CryptoKey>>();
const digestKeys = new Map<string, Promise<CryptoKey>>();

function keyringOf(env: VerifyEnv) {
  if (!keyring) {
    const raw = new Map<string, Uint8Array<ArrayBuffer>>();
    for (const entry of env.ENCRYPTION_KEYS.split(",")) {
      const separator = entry.indexOf(":");
      const bytes = Uint8Array.from(atob(entry.slice(separator + 1).trim()), (c) =>
        c.charCodeAt(0),
      );
      if (bytes.length !== 32) throw new Error("ENCRYPTION_KEYS: keys must be 32 bytes");
      raw.set(entry.slice(0, separator).trim(), bytes);
    }
    keyring = { versions: [...raw.keys()], raw };
  }
  return keyring;
}

function onceFor(
  cache: Map<string, Promise<CryptoKey>>,
  version: string,
  make: (raw: Uint8Array<ArrayBuffer>) => Promise<CryptoKey>,
  env: VerifyEnv,
): Promise<CryptoKey> {
  let key = cache.get(version);
  if (!key) {
    const raw = keyringOf(env).raw.get(version);
    if (!raw) throw new Error(`no key ${version}`);
    key = make(raw);
    cache.set(version, key);
  }
  return key;
}

const openingKey = (env: VerifyEnv, version: string) =>
  onceFor(
    openingKeys,
    version,
    (raw) => crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]),
    env,
  );

/** HMAC-SHA-256 key derived (HKDF, empty salt) from the version's AES key, for digests only. */
const digestKey = (env: VerifyEnv, version: string) =>
  onceFor(
    digestKeys,
    version,
    async (raw) =>
      crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: new Uint8Array(0),
          info: encoder.encode("flashgate/secret-digest/v1"),
        },
        await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]),
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      ),
    env,
  );

function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * AES-GCM open of "aesgcm.<version>.<iv>.<ciphertext>", bound to its row (and, for a rolled
 * key's previous secret, to that slot) by the AAD.
 */
async function openSealed(env: VerifyEnv, row: StorageKeyRow, slot: Slot): Promise<string> {
  const sealed = slot === "current" ? row.sealedSecret : (row.previousSealedSecret as string);
  const [format, version = "", iv = "", ciphertext = "", extra] = sealed.split(".");
  if (format !== "aesgcm" || !version || !iv || !ciphertext || extra !== undefined) {
    throw new Error("sealed secret is malformed");
  }
  const plaintext = await crypto.subtle.decrypt(
    {
      name: "AES-GCM",
      iv: base64UrlToBytes(iv),
      additionalData: encoder.encode(
        `flashgate/storage/${row.repoId}/${row.id}${slot === "current" ? "" : "/previous"}`,
      ),
    },
    await openingKey(env, version),
    base64UrlToBytes(ciphertext),
  );
  return new TextDecoder().decode(plaintext);
}

// Failed verifications: subjects refused for a minute once the rate limiter says so.
const blocked = new Map<string, number>();

function isBlocked(subjects: string[], now: number): boolean {
  for (const subject of subjects) {
    const until = blocked.get(subject);
    if (until === undefined) continue;
    if (now < until) return true;
    blocked.delete(subject);
  }
  return false;
}

async function countFailure(env: VerifyEnv, subjects: string[], now: number): Promise<boolean> {
  const limiter = env.VERIFY_FAILURES;
  if (!limiter || subjects.length === 0) return false;
  const outcomes = await Promise.all(subjects.map((key) => limiter.limit({ key })));
  outcomes.forEach((outcome, i) => {
    if (!outcome.success) blocked.set(subjects[i] as string, now + 60_000);
  });
  return outcomes.some((outcome) => !outcome.success);
}

const subjectsOf = (keyId: string | undefined, clientIp: string | undefined) => [
  ...(keyId ? [`key:${keyId}`] : []),
  ...(clientIp ? [`ip:${clientIp}`] : []),
];

// lastUsedAt: at most once a minute per key, gathered for a second into one batch, in waitUntil.
const lastRecorded = new Map<string, number>();
let pendingUses: { table: string; keyId: string; at: string }[] = [];
let flushing: Promise<void> | undefined;

async function flushUses(env: VerifyEnv): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const uses = pendingUses;
  pendingUses = [];
  flushing = undefined;
  if (uses.length === 0) return;
  try {
    await env.DB.batch(
      uses.map(({ table, keyId, at }) =>
        env.DB.prepare(
          `UPDATE ${table} SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)`,
        ).bind(at, keyId),
      ),
    );
  } catch {
    for (const { table, keyId } of uses) lastRecorded.delete(`${table}:${keyId}`);
  }
}

function recordUse(
  env: VerifyEnv,
  ctx: ExecutionContext,
  table: string,
  keyId: string,
  now: number,
) {
  const id = `${table}:${keyId}`;
  const last = lastRecorded.get(id);
  if (last !== undefined && now - last < 60_000) return;
  lastRecorded.delete(id);
  if (lastRecorded.size >= 10_000) lastRecorded.delete(lastRecorded.keys().next().value as string);
  lastRecorded.set(id, now);
  pendingUses.push({ table, keyId, at: new Date(now).toISOString() });
  if (!flushing) {
    flushing = flushUses(env);
    ctx.waitUntil(flushing);
  }
}

const optionalString = (value: unknown, max: number, field: string) => {
  if (
    value !== undefined &&
    (typeof value !== "string" || value.length < 1 || value.length > max)
  ) {
    throw new Refusal(400, `${field} is not acceptable`);
  }
  return value as string | undefined;
};

/** The body checks of VerifyS3RequestSchema, by hand. */
function s3Body(body: unknown) {
  if (typeof body !== "object" || body === null) throw new Refusal(400, "body must be an object");
  const { method, url, headers, requiredAccess, clientIp, ...unknown } = body as Record<
    string,
    unknown
  >;
  if (Object.keys(unknown).length > 0) throw new Refusal(400, "unknown fields");
  if (typeof method !== "string" || !/^[A-Za-z]{1,16}$/.test(method)) {
    throw new Refusal(400, "method must be an HTTP method");
  }
  if (typeof url !== "string" || url.length > 16_384 || !/^https?:\/\/[^/?#\s]+/i.test(url)) {
    throw new Refusal(400, "url must be an absolute URL");
  }
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw new Refusal(400, "headers must be an object");
  }
  const entries = Object.entries(headers);
  if (entries.length > 200) throw new Refusal(400, "too many headers");
  for (const [name, value] of entries) {
    if (
      name.length < 1 ||
      name.length > 256 ||
      typeof value !== "string" ||
      value.length > 16_384
    ) {
      throw new Refusal(400, "headers are not acceptable");
    }
  }
  if (requiredAccess !== undefined && !Object.hasOwn(RANK, requiredAccess as string)) {
    throw new Refusal(400, "requiredAccess must be READ, WRITE or ADMIN");
  }
  return {
    method,
    url,
    headers: headers as Record<string, string>,
    requiredAccess: requiredAccess as string | undefined,
    clientIp: optionalString(clientIp, 64, "clientIp"),
  };
}

/** The body checks of VerifyAiRequestSchema, by hand. */
function aiBody(body: unknown) {
  if (typeof body !== "object" || body === null) throw new Refusal(400, "body must be an object");
  const { secret, clientIp, ...unknown } = body as Record<string, unknown>;
  if (Object.keys(unknown).length > 0) throw new Refusal(400, "unknown fields");
  if (typeof secret !== "string" || secret.length < 1 || secret.length > 512) {
    throw new Refusal(400, "secret must be a string of 1 to 512 characters");
  }
  return { secret, clientIp: optionalString(clientIp, 64, "clientIp") };
}

export const S3_ERRORS: Record<string, string> = {
  INVALID_ACCESS_KEY: "InvalidAccessKeyId",
  SIGNATURE_MISMATCH: "SignatureDoesNotMatch",
  REQUEST_TIME_SKEWED: "RequestTimeTooSkewed",
  REQUEST_EXPIRED: "AccessDenied",
  MALFORMED: "AuthorizationHeaderMalformed",
  NOT_SIGNED: "AccessDenied",
  HEADERS_NOT_SIGNED: "AccessDenied",
  INSUFFICIENT_ACCESS: "AccessDenied",
  REVOKED: "InvalidAccessKeyId",
  // As S3 answers for an IAM access key made inactive.
  DISABLED: "InvalidAccessKeyId",
  EXPIRED: "AccessDenied",
  RATE_LIMITED: "SlowDown",
  TOKEN_EXPIRED: "ExpiredToken",
  INVALID_TOKEN: "InvalidToken",
};
const SIGV4 = "AWS4-HMAC-SHA256";
const MAX_SKEW_MS = 15 * 60 * 1000;

class Malformed extends Error {}
/** No signature at all: S3's anonymous AccessDenied, never counted as a failure. */
class NotSigned extends Error {}
const malformed = (message: string): never => {
  throw new Malformed(message);
};

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
export const hexOf = (buffer: ArrayBuffer) => {
  let out = "";
  for (const byte of new Uint8Array(buffer)) out += HEX[byte];
  return out;
};
const awsEncode = (value: string) =>
  encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
const decode = (raw: string) => {
  try {
    return decodeURIComponent(raw);
  } catch {
    return malformed("malformed percent-encoding");
  }
};

/** A request's header by lower-case name: a Map from the JSON body, or a Request's Headers. */
export type HeaderOf = (name: string) => string | undefined;

/** What a verification is asked: the request as the gateway received it, and what it needs. */
export interface SignedRequest {
  method: string;
  url: string;
  header: HeaderOf;
  /** Every header's lower-case name: each x-amz-* one must be signed. */
  headerNames: Iterable<string>;
  requiredAccess?: string | undefined;
  clientIp?: string | undefined;
}

/** SigV4 as S3 checks it, header-signed or presigned: the signature's parts and what it covers. */
function parseSigV4(input: SignedRequest) {
  const headers = { get: input.header };
  const m = /^https?:\/\/([^/?#]+)([^?#]*)(?:\?([^#]*))?/i.exec(input.url);
  if (!m) return malformed("url is not absolute");
  const host = (m[1] as string).toLowerCase();
  const path = m[2] || "/";
  let pairs: [string, string][] = [];
  for (const part of (m[3] ?? "").split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    pairs.push([
      decode(eq < 0 ? part : part.slice(0, eq)),
      decode(eq < 0 ? "" : part.slice(eq + 1)),
    ]);
  }
  const query = new Map(pairs);
  const authorization = headers.get("authorization");
  const presigned = query.has("X-Amz-Signature") || query.has("X-Amz-Algorithm");
  if (presigned && authorization !== undefined) malformed("signed twice");

  let fields: Map<string, string>;
  let amzDate: string | undefined;
  let payloadHash: string | undefined;
  let expires: number | undefined;
  if (presigned) {
    if (query.get("X-Amz-Algorithm") !== SIGV4) malformed("wrong X-Amz-Algorithm");
    fields = new Map([
      ["Credential", query.get("X-Amz-Credential") ?? malformed("no credential")],
      ["SignedHeaders", query.get("X-Amz-SignedHeaders") ?? malformed("no signed headers")],
      ["Signature", query.get("X-Amz-Signature") ?? malformed("no signature")],
    ]);
    amzDate = query.get("X-Amz-Date");
    const text = query.get("X-Amz-Expires") ?? "";
    if (!/^\d{1,7}$/.test(text) || Number(text) < 1 || Number(text) > 604_800) {
      malformed("bad X-Amz-Expires");
    }
    expires = Number(text);
    payloadHash = query.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD";
    if (payloadHash === "STREAMING-UNSIGNED-PAYLOAD-TRAILER") malformed("bad payload hash");
    pairs = pairs.filter(([name]) => name !== "X-Amz-Signature");
  } else {
    if (authorization === undefined) throw new NotSigned("Anonymous access is not allowed");
    if (!authorization.startsWith(`${SIGV4} `)) return malformed("not signed");
    fields = new Map();
    for (const part of authorization.slice(SIGV4.length + 1).split(",")) {
      const eq = part.indexOf("=");
      if (eq < 0) malformed("bad Authorization");
      fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    amzDate = headers.get("x-amz-date");
    payloadHash = headers.get("x-amz-content-sha256") ?? malformed("no payload hash");
  }
  if (
    !/^[0-9a-f]{64}$/.test(payloadHash) &&
    payloadHash !== "UNSIGNED-PAYLOAD" &&
    payloadHash !== "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
  ) {
    malformed("bad payload hash");
  }
  const signature = fields.get("Signature") ?? "";
  if (!/^[0-9a-f]{64}$/.test(signature)) malformed("bad signature");
  const credential = (fields.get("Credential") ?? "").split("/");
  const [accessKeyId = "", date = "", region = "", service = "", terminator] = credential;
  if (credential.length !== 5 || terminator !== "aws4_request") malformed("bad credential");
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || service !== "s3") {
    malformed("bad credential");
  }
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate ?? "");
  if (!d) return malformed("bad X-Amz-Date");
  const [, y, mo, day, h, mi, sec] = d.map(Number) as number[];
  const signedAt = Date.UTC(y as number, (mo as number) - 1, day, h, mi, sec);
  if (Number.isNaN(signedAt) || new Date(signedAt).getUTCDate() !== day) malformed("bad date");
  if ((amzDate as string).slice(0, 8) !== date) malformed("credential date is not X-Amz-Date's");
  const signedHeaders = (fields.get("SignedHeaders") ?? "").split(";");
  if (
    signedHeaders.some((name) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) ||
    !signedHeaders.includes("host")
  ) {
    malformed("bad SignedHeaders");
  }
  // Every x-amz-* header must be signed, the payload hash aside when header-signed.
  let unsignedAmz = false;
  for (const name of input.headerNames) {
    if (name.startsWith("x-amz-") && !signedHeaders.includes(name)) {
      if (presigned || name !== "x-amz-content-sha256") unsignedAmz = true;
    }
  }
  // What the signature covers: signed x-amz-checksum-* headers, and a presigned URL's query.
  const checksums: Record<string, string> = {};
  const isChecksum = (name: string) =>
    /^x-amz-checksum-[a-z0-9]+$/.test(name) && !/-(algorithm|type|mode)$/.test(name);
  if (presigned) {
    for (const [name, value] of pairs) {
      if (isChecksum(name.toLowerCase())) checksums[name.toLowerCase()] = value;
    }
  }
  let canonicalHeaders = "";
  for (const name of signedHeaders) {
    if (isChecksum(name)) {
      const value = headers.get(name);
      if (value !== undefined) checksums[name] = value.trim();
    }
    const value = headers.get(name) ?? (name === "host" ? host : "");
    canonicalHeaders += `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
  }
  const canonicalQuery = pairs
    .map(([name, value]) => [awsEncode(name), awsEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  // A temporary credential's session token: a (signed) header, or a presigned URL's query.
  const securityToken = presigned
    ? (query.get("X-Amz-Security-Token") ?? headers.get("x-amz-security-token"))
    : headers.get("x-amz-security-token");
  const canonicalRequest = `${input.method.toUpperCase()}\n${path}\n${canonicalQuery}\n${canonicalHeaders}\n${signedHeaders.join(";")}\n${payloadHash}`;
  return {
    presigned,
    expires,
    securityToken,
    accessKeyId,
    date,
    region,
    amzDate: amzDate as string,
    signedAt,
    signature,
    canonicalRequest,
    payloadHash,
    signedHeaders,
    checksums,
    unsignedAmz,
  };
}

async function hmacOf(key: BufferSource, data: string): Promise<ArrayBuffer> {
  const imported = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", imported, encoder.encode(data));
}

type Slot = "current" | "previous";

/** kSigning from the opened secret, imported verify-only, cached on the row per slot and scope. */
function signingKeyOf(
  env: VerifyEnv,
  row: StorageKeyRow,
  date: string,
  region: string,
  slot: Slot,
) {
  row.signingKeys ??= new Map();
  const scope = `${slot}:${date}/${region}/s3`;
  let key = row.signingKeys.get(scope);
  if (!key) {
    key = openSealed(env, row, slot).then(async (secret) => {
      const kDate = await hmacOf(encoder.encode(`AWS4${secret}`), date);
      const kSigning = await hmacOf(
        await hmacOf(await hmacOf(kDate, region), "s3"),
        "aws4_request",
      );
      return crypto.subtle.importKey("raw", kSigning, { name: "HMAC", hash: "SHA-256" }, false, [
        "verify",
      ]);
    });
    if (row.signingKeys.size >= 8) row.signingKeys.clear();
    row.signingKeys.set(scope, key);
    key.catch(() => row.signingKeys?.delete(scope));
  }
  return key;
}

/** A temporary credential's session token, as src/credentials/token.ts seals it. */
interface FloorToken {
  id: string;
  repoId: string;
  parentKeyId: string;
  parentKey: string;
  permission: string;
  prefixes: string[];
  objects: string[];
  expiresAt: number;
  generation: string;
}
interface OpenedFloorToken {
  token: FloorToken;
  version: string;
  signingKeys: Map<string, Promise<CryptoKey>>;
}

/** A key derived (HKDF, empty salt) from the version's AES key for one purpose. */
const purposeKeys = new Map<string, Promise<CryptoKey>>();
function purposeKey(env: VerifyEnv, version: string, purpose: string, aes: boolean) {
  const id = `${version}\n${purpose}`;
  let key = purposeKeys.get(id);
  if (!key) {
    const raw = keyringOf(env).raw.get(version);
    if (!raw) throw new Error(`no key ${version}`);
    key = crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]).then((material) =>
      crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: new Uint8Array(0),
          info: encoder.encode(`flashgate/${purpose}/v1`),
        },
        material,
        aes ? { name: "AES-GCM", length: 256 } : { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        aes ? ["decrypt"] : ["sign"],
      ),
    );
    purposeKeys.set(id, key);
  }
  return key;
}
const macOf = async (env: VerifyEnv, version: string, purpose: string, data: string) =>
  new Uint8Array(
    await crypto.subtle.sign(
      "HMAC",
      await purposeKey(env, version, purpose, false),
      encoder.encode(data),
    ),
  );

/** Tokens opened in this isolate, by access key id and token. */
const openedTokens = new Map<string, OpenedFloorToken>();

/** "FBST1.<version>.<iv>.<ciphertext>", AES-GCM bound to the access key id; undefined if not ours. */
async function openFloorToken(
  env: VerifyEnv,
  accessKeyId: string,
  sealed: string,
): Promise<OpenedFloorToken | undefined> {
  const id = `${accessKeyId}\n${sealed}`;
  const known = openedTokens.get(id);
  if (known) return known;
  const [prefix, version = "", iv = "", ciphertext = "", extra] = sealed.split(".");
  if (prefix !== "FBST1" || extra !== undefined || !keyringOf(env).raw.has(version)) return;
  try {
    const ivBytes = base64UrlToBytes(iv);
    const cipherBytes = base64UrlToBytes(ciphertext);
    if (base64UrlOf(ivBytes) !== iv || base64UrlOf(cipherBytes) !== ciphertext) return;
    const plaintext = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: ivBytes,
        additionalData: encoder.encode(`flashgate/session-token/${accessKeyId}`),
      },
      await purposeKey(env, version, "session-token", true),
      cipherBytes,
    );
    const opened = {
      token: JSON.parse(new TextDecoder().decode(plaintext)) as FloorToken,
      version,
      signingKeys: new Map<string, Promise<CryptoKey>>(),
    };
    if (openedTokens.size >= 10_000)
      openedTokens.delete(openedTokens.keys().next().value as string);
    openedTokens.set(id, opened);
    return opened;
  } catch {
    return;
  }
}

const base64UrlOf = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

/** The temporary secret (an HMAC of the token's id) as a verify-only signing key, per scope. */
function temporarySigningKey(
  env: VerifyEnv,
  opened: OpenedFloorToken,
  accessKeyId: string,
  date: string,
  region: string,
) {
  const scope = `${date}/${region}/s3`;
  let key = opened.signingKeys.get(scope);
  if (!key) {
    key = macOf(env, opened.version, "temporary-secret", `${accessKeyId}/${opened.token.id}`).then(
      async (mac) => {
        const secret = btoa(String.fromCharCode(...mac.subarray(0, 30)));
        const kDate = await hmacOf(encoder.encode(`AWS4${secret}`), date);
        const kSigning = await hmacOf(
          await hmacOf(await hmacOf(kDate, region), "s3"),
          "aws4_request",
        );
        return crypto.subtle.importKey("raw", kSigning, { name: "HMAC", hash: "SHA-256" }, false, [
          "verify",
        ]);
      },
    );
    if (opened.signingKeys.size >= 8) opened.signingKeys.clear();
    opened.signingKeys.set(scope, key);
  }
  return key;
}

/** Whether the token was issued under the parent's current secret, or its previous one in grace. */
async function issuedUnderLiveSecret(
  env: VerifyEnv,
  row: StorageKeyRow & { generations?: Map<string, Promise<string>> },
  { token, version }: OpenedFloorToken,
  at: string,
): Promise<boolean> {
  const generation = (slot: Slot) => {
    row.generations ??= new Map();
    const id = `${version}:${slot}`;
    let tag = row.generations.get(id);
    if (!tag) {
      tag = openSealed(env, row, slot).then(async (secret) =>
        base64UrlOf(
          (await macOf(env, version, "parent-secret-generation", secret)).subarray(0, 16),
        ),
      );
      row.generations.set(id, tag);
    }
    return tag;
  };
  return (
    (await generation("current")) === token.generation ||
    (previousLive(row, at) && (await generation("previous")) === token.generation)
  );
}

/** A verification's outcome: the key, or the refusal's code (src/verify/schemas.ts). */
export type S3Check =
  | {
      valid: true;
      row: StorageKeyRow;
      /** A temporary credential: its access key id and token (src/credentials). */
      temporary?: { accessKeyId: string; token: FloorToken };
      covered: { payloadHash: string; signedHeaders: string[]; checksums: Record<string, string> };
    }
  | { valid: false; code: string; message: string };

/**
 * The whole S3 check of src/verify/s3.ts: SigV4 parsed, rate limits, region, skew or expiry,
 * the row (remembered per isolate), the signature (the previous secret too during its grace),
 * then revoked, disabled, expired and the access level; lastUsedAt recorded on success.
 */
export async function checkS3(
  env: VerifyEnv,
  ctx: ExecutionContext,
  input: SignedRequest,
  now: number,
): Promise<S3Check> {
  // Limits only change how failures are answered: a blocked subject's failures are
  // RATE_LIMITED and not counted again; a correct signature is never refused by them.
  let blocked = isBlocked(subjectsOf(undefined, input.clientIp), now);
  const refuse = async (code: string, message: string, keyId?: string): Promise<S3Check> => {
    if (code !== "INSUFFICIENT_ACCESS" && code !== "NOT_SIGNED") {
      if (blocked || (await countFailure(env, subjectsOf(keyId, input.clientIp), now))) {
        code = "RATE_LIMITED";
        message = "Too many failed verifications; slow down";
      }
    }
    return { valid: false, code, message };
  };

  let signed: ReturnType<typeof parseSigV4>;
  try {
    signed = parseSigV4(input);
  } catch (error) {
    if (error instanceof NotSigned) return refuse("NOT_SIGNED", error.message);
    if (error instanceof Malformed) return refuse("MALFORMED", error.message);
    throw error;
  }
  const { accessKeyId } = signed;
  blocked ||= isBlocked(subjectsOf(accessKeyId, undefined), now);
  if (signed.unsignedAmz) {
    return refuse(
      "HEADERS_NOT_SIGNED",
      "There were headers present in the request which were not signed",
      accessKeyId,
    );
  }
  if (env.S3_REGION && signed.region !== env.S3_REGION) {
    return refuse("MALFORMED", `The credential's region must be ${env.S3_REGION}`, accessKeyId);
  }
  if (signed.presigned) {
    if (signed.signedAt - now > MAX_SKEW_MS) {
      return refuse("REQUEST_TIME_SKEWED", "X-Amz-Date is in the future", accessKeyId);
    }
    if (now > signed.signedAt + (signed.expires as number) * 1000) {
      return refuse("REQUEST_EXPIRED", "The presigned URL has expired", accessKeyId);
    }
  } else if (Math.abs(now - signed.signedAt) > MAX_SKEW_MS) {
    return refuse(
      "REQUEST_TIME_SKEWED",
      "X-Amz-Date is more than 15 minutes from the server's time",
      accessKeyId,
    );
  }

  // A temporary credential (FBTK…) is its sealed token, checked against its parent's row.
  let temporary: OpenedFloorToken | undefined;
  if (accessKeyId.startsWith("FBTK")) {
    if (signed.securityToken === undefined) {
      return refuse(
        "INVALID_TOKEN",
        "A temporary credential needs its X-Amz-Security-Token",
        accessKeyId,
      );
    }
    temporary = await openFloorToken(env, accessKeyId, signed.securityToken);
    if (!temporary) return refuse("INVALID_TOKEN", "The security token is not valid", accessKeyId);
    if (now >= temporary.token.expiresAt * 1000) {
      return refuse("TOKEN_EXPIRED", "The provided token has expired", accessKeyId);
    }
  } else if (signed.securityToken !== undefined) {
    return refuse(
      "INVALID_TOKEN",
      "X-Amz-Security-Token is only for temporary credentials (FBTK…), not a key's own requests",
      accessKeyId,
    );
  }
  const lookup = temporary ? temporary.token.parentKey : accessKeyId;
  let row = storageRows.recall(lookup, now);
  if (row === undefined) {
    row = await env.DB.prepare(S3_LOOKUP_SQL).bind(lookup).first<StorageKeyRow>();
    const ttl = cacheTtlMs(env);
    if (row ? ttl.found > 0 : ttl.unknown > 0) {
      storageRows.remember(lookup, row, now + (row ? ttl.found : ttl.unknown));
    }
  }
  if (!row) return refuse("INVALID_ACCESS_KEY", "No such access key id", accessKeyId);
  const found = row;
  if (
    temporary &&
    (found.id !== temporary.token.parentKeyId || found.repoId !== temporary.token.repoId)
  ) {
    return refuse("INVALID_TOKEN", "The security token is not valid", accessKeyId);
  }
  const at = new Date(now).toISOString();
  const toSign = encoder.encode(
    `${SIGV4}\n${signed.amzDate}\n${signed.date}/${signed.region}/s3/aws4_request\n${hexOf(
      await crypto.subtle.digest("SHA-256", encoder.encode(signed.canonicalRequest)),
    )}`,
  );
  const signature = new Uint8Array(32);
  for (let i = 0; i < 32; i++)
    signature[i] = Number.parseInt(signed.signature.slice(i * 2, i * 2 + 2), 16);
  const signedWith = async (slot: Slot) =>
    crypto.subtle.verify(
      "HMAC",
      await signingKeyOf(env, found, signed.date, signed.region, slot),
      signature,
      toSign,
    );
  const matches = temporary
    ? await crypto.subtle.verify(
        "HMAC",
        await temporarySigningKey(env, temporary, accessKeyId, signed.date, signed.region),
        signature,
        toSign,
      )
    : (await signedWith("current")) || (previousLive(found, at) && (await signedWith("previous")));
  if (!matches) {
    return found.deletedAt
      ? refuse("INVALID_ACCESS_KEY", "No such access key id", accessKeyId)
      : refuse(
          "SIGNATURE_MISMATCH",
          "The request signature does not match; check the secret and how the request is signed",
          accessKeyId,
        );
  }
  const whose = temporary ? "The credential's parent key" : "The key";
  if (found.deletedAt) return refuse("REVOKED", `${whose} has been deleted`, accessKeyId);
  const state = stateOf(found, at);
  if (state === "INACTIVE") return refuse("DISABLED", `${whose} is disabled`, accessKeyId);
  if (state === "EXPIRED") return refuse("EXPIRED", `${whose} has expired`, accessKeyId);
  if (temporary && !(await issuedUnderLiveSecret(env, found, temporary, at))) {
    return refuse(
      "INVALID_TOKEN",
      "The credential's parent key was rolled since it was issued",
      accessKeyId,
    );
  }
  const access = temporary ? temporary.token.permission : found.accessType;
  if (input.requiredAccess && rankOf(access) < rankOf(input.requiredAccess)) {
    return refuse(
      "INSUFFICIENT_ACCESS",
      `The ${temporary ? "credential's permission" : "key's access"} is ${access}; this needs ${input.requiredAccess}`,
    );
  }
  recordUse(env, ctx, "storage_keys", found.id, now);
  const { payloadHash, signedHeaders, checksums } = signed;
  return {
    valid: true,
    row: found,
    ...(temporary ? { temporary: { accessKeyId, token: temporary.token } } : {}),
    covered: { payloadHash, signedHeaders, checksums },
  };
}

async function verifyS3(
  request: Request,
  env: VerifyEnv,
  ctx: ExecutionContext,
): Promise<Response> {
  const input = s3Body(await request.json().catch(() => null));
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(input.headers)) headers.set(name.toLowerCase(), value);
  const check = await checkS3(
    env,
    ctx,
    { ...input, header: (name) => headers.get(name), headerNames: headers.keys() },
    Date.now(),
  );
  if (!check.valid) {
    const { code, message } = check;
    return json({ success: true, valid: false, code, s3Error: S3_ERRORS[code], message });
  }
  const { row, covered, temporary } = check;
  return json({
    success: true,
    valid: true,
    code: "VALID",
    keyId: row.id,
    key: temporary ? temporary.accessKeyId : row.key,
    repoId: row.repoId,
    workspaceId: row.workspaceId,
    accessType: temporary ? temporary.token.permission : row.accessType,
    repoCreatedAt: row.repoCreatedAt,
    ...covered,
    ...(temporary
      ? {
          scope: {
            permission: temporary.token.permission,
            prefixes: temporary.token.prefixes,
            objects: temporary.token.objects,
            expiration: new Date(temporary.token.expiresAt * 1000).toISOString(),
            parentKeyId: row.id,
          },
        }
      : {}),
  });
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const AI_SECRET = /^fbai_sk_([0-9A-Za-z]{44})([0-9A-Za-z]{6})$/;
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** The secret's format and its base62 CRC-32 checksum, as a secret scanner checks it. */
function isWellFormedAiSecret(secret: string): boolean {
  const match = AI_SECRET.exec(secret);
  if (!match) return false;
  let crc = 0xffffffff;
  for (const byte of encoder.encode(match[1])) {
    crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  }
  let value = (crc ^ 0xffffffff) >>> 0;
  let checksum = "";
  for (let i = 0; i < 6; i++) {
    checksum = BASE62[value % 62] + checksum;
    value = Math.floor(value / 62);
  }
  return checksum === match[2];
}

async function verifyAi(
  request: Request,
  env: VerifyEnv,
  ctx: ExecutionContext,
): Promise<Response> {
  const input = aiBody(await request.json().catch(() => null));
  const now = Date.now();
  const refuse = async (code: string, message: string, keyId?: string) => {
    if (
      code !== "RATE_LIMITED" &&
      (await countFailure(env, subjectsOf(keyId, input.clientIp), now))
    ) {
      code = "RATE_LIMITED";
      message = "Too many failed verifications; slow down";
    }
    return json({ success: true, valid: false, code, message });
  };
  if (isBlocked(subjectsOf(undefined, input.clientIp), now)) {
    return refuse("RATE_LIMITED", "Too many failed verifications; slow down");
  }
  const secret = input.secret.replace(/^Bearer +/i, "");
  if (!isWellFormedAiSecret(secret)) {
    return refuse("INVALID", "Not an AI secret this service issued (format or checksum)");
  }
  const { versions } = keyringOf(env);
  const digests = await Promise.all(
    versions.map(async (version) => {
      const mac = await crypto.subtle.sign(
        "HMAC",
        await digestKey(env, version),
        encoder.encode(secret),
      );
      return `${version}.${base64Url(new Uint8Array(mac))}`;
    }),
  );
  const lookup = digests[0] as string;
  let row = aiRows.recall(lookup, now);
  if (row === undefined) {
    const read = await env.DB.prepare(aiLookupSql(digests.length))
      .bind(...digests)
      .first<Omit<AiKeyRow, "models"> & { models: string | null }>();
    row = read ? { ...read, models: read.models ? JSON.parse(read.models) : null } : null;
    const ttl = cacheTtlMs(env);
    if (row ? ttl.found > 0 : ttl.unknown > 0) {
      aiRows.remember(lookup, row, now + (row ? ttl.found : ttl.unknown));
    }
  }
  /** Whether `stored` is this secret's digest under its version, compared in constant time. */
  const isThisSecret = (stored: string | null) => {
    if (!stored) return false;
    const expected = digests[versions.indexOf(stored.slice(0, stored.indexOf(".")))];
    if (expected === undefined) return false;
    const a = encoder.encode(stored);
    const b = encoder.encode(expected);
    return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
  };
  const at = new Date(now).toISOString();
  if (
    !row ||
    !(
      isThisSecret(row.secretDigest) ||
      (previousLive(row, at) && isThisSecret(row.previousSecretDigest))
    )
  ) {
    return refuse("INVALID", "Not a secret of any AI key");
  }
  if (row.deletedAt) return refuse("REVOKED", "The key has been deleted", row.id);
  const state = stateOf(row, at);
  if (state === "INACTIVE") return refuse("DISABLED", "The key is disabled", row.id);
  if (state === "EXPIRED") return refuse("EXPIRED", "The key has expired", row.id);
  recordUse(env, ctx, "ai_keys", row.id, now);
  return json({
    success: true,
    valid: true,
    code: "VALID",
    keyId: row.id,
    key: row.key,
    repoId: row.repoId,
    workspaceId: row.workspaceId,
    aiType: row.aiType,
    ...(row.models ? { models: row.models } : {}),
  });
}

const ROUTE = /^\/repo\/([^/]+)\/(apikey|ai\/apikey)$/;

/** The route patterns the floor serves, as the Worker's request log names them. */
const ROUTE_PATTERNS: Record<string, string> = {
  apikey: "/repo/:repoId/apikey",
  "ai/apikey": "/repo/:repoId/ai/apikey",
};

async function serve(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  route: { pattern: string },
): Promise<Response> {
  try {
    const pathname = new URL(request.url).pathname;
    if (request.method === "POST" && (pathname === "/verify/s3" || pathname === "/verify/ai")) {
      route.pattern = pathname;
      await verifiedCaller(request, env, true);
      keyringOf(env);
      return pathname === "/verify/s3"
        ? await verifyS3(request, env, ctx)
        : await verifyAi(request, env, ctx);
    }
    const match = ROUTE.exec(pathname);
    const isList = request.method === "GET";
    const isCreate = request.method === "POST" && match?.[2] === "apikey";
    if (!match || !(isList || isCreate)) throw new Refusal(404, "No route");
    route.pattern = ROUTE_PATTERNS[match[2] as string] as string;
    const userId = await verifiedCaller(request, env, false);
    const repoId = repoIdOf(match[1] as string);
    if (isCreate) return await createStorageKey(request, env, ctx, userId, repoId);
    return match[2] === "apikey"
      ? await listStorageKeys(env, userId, repoId)
      : await listAiKeys(env, userId, repoId);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return json({ success: false, message: error.message }, error.status);
  }
}

export default {
  /**
   * Every answer has its request id and one log line (src/http/request-id.ts, log.ts): part of
   * the service's contract, like create's audit event, so the floor writes them too, by hand.
   */
  async fetch(request, env, ctx) {
    const started = Date.now();
    const requestId = crypto.randomUUID();
    const route = { pattern: "/*" };
    const response = await serve(request, env, ctx, route);
    response.headers.set("X-Request-Id", requestId);
    console.log(
      JSON.stringify({
        level: "info",
        message: "request",
        requestId,
        method: request.method,
        route: route.pattern,
        status: response.status,
        durationMs: Date.now() - started,
      }),
    );
    return response;
  },
} satisfies ExportedHandler<Env>;
