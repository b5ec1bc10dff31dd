import type { Env } from "./env";
import { isS3ErrorCode, S3Error } from "./errors";
import type { Route } from "./route";

/**
 * The API's KeyVerifier entrypoint, as this gateway calls it over the service binding. The
 * types are the entrypoint's answers (README: Verifying keys), written here: the gateway shares
 * no source with the API.
 */
export interface VerifyS3Input {
  method: string;
  /** The full URL as received, path exactly as sent. */
  url: string;
  headers: Record<string, string>;
  requiredAccess?: "READ" | "WRITE" | "ADMIN";
  clientIp?: string;
}

export interface VerifiedKey {
  success: true;
  valid: true;
  code: "VALID";
  keyId: string;
  key: string;
  repoId: string;
  workspaceId: string;
  accessType: "READ" | "WRITE" | "ADMIN";
  /** When the repository was made (ISO 8601), if the API says; ListBuckets shows it. */
  repoCreatedAt?: string;
  /**
   * The x-amz-content-sha256 value the signature covered: the header (header-signed) or the
   * X-Amz-Content-Sha256 query parameter (presigned; UNSIGNED-PAYLOAD when absent). A 64-digit
   * hex SHA-256, UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or signed streaming:
   * STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], whose chunks `chunkSigner` checks.
   */
  payloadHash: string;
  /** Lower-case names of the headers the signature covers. */
  signedHeaders: string[];
  /** Every x-amz-checksum-<alg> value the signature covers (header or presigned query). */
  checksums: Record<string, string>;
  /**
   * A temporary credential's scope (absent for a key's own requests): every object key and
   * list prefix must lie within it (./scope.ts).
   */
  scope?: TemporaryScope;
  /**
   * Signed streaming only (RPC only): checks the chain of chunk signatures in the API Worker,
   * where the signing key stays.
   */
  chunkSigner?: ChunkSigner;
  /** The key's rate limit, when it has one (the answer's own; the gateway only passes it on). */
  ratelimit?: RateLimitState;
}

/** What a temporary credential may reach; prefixes and objects both empty: the whole bucket. */
export interface TemporaryScope {
  permission: "READ" | "WRITE";
  prefixes: string[];
  objects: string[];
  expiration: string;
  parentKeyId: string;
}

/** One link of a signed stream's chain: a chunk's (or the trailer lines') SHA-256 and signature. */
export interface ChunkLink {
  sha256: string;
  signature: string;
  trailer?: boolean;
}

/** The API's stub for a signed stream: links in order, any number per call. */
export interface ChunkSigner {
  /** False once any link is not the key's signature over its data and the link before. */
  verify(links: ChunkLink[]): Promise<boolean>;
}

/** What the signature covered: the only promises about a body the gateway may hold it to. */
export type SignedParts = Pick<
  VerifiedKey,
  "payloadHash" | "signedHeaders" | "checksums" | "chunkSigner"
>;

/** A key's own rate limit, when it has one: where it stands (reset in epoch milliseconds). */
export interface RateLimitState {
  limit: number;
  remaining: number;
  reset: number;
}

export interface RefusedKey {
  success: true;
  valid: false;
  code: string;
  s3Error: string;
  message: string;
  /** On RATE_LIMITED by the key's own limit: when its window frees up. */
  ratelimit?: RateLimitState;
}

/** A question the verifier would not answer (malformed input, misconfiguration). */
export interface VerifyFailure {
  success: false;
  message: string;
  code: string;
  requestId: string;
}

export type VerifyS3Answer = VerifiedKey | RefusedKey | VerifyFailure;

export interface KeyVerifier {
  verifyS3Request(input: VerifyS3Input): Promise<VerifyS3Answer>;
}

/**
 * The request's headers as the client signed them. Cloudflare (and workerd under wrangler dev)
 * replaces Accept-Encoding with its own ("br, gzip") and keeps the client's in
 * `cf.clientAcceptEncoding`; rclone signs `Accept-Encoding: gzip` into every GetObject.
 */
function headersAsSent(request: Request): Record<string, string> {
  const headers = Object.fromEntries(request.headers);
  const sent = (request.cf as { clientAcceptEncoding?: unknown } | undefined)?.clientAcceptEncoding;
  if (typeof sent === "string" && "accept-encoding" in headers) {
    if (sent === "") delete headers["accept-encoding"];
    else headers["accept-encoding"] = sent;
  }
  return headers;
}

/**
 * Checks the request's signature through the API and that the key's repository is the bucket
 * asked for. Runs before the body is read: an unverified body is never read or stored.
 */
export async function authorize(env: Env, request: Request, route: Route): Promise<VerifiedKey> {
  let answer: VerifyS3Answer;
  try {
    answer = await env.KEY_VERIFIER.verifyS3Request({
      method: request.method,
      url: request.url,
      headers: headersAsSent(request),
      requiredAccess: route.access,
      clientIp: request.headers.get("CF-Connecting-IP") ?? undefined,
    });
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        message: "the key verifier could not be reached",
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }),
    );
    throw new S3Error("ServiceUnavailable", "Please reduce your request rate or try again.");
  }
  if (!answer.success) {
    console.warn(
      JSON.stringify({
        level: "warn",
        message: "the key verifier refused the question",
        code: answer.code,
        reason: answer.message,
        verifierRequestId: answer.requestId,
      }),
    );
    if (answer.code === "VALIDATION_FAILED" || answer.code === "BAD_REQUEST") {
      throw new S3Error("InvalidRequest", answer.message);
    }
    if (answer.code === "SERVICE_UNAVAILABLE") {
      throw new S3Error("ServiceUnavailable", "Please reduce your request rate or try again.");
    }
    throw new S3Error("InternalError", "We encountered an internal error. Please try again.");
  }
  if (!answer.valid) {
    throw new S3Error(
      isS3ErrorCode(answer.s3Error) ? answer.s3Error : "AccessDenied",
      answer.message,
      retryAfter(answer),
    );
  }
  // ListBuckets names no bucket: it lists the key's own.
  if (route.operation !== "ListBuckets" && answer.repoId !== route.bucket) {
    throw new S3Error("AccessDenied", "The key is not for this bucket.");
  }
  if (!saysWhatWasSigned(answer) || !scopeIsWellFormed(answer)) {
    // An API older than this gateway (deploy the API first): without them a body could be
    // held to promises nobody signed, or miss ones that were.
    console.error(
      JSON.stringify({
        level: "error",
        message: "the key verifier's answer does not say what the signature covered",
      }),
    );
    throw new S3Error("ServiceUnavailable", "Please reduce your request rate or try again.");
  }
  return answer;
}

/**
 * A key over its own rate limit (SlowDown, 503) says when to come back: Retry-After in whole
 * seconds until its window resets, at least 1. The failure limit's RATE_LIMITED has no reset.
 */
function retryAfter(answer: RefusedKey): Record<string, string> {
  const reset = answer.ratelimit?.reset;
  if (answer.code !== "RATE_LIMITED" || typeof reset !== "number" || !Number.isFinite(reset)) {
    return {};
  }
  return { "Retry-After": String(Math.max(1, Math.ceil((reset - Date.now()) / 1000))) };
}

const saysWhatWasSigned = (answer: VerifiedKey) =>
  typeof answer.payloadHash === "string" &&
  Array.isArray(answer.signedHeaders) &&
  typeof answer.checksums === "object" &&
  answer.checksums !== null;

const strings = (value: unknown) =>
  Array.isArray(value) && value.every((item) => typeof item === "string");

/** A scope the gateway cannot read must not be taken for none: the request is not served. */
const scopeIsWellFormed = ({ scope }: VerifiedKey) =>
  scope === undefined ||
  (typeof scope === "object" &&
    scope !== null &&
    strings(scope.prefixes) &&
    strings(scope.objects));
