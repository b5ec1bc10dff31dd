import { atLeast, type Role } from "../access/roles";
import { secretGeneration } from "../credentials/token";
import { TEMPORARY_KEY_PREFIX } from "../crypto/credentials";
import { keyringFrom } from "../crypto/seal";
import { keyMemory } from "../db/key-memory";
import { previousSecretLive, UNUSABLE, unusable } from "../db/key-state";
import type { Bindings } from "../env";
import { ApiError } from "../http/error";
import { log } from "../http/log";
import { rateLimitVerdict } from "../limits/check";
import type { RateLimitColumns } from "../limits/setting";
import { type Attribution, attributed } from "../usage/attribution";
import type { SignedStream } from "./chunks";
import { failureLimit, RATE_LIMITED_MESSAGE, subjectsOf } from "./failures";
import type { S3Refusal, VerifyS3Request, VerifyS3Response } from "./schemas";
import { S3_REFUSALS } from "./schemas";
import { cacheTtlMs } from "./settings";
import {
  MAX_SKEW_MS,
  MalformedSignature,
  NotSigned,
  parseSignedRequest,
  type SignedRequest,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  scopeOf,
  signatureMatches,
  signingKey,
  stringToSign,
} from "./sigv4";
import { type OpenedToken, openedToken, temporarySigningKey } from "./temporary";
import { recordUse } from "./usage";

/** A storage key as verification needs it; its secret stays sealed. */
interface StorageKeyRecord extends RateLimitColumns {
  id: string;
  key: string;
  repoId: string;
  workspaceId: string;
  /** When the repo was made (ISO 8601): ListBuckets' CreationDate at the gateway. */
  repoCreatedAt: string;
  accessType: Role;
  sealedSecret: string;
  status: "ACTIVE" | "INACTIVE";
  expiresAt: string | null;
  previousSealedSecret: string | null;
  previousSecretExpiresAt: string | null;
  deletedAt: string | null;
  /**
   * Signing keys derived per secret slot and credential scope ("current:date/region/s3"),
   * verify-only, never extractable.
   */
  signingKeys?: Map<string, Promise<CryptoKey>>;
  /** Temporary credentials: the tag of each live secret slot, per keyring version ("v1:current"). */
  generations?: Map<string, Promise<string>>;
}

const remembered = keyMemory<StorageKeyRecord>();

// One indexed read (storage_keys_key_idx), the repo's workspace and creation date joined in.
const LOOKUP = `SELECT k.id, k.key, k.repo_id AS repoId, r.workspace_id AS workspaceId,
  r.created_at AS repoCreatedAt,
  k.access_type AS accessType, k.sealed_secret AS sealedSecret, k.status,
  k.expires_at AS expiresAt, k.previous_sealed_secret AS previousSealedSecret,
  k.previous_secret_expires_at AS previousSecretExpiresAt, k.deleted_at AS deletedAt,
  k.ratelimit_limit AS ratelimitLimit, k.ratelimit_period_seconds AS ratelimitPeriodSeconds
  FROM storage_keys k JOIN repos r ON r.id = k.repo_id WHERE k.key = ?1`;

async function lookUp(env: Bindings, accessKeyId: string, now: number) {
  const known = remembered.recall(accessKeyId, now);
  if (known !== undefined) return known;
  const row = await env.DB.prepare(LOOKUP).bind(accessKeyId).first<StorageKeyRecord>();
  const ttl = cacheTtlMs(env);
  if (row ? ttl.found > 0 : ttl.unknown > 0) {
    remembered.remember(accessKeyId, row, now + (row ? ttl.found : ttl.unknown));
  }
  return row;
}

function keyFor(
  env: Bindings,
  record: StorageKeyRecord,
  scope: SigningScope,
  slot: "current" | "previous",
): Promise<CryptoKey> {
  record.signingKeys ??= new Map();
  const id = `${slot}:${scope.date}/${scope.region}/${scope.service}`;
  let key = record.signingKeys.get(id);
  if (!key) {
    const binding = { kind: "storage" as const, repoId: record.repoId, keyId: record.id };
    key = keyringFrom(env.ENCRYPTION_KEYS)
      .open(
        slot === "current" ? record.sealedSecret : (record.previousSealedSecret as string),
        slot === "current" ? binding : { ...binding, slot: "previous" },
      )
      .then((secret) => signingKey(secret, scope));
    // A day has one scope per region; a bounded handful is all a key needs.
    if (record.signingKeys.size >= 8) record.signingKeys.clear();
    record.signingKeys.set(id, key);
    key.catch(() => record.signingKeys?.delete(id));
  }
  return key;
}

/**
 * Whether a temporary credential was issued under one of the parent's live secrets: the current
 * one, or the previous one while a roll's grace lasts. Once a roll's grace is over, no child
 * issued before it matches.
 */
async function issuedUnderLiveSecret(
  env: Bindings,
  record: StorageKeyRecord,
  { token, version }: OpenedToken,
  at: string,
): Promise<boolean> {
  const generation = (slot: "current" | "previous") => {
    record.generations ??= new Map();
    const id = `${version}:${slot}`;
    let tag = record.generations.get(id);
    if (!tag) {
      const keyring = keyringFrom(env.ENCRYPTION_KEYS);
      const binding = { kind: "storage" as const, repoId: record.repoId, keyId: record.id };
      tag = keyring
        .open(
          slot === "current" ? record.sealedSecret : (record.previousSealedSecret as string),
          slot === "current" ? binding : { ...binding, slot: "previous" },
        )
        .then((secret) => secretGeneration(keyring, version, secret));
      record.generations.set(id, tag);
      tag.catch(() => record.generations?.delete(id));
    }
    return tag;
  };
  // The tags are not secrets (keyed, inside an authenticated token): plain comparison is fine.
  return (
    (await generation("current")) === token.generation ||
    (previousSecretLive(record, at) && (await generation("previous")) === token.generation)
  );
}

/** Why a temporary credential is refused when its parent cannot be used. */
const PARENT_UNUSABLE = {
  REVOKED: "The credential's parent key has been deleted",
  DISABLED: "The credential's parent key is disabled",
  EXPIRED: "The credential's parent key has expired",
} as const;

interface SigningScope {
  date: string;
  region: string;
  service: string;
}

const refusal = (code: S3Refusal, message: string) => ({
  success: true as const,
  valid: false as const,
  code,
  s3Error: S3_REFUSALS[code],
  message,
});

/**
 * A VALID answer for a signed streaming upload also says where its chain of chunk signatures
 * starts (`signedStream`, never sent as is): the KeyVerifier entrypoint turns it into a
 * `chunkSigner` stub, the HTTP endpoint cannot carry one and leaves it out.
 */
export type VerifyS3Answer = VerifyS3Response & { signedStream?: SignedStream };

/**
 * Checks an S3 request's SigV4 signature (header-signed or presigned URL) against the storage
 * key it names, without the secret leaving this service: the answer says whether the request
 * is the key holder's, which key, repo and access level it carries, and which payload hash,
 * headers and checksums the signature covers, for the gateway to hold the body to.
 *
 * Failure limits (./failures.ts) never refuse a correct signature: a blocked address or key id
 * only has its failures answered RATE_LIMITED, with as little work as telling them apart takes.
 */
export async function verifyS3Request(
  env: Bindings,
  input: VerifyS3Request,
  waitUntil: (promise: Promise<unknown>) => void,
  now = Date.now(),
): Promise<VerifyS3Answer> {
  // The key the outcome is counted under (src/usage), once the verification knows one.
  const seen: Partial<Attribution> = {};
  return attributed(await check(env, input, waitUntil, now, seen), seen);
}

async function check(
  env: Bindings,
  input: VerifyS3Request,
  waitUntil: (promise: Promise<unknown>) => void,
  now: number,
  seen: Partial<Attribution>,
): Promise<VerifyS3Answer> {
  let signed: SignedRequest;
  try {
    signed = parseSignedRequest(input);
  } catch (error) {
    // An anonymous request guesses at nobody's secret: refused as S3 does, and not counted.
    if (error instanceof NotSigned) return refusal("NOT_SIGNED", error.message);
    if (!(error instanceof MalformedSignature)) throw error;
    const limit = failureLimit(env, subjectsOf(undefined, input.clientIp), now);
    const code = await limit.failed("MALFORMED");
    return refusal(code, code === "MALFORMED" ? error.message : RATE_LIMITED_MESSAGE);
  }
  const { accessKeyId } = signed;
  const limit = failureLimit(env, subjectsOf(accessKeyId, input.clientIp), now);
  const refuse = async (failure: S3Refusal, message: string) => {
    const code = await limit.failed(failure);
    return refusal(code, code === failure ? message : RATE_LIMITED_MESSAGE);
  };

  // Refusals that need no key: for a blocked subject they cost no lookup and no crypto.
  if (signed.unsignedAmzHeaders.length > 0) {
    return refuse(
      "HEADERS_NOT_SIGNED",
      "There were headers present in the request which were not signed",
    );
  }
  if (env.S3_REGION && signed.region !== env.S3_REGION) {
    return refuse("MALFORMED", `The credential's region must be ${env.S3_REGION}`);
  }
  if (signed.presigned) {
    if (signed.signedAt - now > MAX_SKEW_MS) {
      return refuse("REQUEST_TIME_SKEWED", "X-Amz-Date is in the future");
    }
    if (now > signed.signedAt + (signed.expiresSeconds as number) * 1000) {
      return refuse("REQUEST_EXPIRED", "The presigned URL has expired");
    }
  } else if (Math.abs(now - signed.signedAt) > MAX_SKEW_MS) {
    return refuse(
      "REQUEST_TIME_SKEWED",
      "X-Amz-Date is more than 15 minutes from the server's time",
    );
  }

  // A temporary credential (FBTK…) is its session token: the scope, its parent key and its
  // expiry, sealed by this service. It is checked against the parent's row, as cached as the
  // parent's own requests are (the same bound on revocation).
  let temporary: OpenedToken | undefined;
  if (accessKeyId.startsWith(TEMPORARY_KEY_PREFIX)) {
    if (signed.securityToken === undefined) {
      return refuse("INVALID_TOKEN", "A temporary credential needs its X-Amz-Security-Token");
    }
    temporary = await openedToken(env, accessKeyId, signed.securityToken);
    if (!temporary) return refuse("INVALID_TOKEN", "The security token is not valid");
    // A temporary credential counts under its parent key.
    seen.keyId = temporary.token.parentKeyId;
    seen.repoId = temporary.token.repoId;
    if (now >= temporary.token.expiresAt * 1000) {
      return refuse("TOKEN_EXPIRED", "The provided token has expired");
    }
  } else if (signed.securityToken !== undefined) {
    return refuse(
      "INVALID_TOKEN",
      "X-Amz-Security-Token is only for temporary credentials (FBTK…), not a key's own requests",
    );
  }

  // A key that is not remembered costs one D1 read even for a blocked subject: it may be a
  // valid key's first request here. Unknown ids are then remembered (NEGATIVE_TTL_SECONDS).
  const record = await lookUp(env, temporary ? temporary.token.parentKey : accessKeyId, now);
  if (!record) return refuse("INVALID_ACCESS_KEY", "No such access key id");
  if (!temporary) {
    seen.keyId = record.id;
    seen.repoId = record.repoId;
  }
  if (
    temporary &&
    (record.id !== temporary.token.parentKeyId || record.repoId !== temporary.token.repoId)
  ) {
    return refuse("INVALID_TOKEN", "The security token is not valid");
  }
  const at = new Date(now).toISOString();
  const why = unusable(record, at);
  const unusableMessage = temporary ? PARENT_UNUSABLE : UNUSABLE;
  // A deleted, disabled or expired key is refused whatever its signature: a blocked subject
  // learns nothing more and costs no crypto.
  if (why && limit.blocked) return refuse(why, unusableMessage[why]);
  let matches: boolean;
  /** The signing key that matched: a signed stream's chunks are signed with it too. */
  let matchedKey: CryptoKey | undefined;
  let rolled = false;
  try {
    const toSign = await stringToSign(signed);
    const signedWith = async (slot: "current" | "previous") => {
      const key = await keyFor(env, record, signed, slot);
      const matched = await signatureMatches(key, signed.signature, toSign);
      if (matched) matchedKey = key;
      return matched;
    };
    if (temporary) {
      // A temporary credential has one secret, derived from its token.
      const key = await temporarySigningKey(temporary, accessKeyId, signed);
      matches = await signatureMatches(key, signed.signature, toSign);
      if (matches) matchedKey = key;
      // Its parent's roll (past grace) ends it, as it ends the parent's old secret.
      rolled = matches && !why && !(await issuedUnderLiveSecret(env, record, temporary, at));
    } else {
      // A rolled key's previous secret still signs during its grace period.
      matches =
        (await signedWith("current")) ||
        (previousSecretLive(record, at) && (await signedWith("previous")));
    }
  } catch (error) {
    log.error("a storage key's sealed secret cannot be opened", {
      keyId: record.id,
      reason: error,
    });
    throw new ApiError("SERVICE_UNAVAILABLE", "This key cannot be verified right now");
  }
  // What became of a key is told only to whoever proved its secret.
  if (!matches) {
    return record.deletedAt
      ? refuse("INVALID_ACCESS_KEY", "No such access key id")
      : refuse(
          "SIGNATURE_MISMATCH",
          "The request signature does not match; check the secret and how the request is signed",
        );
  }
  if (why) return refuse(why, unusableMessage[why]);
  if (rolled) {
    return refuse("INVALID_TOKEN", "The credential's parent key was rolled since it was issued");
  }
  const accessType = temporary ? temporary.token.permission : record.accessType;
  // Not a failure: the secret is proven, the key only lacks the access (never RATE_LIMITED).
  if (input.requiredAccess && !atLeast(accessType, input.requiredAccess)) {
    return refusal(
      "INSUFFICIENT_ACCESS",
      `The ${temporary ? "credential's permission" : "key's access"} is ${accessType}; this needs ${input.requiredAccess}`,
    );
  }

  // The key's own rate limit (src/limits): only a proven, usable credential reaches it, and a
  // temporary credential counts against its parent's. Not a failure: never counted as one.
  const limited = await rateLimitVerdict(env, record.id, record, now);
  if (!limited.allowed) {
    return { ...refusal("RATE_LIMITED", limited.message), ratelimit: limited.ratelimit };
  }

  recordUse(env, waitUntil, "storage_keys", record.id, now);
  return {
    success: true,
    valid: true,
    code: "VALID",
    keyId: record.id,
    key: accessKeyId,
    repoId: record.repoId,
    workspaceId: record.workspaceId,
    accessType,
    repoCreatedAt: record.repoCreatedAt,
    payloadHash: signed.payloadHash,
    signedHeaders: signed.signedHeaders,
    checksums: signed.checksums,
    ...(temporary
      ? {
          scope: {
            permission: temporary.token.permission,
            prefixes: temporary.token.prefixes,
            objects: temporary.token.objects,
            expiration: new Date(temporary.token.expiresAt * 1000).toISOString(),
            parentKeyId: record.id,
          },
        }
      : {}),
    ...(signed.payloadHash === STREAMING_SIGNED || signed.payloadHash === STREAMING_SIGNED_TRAILER
      ? {
          signedStream: {
            key: matchedKey as CryptoKey,
            amzDate: signed.amzDate,
            scope: scopeOf(signed),
            seedSignature: signed.signature,
          },
        }
      : {}),
    ...(limited.ratelimit ? { ratelimit: limited.ratelimit } : {}),
  };
}
