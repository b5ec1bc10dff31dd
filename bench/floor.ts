/**
 * The floor: the least work the measured endpoints could do, with no framework. It verifies
 * the same JWT with jose, runs the same SQL (copied from what Drizzle generates) against the
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
const MEMBERSHIP_SQL =
  'select "workspace_members"."role", "repos"."workspace_id" from "repos" inner join "workspace_members" on ("workspace_members"."workspace_id" = "repos"."workspace_id" and "workspace_members"."user_id" = ?) where "repos"."id" = ? limit ?';
const LIST_STORAGE_KEYS_SQL =
  'select "id", "name", "access_type", "key", "created_at", "created_by", "last_used_at" from "storage_keys" where ("storage_keys"."repo_id" = ? and "storage_keys"."deleted_at" is null) order by "storage_keys"."created_at" desc, "storage_keys"."id" desc';
const LIST_AI_KEYS_SQL =
  'select "id", "name", "repo_id", "key", "ai_type", "created_at", "deleted_at" from "ai_keys" where ("ai_keys"."repo_id" = ? and "ai_keys"."deleted_at" is null) order by "ai_keys"."created_at" desc, "ai_keys"."id" desc';
const INSERT_STORAGE_KEY_SQL =
  'INSERT INTO "storage_keys" ("id", "repo_id", "name", "access_type", "key", "sealed_secret", "created_by", "created_at", "updated_at") SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM "storage_keys" WHERE "storage_keys"."repo_id" = ? AND "storage_keys"."deleted_at" IS NULL) < ?';

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

async function verifiedUser(request: Request, env: Env): Promise<string> {
  const token = /^Bearer +([A-Za-z0-9_.~+/=-]+) *$/i.exec(
    request.headers.get("Authorization") ?? "",
  )?.[1];
  if (!token) throw new Refusal(401, "Missing or malformed bearer token");
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
    return sub;
  } catch {
    throw new Refusal(401, "Invalid access token");
  }
}

function repoIdOf(raw: string): string {
  if (!UUID.test(raw)) throw new Refusal(400, "repoId must be a UUID");
  return raw.toLowerCase();
}

type MembershipRow = { role: string; workspace_id: string };

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
  const [membership, keys] = await env.DB.batch<Record<string, string | null>>([
    env.DB.prepare(MEMBERSHIP_SQL).bind(userId, repoId, 1),
    env.DB.prepare(LIST_STORAGE_KEYS_SQL).bind(repoId),
  ]);
  const role = (membership?.results[0] as MembershipRow | undefined)?.role;
  if (rankOf(role) < rankOf("READ")) throw new Refusal(403, "Insufficient permissions");
  return json({
    success: true,
    keys: keys?.results.map((row) => ({
      id: row.id,
      name: row.name,
      accessType: row.access_type,
      key: row.key,
      createdAt: row.created_at,
      createdBy: row.created_by,
      lastUsedAt: row.last_used_at,
    })),
  });
}

async function listAiKeys(env: Env, userId: string, repoId: string): Promise<Response> {
  const [membership, keys] = await env.DB.batch<Record<string, string | null>>([
    env.DB.prepare(MEMBERSHIP_SQL).bind(userId, repoId, 1),
    env.DB.prepare(LIST_AI_KEYS_SQL).bind(repoId),
  ]);
  const role = (membership?.results[0] as MembershipRow | undefined)?.role;
  if (rankOf(role) < rankOf("READ")) throw new Refusal(403, "Insufficient permissions");
  return json({
    success: true,
    apiKeys: keys?.results.map((row) => ({
      id: row.id,
      name: row.name,
      repoId: row.repo_id,
      key: row.key,
      aiType: row.ai_type,
      createdAt: row.created_at,
      deletedAt: row.deleted_at,
    })),
  });
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
  const { results } = await env.DB.prepare(MEMBERSHIP_SQL)
    .bind(userId, repoId, 1)
    .all<MembershipRow>();
  const member = results[0];
  const rank = rankOf(member?.role);
  if (rank < rankOf("WRITE") || rank < rankOf(body.accessType)) {
    throw new Refusal(403, "Insufficient permissions");
  }

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
  const inserted = await env.DB.prepare(INSERT_STORAGE_KEY_SQL)
    .bind(id, repoId, body.name, body.accessType, key, sealed, userId, at, at, repoId, quota)
    .run();
  if (inserted.meta.changes === 0) throw new Refusal(409, "Quota exceeded");

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
        workspaceId: member?.workspace_id,
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
