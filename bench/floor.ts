/**
 * The floor: the least work the measured endpoints could do, with no framework. It verifies
 * the same JWT with jose (remembering verified tokens until they expire, as the Worker does),
 * runs the same SQL (copied from what Drizzle generates) in the same round trips against the
 * same rows, and answers with the same JSON, so `npm run bench` can divide our Worker's req/s
 * by this one's. Only what a hand-written Worker could skip is skipped: routing tables,
 * middleware chains, schema libraries and a query builder. No check is skipped.
 */
import { jwtVerify } from "jose";

interface Env {
  DB: D1Database;
  AUDIT: Queue;
  JWT_SECRET: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  ENCRYPTION_KEYS: string;
  STORAGE_KEY_QUOTA: string;
}

// The same statements the Worker sends (src/access/membership.ts, src/keys, src/ai-keys,
// src/db/key-rows.ts), character for character, so SQLite does the same work for both.
// The reads alias each column to its JSON field, so rows need no mapping in either Worker.
const MEMBERSHIP_SQL =
  'select "workspace_members"."role" as "role", "repos"."workspace_id" as "workspaceId" from "repos" inner join "workspace_members" on ("workspace_members"."workspace_id" = "repos"."workspace_id" and "workspace_members"."user_id" = ?) where "repos"."id" = ? limit ?';
const LIST_STORAGE_KEYS_SQL =
  'select "id" as "id", "name" as "name", "access_type" as "accessType", "key" as "key", "created_at" as "createdAt", "created_by" as "createdBy", "last_used_at" as "lastUsedAt" from "storage_keys" where ("storage_keys"."repo_id" = ? and "storage_keys"."deleted_at" is null) order by "storage_keys"."created_at" desc, "storage_keys"."id" desc';
const LIST_AI_KEYS_SQL =
  'select "id" as "id", "name" as "name", "repo_id" as "repoId", "key" as "key", "ai_type" as "aiType", "created_at" as "createdAt", "deleted_at" as "deletedAt" from "ai_keys" where ("ai_keys"."repo_id" = ? and "ai_keys"."deleted_at" is null) order by "ai_keys"."created_at" desc, "ai_keys"."id" desc';
// The insert re-checks quota and the creator's role, so it runs in one batch with the read.
const INSERT_STORAGE_KEY_SQL =
  'INSERT INTO "storage_keys" ("id", "repo_id", "name", "key", "sealed_secret", "created_by", "created_at", "updated_at", "access_type") SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM "storage_keys" WHERE "storage_keys"."repo_id" = ? AND "storage_keys"."deleted_at" IS NULL) < ? AND EXISTS (SELECT 1 FROM "repos" INNER JOIN "workspace_members" ON "workspace_members"."workspace_id" = "repos"."workspace_id" WHERE ("repos"."id" = ? and "workspace_members"."user_id" = ?) AND "workspace_members"."role" IN (SELECT value FROM json_each(?)))';

const RANK: Record<string, number> = { READ: 1, WRITE: 2, ADMIN: 3 };
const rankOf = (role: string | undefined): number => (role && RANK[role]) || 0;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const CONTROL_CHARACTERS = /\p{Cc}/u;
const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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
const verified = new Map<string, { sub: string; exp: number }>();

async function verifiedUser(request: Request, env: Env): Promise<string> {
  const token = /^Bearer +([A-Za-z0-9_.~+/=-]+) *$/i.exec(
    request.headers.get("Authorization") ?? "",
  )?.[1];
  if (!token) throw new Refusal(401, "Missing or malformed bearer token");
  const known = verified.get(token);
  if (known && Math.floor(Date.now() / 1000) < known.exp + 30) return known.sub;
  try {
    const { payload } = await jwtVerify(token, await hmacKeyOf(env), {
      algorithms: ["HS256"],
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      clockTolerance: 30,
      requiredClaims: ["exp", "sub"],
    });
    const sub = payload.sub as string;
    if (sub.length > 255 || CONTROL_CHARACTERS.test(sub)) throw new Error("bad sub");
    if (verified.size >= 1000) verified.delete(verified.keys().next().value as string);
    verified.set(token, { sub, exp: payload.exp as number });
    return sub;
  } catch {
    throw new Refusal(401, "Invalid access token");
  }
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

async function listStorageKeys(env: Env, userId: string, repoId: string): Promise<Response> {
  const [membership, keys] = await env.DB.batch([
    env.DB.prepare(MEMBERSHIP_SQL).bind(userId, repoId, 1),
    env.DB.prepare(LIST_STORAGE_KEYS_SQL).bind(repoId),
  ]);
  const role = (membership?.results[0] as MembershipRow | undefined)?.role;
  if (rankOf(role) < rankOf("READ")) throw new Refusal(403, "Insufficient permissions");
  return json({ success: true, keys: keys?.results });
}

async function listAiKeys(env: Env, userId: string, repoId: string): Promise<Response> {
  const [membership, keys] = await env.DB.batch([
    env.DB.prepare(MEMBERSHIP_SQL).bind(userId, repoId, 1),
    env.DB.prepare(LIST_AI_KEYS_SQL).bind(repoId),
  ]);
  const role = (membership?.results[0] as MembershipRow | undefined)?.role;
  if (rankOf(role) < rankOf("READ")) throw new Refusal(403, "Insufficient permissions");
  return json({ success: true, apiKeys: keys?.results });
}

/** The body checks of CreateStorageKeyBodySchema, by hand. */
function createBody(body: unknown, repoId: string): { name: string; accessType: string } {
  if (typeof body !== "object" || body === null) throw new Refusal(400, "body must be an object");
  const { name, accessType, repoId: bodyRepoId, ...unknown } = body as Record<string, unknown>;
  if (Object.keys(unknown).length > 0) throw new Refusal(400, "unknown fields");
  if (typeof name !== "string") throw new Refusal(400, "name must be a string");
  const trimmed = name.trim();
  if (trimmed.length === 0 || [...trimmed].length > 128 || CONTROL_CHARACTERS.test(trimmed)) {
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
  return { name: trimmed, accessType };
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
  const secret = randomString(BASE64_STANDARD, 40);
  const { version, key: aesKey } = await sealingKeyOf(env);
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
      body.accessType,
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
        },
      },
      { contentType: "json" },
    ),
  );
  return json({ success: true, id, key, secret });
}

const ROUTE = /^\/repo\/([^/]+)\/(apikey|ai\/apikey)$/;

export default {
  async fetch(request, env, ctx) {
    try {
      const match = ROUTE.exec(new URL(request.url).pathname);
      const isList = request.method === "GET";
      const isCreate = request.method === "POST" && match?.[2] === "apikey";
      if (!match || !(isList || isCreate)) throw new Refusal(404, "No route");
      const userId = await verifiedUser(request, env);
      const repoId = repoIdOf(match[1] as string);
      if (isCreate) return await createStorageKey(request, env, ctx, userId, repoId);
      return match[2] === "apikey"
        ? await listStorageKeys(env, userId, repoId)
        : await listAiKeys(env, userId, repoId);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return json({ success: false, message: error.message }, error.status);
    }
  },
} satisfies ExportedHandler<Env>;
