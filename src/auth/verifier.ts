import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type ExportedJWKSCache,
  errors,
  importJWK,
  importSPKI,
  type JSONWebKeySet,
  type JWKSCacheInput,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwksCache,
  jwtVerify,
} from "jose";
import { base64ToBytes } from "../crypto/base64";
import type { Bindings } from "../env";
import { ApiError } from "../http/error";
import { log } from "../http/log";
import { UserIdSchema } from "../http/schemas";

/** Seconds of clock skew allowed on exp/nbf/iat. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** The longest lifetime (exp − iat) a token may have unless JWT_MAX_LIFETIME_SECONDS says. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 86_400;

const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"];
const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];
const MIN_SECRET_LENGTH = 32;

/** The scope (RFC 9068 `scope`, space-separated) that makes a token a gateway's. */
export const VERIFY_SCOPE = "keys:verify";

/** Who a verified token speaks for. */
export interface Caller {
  /** The token's `sub`: a user id, or a gateway's id for a gateway token. */
  subject: string;
  /** True when its `scope` holds keys:verify: it may verify keys and do nothing else. */
  gateway: boolean;
}

export interface VerifyOptions {
  /**
   * The caller's address is over the failure limit. Its token is still verified, so a correct
   * one gets through, but only with keys already at hand: never a fetch of the identity
   * provider's key set for a key id it lacks (`TokenKeys.atHand`).
   */
  throttled?: boolean;
}

export interface Verifier {
  /** Resolves to the token's caller or throws a 401 ApiError. */
  verify(token: string, options?: VerifyOptions): Promise<Caller>;
}

/** Reads `scope` as RFC 9068 writes it (a space-separated string); an array of strings too. */
function scopesOf(claim: unknown): string[] {
  if (typeof claim === "string") return claim.split(" ").filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((s): s is string => typeof s === "string");
  return [];
}

class Misconfigured extends Error {}

/** The identity provider's key set could not be fetched: our outage, not the caller's token. */
class KeySetUnavailable extends Error {}

function misconfigured(reason: string): never {
  throw new Misconfigured(reason);
}

function allowlist(env: Bindings, permitted: string[], fallback: string[]): string[] {
  const configured = env.JWT_ALGORITHMS?.split(",")
    .map((alg) => alg.trim())
    .filter(Boolean);
  if (!configured?.length) return fallback;
  for (const alg of configured) {
    if (!permitted.includes(alg)) {
      misconfigured(`JWT_ALGORITHMS names ${alg}, which does not fit the configured key type`);
    }
  }
  return configured;
}

// DER-encoded OIDs of the SPKI algorithm identifiers we recognise.
const SPKI_ALGORITHMS: [number[], string][] = [
  [[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], "ES256"], // P-256
  [[0x2b, 0x81, 0x04, 0x00, 0x22], "ES384"], // P-384
  [[0x2b, 0x81, 0x04, 0x00, 0x23], "ES512"], // P-521
  [[0x2b, 0x65, 0x70], "EdDSA"], // Ed25519
  [[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01], "RS256"], // rsaEncryption
];

/**
 * The AlgorithmIdentifier of an SPKI (SEQUENCE { SEQUENCE algorithm, BIT STRING key }): only
 * there do OIDs name the key type; the key bytes after it are random and may contain anything.
 */
function spkiAlgorithmIdentifier(der: Uint8Array): Uint8Array | undefined {
  let offset = 0;
  const sequence = (): number | undefined => {
    if (der[offset++] !== 0x30) return undefined;
    let length = der[offset++] ?? 0;
    if (length & 0x80) {
      const bytes = length & 0x7f;
      length = 0;
      for (let i = 0; i < bytes; i++) length = length * 256 + (der[offset++] ?? 0);
    }
    return length;
  };
  if (sequence() === undefined) return undefined;
  const length = sequence();
  return length === undefined ? undefined : der.subarray(offset, offset + length);
}

/** Whether `haystack` holds the OID `oid` as a DER element (tag 06, its length, its bytes). */
function holdsOid(haystack: Uint8Array, oid: number[]): boolean {
  const element = [0x06, oid.length, ...oid];
  for (let i = 0; i + element.length <= haystack.length; i++) {
    if (element.every((byte, j) => haystack[i + j] === byte)) return true;
  }
  return false;
}

function algorithmOfPem(pem: string): string {
  let der: Uint8Array;
  try {
    der = base64ToBytes(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
  } catch {
    return misconfigured("JWT_PUBLIC_KEY is not a valid PEM");
  }
  const algorithmIdentifier = spkiAlgorithmIdentifier(der);
  if (algorithmIdentifier) {
    for (const [oid, alg] of SPKI_ALGORITHMS) {
      if (holdsOid(algorithmIdentifier, oid)) return alg;
    }
  }
  return misconfigured("JWT_PUBLIC_KEY is a PEM key of a type this service does not recognise");
}

function algorithmOfJwk(jwk: Record<string, unknown>): string {
  if (typeof jwk.alg === "string") {
    // A public key names an asymmetric algorithm; anything else would verify nothing.
    if (!ASYMMETRIC_ALGORITHMS.includes(jwk.alg)) {
      misconfigured(`JWT_PUBLIC_KEY names the algorithm ${jwk.alg}, which is not a public-key one`);
    }
    return jwk.alg;
  }
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "EC") {
    const byCurve: Record<string, string> = {
      "P-256": "ES256",
      "P-384": "ES384",
      "P-521": "ES512",
    };
    const alg = byCurve[String(jwk.crv)];
    if (alg) return alg;
  }
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  return misconfigured("JWT_PUBLIC_KEY is a JWK of a type this service does not recognise");
}

/** Parses a JWK-form JWT_PUBLIC_KEY; undefined for a PEM. */
function parsePublicJwk(material: string): Record<string, unknown> | undefined {
  if (!material.trim().startsWith("{")) {
    if (!material.includes("-----BEGIN PUBLIC KEY-----")) {
      misconfigured("JWT_PUBLIC_KEY must be a JWK or an SPKI PEM (-----BEGIN PUBLIC KEY-----)");
    }
    return undefined;
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(material);
  } catch {
    misconfigured("JWT_PUBLIC_KEY looks like a JWK but is not valid JSON");
  }
  if (typeof jwk !== "object" || jwk === null) misconfigured("JWT_PUBLIC_KEY is not a JWK");
  if ("d" in jwk || ("kty" in jwk && jwk.kty === "oct")) {
    misconfigured("JWT_PUBLIC_KEY must be a public key, not a private or symmetric one");
  }
  return jwk as Record<string, unknown>;
}

/** A key getter that imports the key once per algorithm the allowlist admits, not per token. */
function importedOnce(
  importFor: (alg: string) => Promise<CryptoKey | Uint8Array>,
): JWTVerifyGetKey {
  const imports = new Map<string, Promise<CryptoKey | Uint8Array>>();
  return async ({ alg }) => {
    let key = imports.get(alg);
    if (!key) {
      key = importFor(alg);
      imports.set(alg, key);
    }
    return key;
  };
}

function publicKey(material: string, jwk: Record<string, unknown> | undefined): JWTVerifyGetKey {
  return importedOnce((alg) => (jwk ? importJWK({ ...jwk, alg }, alg) : importSPKI(material, alg)));
}

/** The shared secret as an HMAC key for HS256/384/512; only algorithms on the allowlist reach it. */
function hmacKey(secret: string): JWTVerifyGetKey {
  const bytes = new TextEncoder().encode(secret);
  return importedOnce((alg) =>
    crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: `SHA-${alg.slice(2)}` }, false, [
      "verify",
    ]),
  );
}

/**
 * Where a token's key comes from. `any` may do whatever it takes (fetch the identity provider's
 * key set); `atHand` is for a throttled address's token and does bounded work: it never fetches
 * for an unknown key id. A configured secret or public key is always at hand.
 */
interface TokenKeys {
  any: JWTVerifyGetKey;
  atHand: JWTVerifyGetKey;
}

const localKeys = (key: JWTVerifyGetKey): TokenKeys => ({ any: key, atHand: key });

/**
 * While throttled addresses are the only callers, the key set is loaded (when missing or stale)
 * at most once per this, per isolate: however many their failures, they cause no more fetches.
 */
export const THROTTLED_KEY_SET_LOAD_MS = 30_000;

/** jose's own refusals of a token (no key for its kid, several, an algorithm the set lacks). */
const isTokenRefusal = (error: unknown) =>
  error instanceof errors.JWKSNoMatchingKey ||
  error instanceof errors.JWKSMultipleMatchingKeys ||
  error instanceof errors.JOSENotSupported;

/**
 * The identity provider's key set, fetched when first needed and cached by jose. Failing to
 * fetch it is reported apart from a token that names no key in it.
 */
function remoteKeySet(url: URL, now: () => number): TokenKeys {
  // jose writes each key set it loads here, so the keys at hand can be read without a fetch.
  const loaded: Partial<ExportedJWKSCache> = {};
  const keySet = createRemoteJWKSet(url, { [jwksCache]: loaded as JWKSCacheInput });
  const unavailable = (error: unknown) => {
    // jose's errors carry a stable code (ERR_JWKS_TIMEOUT); their class names are minified away.
    const code = (error as { code?: unknown }).code;
    const name = typeof code === "string" ? code : error instanceof Error ? error.name : "";
    const reason = error instanceof Error ? `${name}: ${error.message}` : String(error);
    log.error("JWKS fetch failed", { jwksUrl: url.href, reason });
    return new KeySetUnavailable(reason);
  };
  let atHand: { jwks: JSONWebKeySet; key: JWTVerifyGetKey } | undefined;
  let lastThrottledLoad = Number.NEGATIVE_INFINITY;
  return {
    async any(header, token) {
      try {
        return await keySet(header, token);
      } catch (error) {
        throw isTokenRefusal(error) ? error : unavailable(error);
      }
    },
    async atHand(header, token) {
      if (!keySet.fresh && now() - lastThrottledLoad >= THROTTLED_KEY_SET_LOAD_MS) {
        lastThrottledLoad = now();
        await keySet.reload().catch((error: unknown) => {
          throw unavailable(error);
        });
      }
      const jwks = loaded.jwks;
      if (!jwks) throw new errors.JWKSNoMatchingKey();
      // One local set per loaded key set, so each key is imported once, not per token.
      if (atHand?.jwks !== jwks) atHand = { jwks, key: createLocalJWKSet(jwks) };
      return atHand.key(header, token);
    },
  };
}

/** How many verified tokens an isolate remembers; the oldest is forgotten first. */
const VERIFIED_TOKENS_KEPT = 1000;

/**
 * Tokens this verifier has accepted, with their subject and expiry. A token's signature and
 * claims are fixed by its bytes, so the same string verifies the same way until it expires; a
 * remembered token is still refused once `exp` (plus the clock tolerance) has passed.
 */
class VerifiedTokens {
  readonly #tokens = new Map<string, { caller: Caller; expiresAt: number }>();

  callerOf(token: string, nowSeconds: number): Caller | undefined {
    const entry = this.#tokens.get(token);
    if (!entry) return undefined;
    if (nowSeconds >= entry.expiresAt + CLOCK_TOLERANCE_SECONDS) {
      this.#tokens.delete(token);
      return undefined;
    }
    return entry.caller;
  }

  remember(token: string, caller: Caller, expiresAt: number): void {
    if (this.#tokens.size >= VERIFIED_TOKENS_KEPT) {
      const oldest = this.#tokens.keys().next().value;
      if (oldest !== undefined) this.#tokens.delete(oldest);
    }
    this.#tokens.set(token, { caller, expiresAt });
  }
}

/** Injected by unit tests; the Worker uses the real clock. */
export interface VerifierOptions {
  now?: () => number;
}

export function buildVerifier(
  env: Bindings,
  { now = () => Date.now() }: VerifierOptions = {},
): Verifier {
  let keys: TokenKeys;
  let algorithms: string[];
  if (env.JWT_JWKS_URL) {
    let url: URL;
    try {
      url = new URL(env.JWT_JWKS_URL);
    } catch {
      misconfigured("JWT_JWKS_URL is not a URL");
    }
    keys = remoteKeySet(url, now);
    algorithms = allowlist(env, ASYMMETRIC_ALGORITHMS, ASYMMETRIC_ALGORITHMS);
  } else if (env.JWT_PUBLIC_KEY) {
    const material = env.JWT_PUBLIC_KEY;
    const jwk = parsePublicJwk(material);
    algorithms = allowlist(env, ASYMMETRIC_ALGORITHMS, [
      jwk ? algorithmOfJwk(jwk) : algorithmOfPem(material),
    ]);
    keys = localKeys(publicKey(material, jwk));
  } else if (env.JWT_SECRET) {
    if (env.JWT_SECRET.length < MIN_SECRET_LENGTH) {
      misconfigured(`JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
    }
    keys = localKeys(hmacKey(env.JWT_SECRET));
    algorithms = allowlist(env, HMAC_ALGORITHMS, ["HS256"]);
  } else {
    return misconfigured(
      "no JWT verification key is configured (JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_URL)",
    );
  }

  const maxLifetime = maxLifetimeOf(env);
  const options = {
    algorithms,
    issuer: env.JWT_ISSUER || undefined,
    audience: env.JWT_AUDIENCE || undefined,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ["exp", "sub"],
  };

  const verified = new VerifiedTokens();

  return {
    async verify(token, { throttled = false } = {}) {
      const nowMs = now();
      const known = verified.callerOf(token, Math.floor(nowMs / 1000));
      if (known !== undefined) return known;
      if (!isCanonicalJws(token)) {
        throw invalidToken(
          "The access token is malformed: a JWT is three base64url segments, unpadded and canonical (RFC 7515)",
        );
      }
      const key = throttled ? keys.atHand : keys.any;
      let payload: JWTPayload;
      try {
        payload = (await jwtVerify(token, key, { ...options, currentDate: new Date(nowMs) }))
          .payload;
      } catch (error) {
        if (error instanceof KeySetUnavailable) {
          throw new ApiError(
            "SERVICE_UNAVAILABLE",
            "The identity provider's signing keys could not be fetched; try again later",
          );
        }
        throw invalidToken(describe(error));
      }
      const subject = UserIdSchema.safeParse(payload.sub);
      if (!subject.success)
        throw invalidToken("The access token's sub claim is not a valid user id");
      // jose checked that iat, when present, and exp are numbers.
      const nowSeconds = nowMs / 1000;
      const { iat, exp } = payload as { iat?: number; exp: number };
      if (iat !== undefined && iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) {
        throw invalidToken("The access token's iat claim is in the future");
      }
      // Without iat, what is left of its life is measured, with the clock tolerance.
      const lifetime = iat !== undefined ? exp - iat : exp - nowSeconds - CLOCK_TOLERANCE_SECONDS;
      if (lifetime > maxLifetime) {
        throw invalidToken(
          `The access token's lifetime (exp - iat) is over this server's maximum of ${maxLifetime} seconds`,
        );
      }
      const caller = {
        subject: subject.data,
        gateway: scopesOf(payload.scope).includes(VERIFY_SCOPE),
      };
      verified.remember(token, caller, exp);
      return caller;
    },
  };
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64URL_TEXT = /^[A-Za-z0-9_-]*$/;

/**
 * RFC 7515's base64url: no padding, and the bits a last character leaves unused are zero. jose
 * decodes leniently, so `sig=`, or a last character differing only in unused bits, would be
 * another spelling of the same signature; only the one spelling is accepted.
 */
function isCanonicalBase64url(segment: string): boolean {
  const tail = segment.length % 4;
  if (tail === 1 || !BASE64URL_TEXT.test(segment)) return false;
  if (tail === 0) return true;
  // Two characters carry one byte (4 bits unused), three carry two (2 bits unused).
  const last = BASE64URL.indexOf(segment.charAt(segment.length - 1));
  return (last & (tail === 2 ? 0b1111 : 0b11)) === 0;
}

/** A JWS in compact serialization: header.payload.signature, each canonical base64url. */
const isCanonicalJws = (token: string) => {
  const segments = token.split(".", 4);
  return segments.length === 3 && segments.every(isCanonicalBase64url);
};

/** JWT_MAX_LIFETIME_SECONDS: a whole number of seconds, 60 to 31,536,000 (a year). */
function maxLifetimeOf(env: Bindings): number {
  const setting = env.JWT_MAX_LIFETIME_SECONDS?.trim();
  if (!setting) return DEFAULT_MAX_LIFETIME_SECONDS;
  const seconds = /^\d{1,9}$/.test(setting) ? Number(setting) : Number.NaN;
  if (!(seconds >= 60 && seconds <= 31_536_000)) {
    misconfigured("JWT_MAX_LIFETIME_SECONDS must be a whole number of seconds, 60 to 31536000");
  }
  return seconds;
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "The access token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "The access token is not valid yet (nbf)";
    return `The access token's ${error.claim} claim is missing or not accepted`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return "The access token's algorithm is not accepted";
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return "The access token's signature does not verify";
  }
  if (error instanceof errors.JWKSNoMatchingKey)
    return "No key of the identity provider matches the access token";
  return "The access token is malformed";
}

export function invalidToken(message: string): ApiError {
  return new ApiError("UNAUTHORIZED", message);
}

/** The settings a verifier is built from: when none has changed, the same verifier serves. */
const settingsOf = (env: Bindings) => [
  env.JWT_JWKS_URL,
  env.JWT_PUBLIC_KEY,
  env.JWT_SECRET,
  env.JWT_ALGORITHMS,
  env.JWT_ISSUER,
  env.JWT_AUDIENCE,
  env.JWT_MAX_LIFETIME_SECONDS,
];

let cached: { settings: (string | undefined)[]; verifier: Verifier | Misconfigured } | undefined;

/** Whether `env` holds the settings `cached` was built from (compared one by one, no copy). */
function sameSettings(env: Bindings, settings: (string | undefined)[]): boolean {
  return (
    env.JWT_JWKS_URL === settings[0] &&
    env.JWT_PUBLIC_KEY === settings[1] &&
    env.JWT_SECRET === settings[2] &&
    env.JWT_ALGORITHMS === settings[3] &&
    env.JWT_ISSUER === settings[4] &&
    env.JWT_AUDIENCE === settings[5] &&
    env.JWT_MAX_LIFETIME_SECONDS === settings[6]
  );
}

/**
 * The verifier for this isolate's configuration, built once (keys imported and the remote key
 * set created once) and rebuilt only if the configuration changes. Fails closed with 503.
 */
export function verifierFor(env: Bindings): Verifier {
  if (!cached || !sameSettings(env, cached.settings)) {
    let verifier: Verifier | Misconfigured;
    try {
      verifier = buildVerifier(env);
    } catch (error) {
      if (!(error instanceof Misconfigured)) throw error;
      verifier = error;
    }
    cached = { settings: settingsOf(env), verifier };
  }
  if (cached.verifier instanceof Misconfigured) {
    throw new ApiError(
      "SERVICE_UNAVAILABLE",
      `Authentication is not configured on this server: ${cached.verifier.message}`,
    );
  }
  return cached.verifier;
}
