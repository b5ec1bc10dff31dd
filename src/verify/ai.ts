import { isWellFormedAiSecret } from "../crypto/credentials";
import { keyringFrom } from "../crypto/seal";
import { keyMemory } from "../db/key-memory";
import { previousSecretLive, UNUSABLE, unusable } from "../db/key-state";
import type { Bindings } from "../env";
import { failureLimit, RATE_LIMITED_MESSAGE, subjectsOf } from "./failures";
import type { AiRefusal, VerifyAiRequest, VerifyAiResponse } from "./schemas";
import { cacheTtlMs } from "./settings";
import { recordUse } from "./usage";

type AiType = "OPENAI" | "GOOGLE" | "ANTHROPIC" | "AWS" | "OTHER";

/** An AI key as verification needs it: found by its secret's keyed digest, never its secret. */
interface AiKeyRecord {
  id: string;
  key: string;
  repoId: string;
  workspaceId: string;
  aiType: AiType;
  secretDigest: string;
  previousSecretDigest: string | null;
  status: "ACTIVE" | "INACTIVE";
  expiresAt: string | null;
  previousSecretExpiresAt: string | null;
  deletedAt: string | null;
  /** The model allow-list: JSON text as D1 has it, parsed once when the row is read. */
  models: string[] | null;
}

const remembered = keyMemory<AiKeyRecord>();

// One read over two unique indexes (the current and the previous secret's digest), with the
// secret's digest under each keyring version.
const lookupFor = (versions: number) => {
  const digests = Array.from({ length: versions }, (_, i) => `?${i + 1}`).join(", ");
  return `SELECT k.id, k.key, k.repo_id AS repoId, r.workspace_id AS workspaceId,
  k.ai_type AS aiType, k.secret_digest AS secretDigest,
  k.previous_secret_digest AS previousSecretDigest, k.status, k.expires_at AS expiresAt,
  k.previous_secret_expires_at AS previousSecretExpiresAt, k.deleted_at AS deletedAt, k.models
  FROM ai_keys k JOIN repos r ON r.id = k.repo_id
  WHERE k.secret_digest IN (${digests}) OR k.previous_secret_digest IN (${digests})`;
};

const encoder = new TextEncoder();

/** Constant-time equality of two digests (the lookup matched them; this re-checks without timing). */
function sameDigest(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}

/**
 * Tells a real AI secret from a forged one without the secret leaving this service. A secret
 * that fails its own checksum is answered with no D1 read at all.
 *
 * Failure limits (./failures.ts) never refuse a real secret of a usable key: a blocked address
 * only has its failures answered RATE_LIMITED.
 */
export async function verifyAiSecret(
  env: Bindings,
  input: VerifyAiRequest,
  waitUntil: (promise: Promise<unknown>) => void,
  now = Date.now(),
): Promise<VerifyAiResponse> {
  const limit = failureLimit(env, subjectsOf(undefined, input.clientIp), now);
  const refuse = async (failure: AiRefusal, message: string, keyId?: string) => {
    // A proven secret of an unusable key counts against that key too.
    const check = keyId ? failureLimit(env, subjectsOf(keyId, input.clientIp), now) : limit;
    const code = await check.failed(failure);
    return {
      success: true as const,
      valid: false as const,
      code,
      message: code === failure ? message : RATE_LIMITED_MESSAGE,
    };
  };

  const secret = input.secret.replace(/^Bearer +/i, "");
  if (!isWellFormedAiSecret(secret)) {
    return refuse("INVALID", "Not an AI secret this service issued (format or checksum)");
  }

  // A well-formed secret costs its digests and, unless remembered, one D1 read, even from a
  // blocked address: it may be a real key's first use there. Unknown ones are remembered too.
  const keyring = keyringFrom(env.ENCRYPTION_KEYS);
  const digests = await keyring.digests(secret);
  const lookup = digests[0] as string;
  let record = remembered.recall(lookup, now);
  if (record === undefined) {
    const row = await env.DB.prepare(lookupFor(digests.length))
      .bind(...digests)
      .first<Omit<AiKeyRecord, "models"> & { models: string | null }>();
    record = row
      ? { ...row, models: row.models ? (JSON.parse(row.models) as string[]) : null }
      : null;
    const ttl = cacheTtlMs(env);
    if (record ? ttl.found > 0 : ttl.unknown > 0) {
      remembered.remember(lookup, record, now + (record ? ttl.found : ttl.unknown));
    }
  }
  /** Whether `stored` is this secret's digest, compared in constant time. */
  const isThisSecret = (stored: string | null | undefined) => {
    if (!stored) return false;
    const expected = digests[keyring.versions.indexOf(stored.slice(0, stored.indexOf(".")))];
    return expected !== undefined && sameDigest(stored, expected);
  };
  const at = new Date(now).toISOString();
  const current = record && isThisSecret(record.secretDigest);
  // A rolled key's previous secret is accepted during its grace period only.
  const previous =
    record &&
    !current &&
    previousSecretLive(record, at) &&
    isThisSecret(record.previousSecretDigest);
  if (!record || !(current || previous)) {
    return refuse("INVALID", "Not a secret of any AI key");
  }
  const why = unusable(record, at);
  if (why) return refuse(why, UNUSABLE[why], record.id);

  recordUse(env, waitUntil, "ai_keys", record.id, now);
  return {
    success: true,
    valid: true,
    code: "VALID",
    keyId: record.id,
    key: record.key,
    repoId: record.repoId,
    workspaceId: record.workspaceId,
    aiType: record.aiType,
    // Absent: any model. The gateway refuses a request for a model not listed.
    ...(record.models ? { models: record.models } : {}),
  };
}
