import type { AuditEvent } from "./audit/event";

/** Everything the Worker is bound to; wrangler.toml and README's configuration table list the same names. */
export interface Bindings {
  DB: D1Database;
  AUDIT: Queue<AuditEvent>;
  /** HS256 secret (>= 32 characters). */
  JWT_SECRET?: string;
  /** A public key as a JWK (JSON) or an SPKI PEM. */
  JWT_PUBLIC_KEY?: string;
  /** An identity provider's JSON Web Key Set URL. */
  JWT_JWKS_URL?: string;
  /** Comma-separated algorithm allowlist; defaults follow the key type. */
  JWT_ALGORITHMS?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  /** Longest accepted token lifetime, exp − iat, in seconds (default 86400). */
  JWT_MAX_LIFETIME_SECONDS?: string;
  /** Versioned AES-256 keys: "v2:<base64>,v1:<base64>"; the first seals, all open. */
  ENCRYPTION_KEYS?: string;
  STORAGE_KEY_QUOTA?: string;
  AI_KEY_QUOTA?: string;
  AUDIT_DEAD_LETTER_QUEUE?: string;
  /** Days audit events are kept (default 400; 0 keeps them all); older ones are purged by cron. */
  AUDIT_RETENTION_DAYS?: string;
  /** Origins browsers may call the API from: comma-separated, or "*". Unset: none. */
  CORS_ORIGINS?: string;
  /** Seconds a verified key is remembered per isolate (0–300, default 10): the revocation bound. */
  VERIFY_CACHE_TTL_SECONDS?: string;
  /** When set, S3 signatures must be scoped to this region; any region otherwise. */
  S3_REGION?: string;
  /**
   * Where GitHub publishes its secret scanning public keys (docs/secret-scanning.md). Unset:
   * POST /secret-scanning/github answers 503 and accepts nothing.
   */
  SECRET_SCANNING_KEYS_URL?: string;
  /**
   * "true" only in development and tests (scripts/dev.mjs, test/support/bindings.ts): a provider
   * base URL may then be http(s)://127.0.0.1:<port> or localhost, for a local mock provider.
   * Never set in wrangler.toml: a deployed service refuses loopback and private addresses.
   */
  AI_PROVIDER_ALLOW_LOOPBACK?: string;
  /** Workers Rate Limiting binding counting failed authentications per client address. */
  AUTH_FAILURES?: RateLimit;
  /** Workers Rate Limiting binding counting failed verifications per key and per client. */
  VERIFY_FAILURES?: RateLimit;
}

export interface Variables {
  /** The service's own id of the request (src/http/request-id.ts). */
  requestId: string;
  /** The client's X-Request-Id, when it sent a well-formed one. */
  clientRequestId?: string;
  /** The verified JWT `sub`. */
  userId: string;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
