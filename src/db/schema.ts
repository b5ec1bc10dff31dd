import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

// Ids are UUIDs; timestamps are ISO 8601 UTC strings, which sort as they read.
const ROLE_VALUES = ["READ", "WRITE", "ADMIN"] as const;
const AI_TYPE_VALUES = ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"] as const;
/** A key's own switch; EXPIRED is computed from expires_at, never stored. */
const KEY_STATUS_VALUES = ["ACTIVE", "INACTIVE"] as const;
/** Why a key was switched off by the service rather than its owner (src/leaks). */
const DISABLED_REASON_VALUES = ["LEAKED"] as const;
/** A key's rate limit (src/limits): both set, or both null for none. */
const rateLimitColumns = () => ({
  ratelimitLimit: integer("ratelimit_limit"),
  ratelimitPeriodSeconds: integer("ratelimit_period_seconds"),
});
/** What a reported leak does to a workspace's key (src/leaks). */
const LEAK_RESPONSE_VALUES = ["disable", "revoke", "notify"] as const;

/**
 * Where and when a key's secret was found public, and the keyed digest of that secret, so the
 * same report acts once however often it comes, even after a roll (src/leaks).
 */
const leakColumns = () => ({
  disabledReason: text("disabled_reason", { enum: DISABLED_REASON_VALUES }),
  leakedAt: text("leaked_at"),
  leakSource: text("leak_source"),
  leakUrl: text("leak_url"),
  leakedSecretDigest: text("leaked_secret_digest"),
});

export const workspaces = sqliteTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdBy: text("created_by").notNull(),
  createdAt: text("created_at").notNull(),
  leakResponse: text("leak_response", { enum: LEAK_RESPONSE_VALUES }).notNull().default("disable"),
});

export const workspaceMembers = sqliteTable(
  "workspace_members",
  {
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull(),
    role: text("role", { enum: ROLE_VALUES }).notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.userId] }),
    // "my workspaces" and "my repos" start from the user.
    index("workspace_members_user_idx").on(t.userId, t.workspaceId),
  ],
);

export const repos = sqliteTable(
  "repos",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("repos_workspace_name_idx").on(t.workspaceId, t.name)],
);

export const storageKeys = sqliteTable(
  "storage_keys",
  {
    id: text("id").primaryKey(),
    repoId: text("repo_id")
      .notNull()
      .references(() => repos.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    accessType: text("access_type", { enum: ROLE_VALUES }).notNull(),
    key: text("key").notNull(),
    /** AES-GCM sealed secret (see src/crypto/seal.ts); never returned by the API. */
    sealedSecret: text("sealed_secret").notNull(),
    /**
     * The secret's keyed digest, as ai_keys has: a leaked secret finds its key in one indexed
     * read (src/leaks). Null until the re-seal sweep fills rows created before it existed.
     */
    secretDigest: text("secret_digest"),
    status: text("status", { enum: KEY_STATUS_VALUES }).notNull().default("ACTIVE"),
    expiresAt: text("expires_at"),
    /** The secret a roll replaced, sealed to its own slot, valid until previous_secret_expires_at. */
    previousSealedSecret: text("previous_sealed_secret"),
    previousSecretDigest: text("previous_secret_digest"),
    previousSecretExpiresAt: text("previous_secret_expires_at"),
    ...leakColumns(),
    ...rateLimitColumns(),
    createdBy: text("created_by").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    lastUsedAt: text("last_used_at"),
    deletedAt: text("deleted_at"),
    deletedBy: text("deleted_by"),
  },
  (t) => [
    uniqueIndex("storage_keys_key_idx").on(t.key),
    uniqueIndex("storage_keys_secret_digest_idx").on(t.secretDigest),
    uniqueIndex("storage_keys_previous_secret_digest_idx").on(t.previousSecretDigest),
    index("storage_keys_leaked_secret_digest_idx")
      .on(t.leakedSecretDigest)
      .where(sql`${t.leakedSecretDigest} IS NOT NULL`),
    // Serves "active keys of a repo, newest first" and the active-key quota count.
    index("storage_keys_repo_active_idx")
      .on(t.repoId, t.createdAt, t.id)
      .where(sql`${t.deletedAt} IS NULL`),
    // The cron finds previous secrets past their grace without reading every key.
    index("storage_keys_previous_expiry_idx")
      .on(t.previousSecretExpiresAt)
      .where(sql`${t.previousSecretExpiresAt} IS NOT NULL`),
  ],
);

export const aiKeys = sqliteTable(
  "ai_keys",
  {
    id: text("id").primaryKey(),
    repoId: text("repo_id")
      .notNull()
      .references(() => repos.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    aiType: text("ai_type", { enum: AI_TYPE_VALUES }).notNull(),
    key: text("key").notNull(),
    sealedSecret: text("sealed_secret").notNull(),
    /**
     * "<keyring version>.<base64url HMAC-SHA-256 of the secret>" (src/crypto/seal.ts): the
     * verification plane finds a key by its secret in one indexed read. Null until the sweep
     * fills rows created before it existed.
     */
    secretDigest: text("secret_digest"),
    status: text("status", { enum: KEY_STATUS_VALUES }).notNull().default("ACTIVE"),
    expiresAt: text("expires_at"),
    previousSealedSecret: text("previous_sealed_secret"),
    /** The previous secret's digest, so it verifies during its grace period. */
    previousSecretDigest: text("previous_secret_digest"),
    previousSecretExpiresAt: text("previous_secret_expires_at"),
    ...leakColumns(),
    ...rateLimitColumns(),
    createdBy: text("created_by").notNull(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** When a gateway last verified the key; written at most once a minute per key. */
    lastUsedAt: text("last_used_at"),
    /**
     * JSON array of the model names the key may ask for (src/ai-keys); null: any model. Read
     * with the key by the verification plane, so the allow-list costs no extra read.
     */
    models: text("models"),
    deletedAt: text("deleted_at"),
    deletedBy: text("deleted_by"),
  },
  (t) => [
    uniqueIndex("ai_keys_key_idx").on(t.key),
    uniqueIndex("ai_keys_secret_digest_idx").on(t.secretDigest),
    uniqueIndex("ai_keys_previous_secret_digest_idx").on(t.previousSecretDigest),
    index("ai_keys_leaked_secret_digest_idx")
      .on(t.leakedSecretDigest)
      .where(sql`${t.leakedSecretDigest} IS NOT NULL`),
    index("ai_keys_repo_active_idx")
      .on(t.repoId, t.createdAt, t.id)
      .where(sql`${t.deletedAt} IS NULL`),
    index("ai_keys_previous_expiry_idx")
      .on(t.previousSecretExpiresAt)
      .where(sql`${t.previousSecretExpiresAt} IS NOT NULL`),
  ],
);

/**
 * A repo's own key at an AI provider (src/providers), one per provider type: what the API
 * Worker calls the provider with on behalf of the repo's AI keys. The key is only ever stored
 * sealed, bound to (repo, type); its last 4 characters are kept apart so lists never open it.
 */
export const aiProviders = sqliteTable(
  "ai_providers",
  {
    repoId: text("repo_id")
      .notNull()
      .references(() => repos.id, { onDelete: "cascade" }),
    aiType: text("ai_type", { enum: AI_TYPE_VALUES }).notNull(),
    /** AES-GCM sealed (src/crypto/seal.ts, kind "provider"); never returned by the API. */
    sealedApiKey: text("sealed_api_key").notNull(),
    apiKeyLast4: text("api_key_last4").notNull(),
    /** Null: the provider's default base URL (src/providers/schemas.ts). */
    baseUrl: text("base_url"),
    setAt: text("set_at").notNull(),
    setBy: text("set_by").notNull(),
  },
  (t) => [primaryKey({ columns: [t.repoId, t.aiType] })],
);

export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    at: text("at").notNull(),
    actorId: text("actor_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    repoId: text("repo_id"),
    targetId: text("target_id"),
    requestId: text("request_id").notNull(),
    /** The client's own X-Request-Id, when it sent a well-formed one. */
    clientRequestId: text("client_request_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    /** JSON of before/after non-secret fields. */
    changes: text("changes"),
    /** 1 when the event reached D1 through the dead-letter queue. */
    deadLettered: integer("dead_lettered", { mode: "boolean" }).notNull().default(false),
    storedAt: text("stored_at").notNull(),
  },
  (t) => [
    index("audit_events_repo_idx").on(t.repoId, t.at, t.id),
    index("audit_events_workspace_idx").on(t.workspaceId, t.at, t.id),
    // The retention purge walks it oldest first (src/audit/retention.ts).
    index("audit_events_at_idx").on(t.at),
  ],
);

/** A verification's kind: a storage key's (S3) or an AI key's. */
const USAGE_KIND_VALUES = ["storage", "ai"] as const;
/** How a gateway asked: POST /verify/* (http) or the KeyVerifier binding (rpc). */
const USAGE_TRANSPORT_VALUES = ["http", "rpc"] as const;
/** A bucket's width: rows of each are rolled up into the next and purged (src/usage/rollup.ts). */
const USAGE_SCALE_VALUES = ["minute", "hour", "day"] as const;

/**
 * Verification outcomes counted per bucket (src/usage). `t` is the bucket's start in Unix
 * seconds. A refusal that names no key has key_id '' and the gateway that asked in `caller`;
 * a key's own rows have caller ''.
 */
export const keyUsage = sqliteTable(
  "key_usage",
  {
    scale: text("scale", { enum: USAGE_SCALE_VALUES }).notNull(),
    keyId: text("key_id").notNull(),
    t: integer("t").notNull(),
    kind: text("kind", { enum: USAGE_KIND_VALUES }).notNull(),
    code: text("code").notNull(),
    transport: text("transport", { enum: USAGE_TRANSPORT_VALUES }).notNull(),
    caller: text("caller").notNull(),
    /** The key's repo ('' when unattributed): a repo's busiest keys without a join. */
    repoId: text("repo_id").notNull(),
    n: integer("n").notNull(),
    /**
     * An AI key's provider tokens (src/ai-proxy/tokens.ts), on rows of their own under code
     * TOKENS with n = 0: never a verification, never a refusal; summed by the rollup like n.
     */
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.scale, t.keyId, t.t, t.kind, t.code, t.transport, t.caller] }),
    index("key_usage_repo_idx").on(t.scale, t.repoId, t.t),
    // Rollups and purges walk each scale oldest first.
    index("key_usage_scale_t_idx").on(t.scale, t.t),
  ],
);

/** How far each rollup has gone: buckets of `scale` before `through` (Unix seconds) are final. */
export const usageRollups = sqliteTable("usage_rollups", {
  scale: text("scale", { enum: ["hour", "day"] }).primaryKey(),
  through: integer("through").notNull(),
});
