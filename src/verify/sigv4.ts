/**
 * AWS Signature Version 4, as S3 checks it: the parts of a signed request (header-signed or
 * presigned URL), the canonical request rebuilt from what the gateway received, and the string
 * the signature covers. Pure functions; keys and secrets live in ./s3.ts.
 */

import { hex } from "../crypto/hex";

export const ALGORITHM = "AWS4-HMAC-SHA256";
/** S3 refuses a request signed more than 15 minutes away from its own clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** The longest a presigned URL may live: 7 days. */
export const MAX_EXPIRES_SECONDS = 604_800;

const PAYLOAD_HASH = /^[0-9a-f]{64}$/;
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/** Signed streaming: every aws-chunked chunk signed over the one before, seeded by the request's. */
export const STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/** …and a signed trailer after the last chunk (a checksum). */
export const STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
const HEADER_SIGNED_ONLY = new Set([
  STREAMING_UNSIGNED_TRAILER,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
]);
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export class MalformedSignature extends Error {
  override name = "MalformedSignature";
}

/** No signature at all: no Authorization header, no X-Amz-Signature or X-Amz-Algorithm query. */
export class NotSigned extends Error {
  override name = "NotSigned";
}

const malformed = (message: string): never => {
  throw new MalformedSignature(message);
};

/** Everything a signature is checked against, read off the request. */
export interface SignedRequest {
  presigned: boolean;
  accessKeyId: string;
  /** YYYYMMDD of the credential scope. */
  date: string;
  region: string;
  service: string;
  /** X-Amz-Date: YYYYMMDDTHHMMSSZ. */
  amzDate: string;
  signedAt: number;
  /** Presigned URLs only. */
  expiresSeconds?: number;
  signedHeaders: string[];
  signature: string;
  /**
   * The x-amz-content-sha256 value the signature covers, the canonical request's last line: the
   * header's when header-signed; when presigned, the X-Amz-Content-Sha256 query parameter's or
   * the header's (they must agree), else UNSIGNED-PAYLOAD.
   */
  payloadHash: string;
  /** Every signed `x-amz-checksum-<algorithm>` value, by lower-case name. */
  checksums: Record<string, string>;
  /**
   * X-Amz-Security-Token: a temporary credential's session token, from a header (signed, or it is
   * among unsignedAmzHeaders) or a presigned URL's signed query.
   */
  securityToken?: string;
  /** x-amz-* headers present on the request that the signature does not cover (S3 refuses them). */
  unsignedAmzHeaders: string[];
  canonicalRequest: string;
}

export interface ReceivedRequest {
  method: string;
  url: string;
  /** Header names in any case; values as received. */
  headers: Record<string, string>;
}

function parseAmzDate(value: string): number {
  const m = AMZ_DATE.exec(value) ?? malformed("X-Amz-Date must look like 20260101T000000Z");
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const at = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  if (Number.isNaN(at) || new Date(at).getUTCDate() !== d) malformed("X-Amz-Date is not a date");
  return at;
}

/** "AKID/20260101/us-east-1/s3/aws4_request" */
function parseCredential(credential: string) {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request") {
    malformed("Credential must be <access key id>/<date>/<region>/<service>/aws4_request");
  }
  const [accessKeyId = "", date = "", region = "", service = ""] = parts;
  if (!accessKeyId || !/^\d{8}$/.test(date) || !region || !service) {
    malformed("Credential has an empty or malformed part");
  }
  if (service !== "s3") malformed(`Credential is scoped to service "${service}", not s3`);
  return { accessKeyId, date, region, service };
}

function parseSignedHeaders(value: string): string[] {
  const names = value.split(";");
  if (names.some((name) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name))) {
    malformed("SignedHeaders must be lower-case header names separated by ';'");
  }
  if (!names.includes("host")) malformed("SignedHeaders must include host");
  return names;
}

/** Percent-decodes a raw query component to bytes' string; '+' stays '+', as S3 reads it. */
function decodeComponent(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return malformed("the query string has a malformed percent-encoding");
  }
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ as %XX. */
export function awsEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

interface RawUrl {
  host: string;
  /** The path exactly as received (already percent-encoded by the client). */
  path: string;
  query: [string, string][];
}

/**
 * The URL as the client sent it: the path is taken verbatim, not re-parsed (a URL parser would
 * resolve "..", re-encode characters, and so change what was signed).
 */
function splitUrl(url: string): RawUrl {
  const m = /^https?:\/\/([^/?#]+)([^?#]*)(?:\?([^#]*))?/i.exec(url);
  if (!m) return malformed("url must be the absolute http(s) URL the gateway received");
  const [, host = "", path = "", query] = m;
  const pairs: [string, string][] = [];
  for (const part of (query ?? "").split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    pairs.push([name, decodeComponent(eq < 0 ? "" : part.slice(eq + 1))]);
  }
  return { host: host.toLowerCase(), path: path || "/", query: pairs };
}

function canonicalQuery(pairs: [string, string][]): string {
  return pairs
    .map(([name, value]) => [awsEncode(name), awsEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
}

/** A header value as SigV4 canonicalises it: trimmed, inner runs of spaces made one. */
const canonicalValue = (value: string) => value.trim().replace(/\s+/g, " ");

function payloadHashOf(value: string | undefined, presigned: boolean): string {
  if (value === undefined) {
    return presigned ? UNSIGNED_PAYLOAD : malformed("x-amz-content-sha256 is required");
  }
  if (PAYLOAD_HASH.test(value) || value === UNSIGNED_PAYLOAD) return value;
  // Streaming bodies are framed for one request: a presigned URL cannot carry them.
  if (HEADER_SIGNED_ONLY.has(value) && !presigned) return value;
  return malformed(
    `x-amz-content-sha256 must be a hex SHA-256, ${UNSIGNED_PAYLOAD}, ${STREAMING_UNSIGNED_TRAILER}, ${STREAMING_SIGNED} or ${STREAMING_SIGNED_TRAILER}`,
  );
}

/**
 * x-amz-* headers S3 checks no signature on, as header-signed and presigned requests may carry
 * them unsigned. S3 refuses every other unsigned x-amz-* header (HeadersNotSigned). Checked
 * against what real clients leave unsigned, none of which is an x-amz-* header:
 * AWS SDK JS v3 (@smithy/signature-v4 ALWAYS_UNSIGNABLE_HEADERS: user-agent, x-amzn-trace-id,
 * expect, …; its presigner hoists x-amz-* into the query or signs them), botocore / AWS CLI /
 * boto3 (SIGNED_HEADERS_BLACKLIST: expect, user-agent, x-amzn-trace-id), aws-sdk-go v1 and v2 as
 * rclone uses them (IgnoredHeaders: Authorization, User-Agent, X-Amzn-Trace-Id, Expect,
 * Transfer-Encoding), s3cmd (signs every header it sends) and minio-js / minio-go
 * (authorization, content-type, content-length, user-agent). x-amzn-trace-id is not x-amz-*.
 */
const UNSIGNED_AMZ_HEADERS_TOLERATED = {
  /**
   * Header-signed only: the payload hash, which the canonical request's last line covers
   * whether or not the header is also listed in SignedHeaders.
   */
  header: new Set(["x-amz-content-sha256"]),
  presigned: new Set<string>(),
};

/**
 * x-amz-checksum-* names that carry a parameter, not a checksum value: the algorithm a
 * multipart upload will use, the checksum type, and GetObject's "send me the checksum".
 */
const CHECKSUM_PARAMETERS = new Set([
  "x-amz-checksum-algorithm",
  "x-amz-checksum-type",
  "x-amz-checksum-mode",
]);
/** "x-amz-checksum-crc32", "x-amz-checksum-sha256", …: a checksum value under its algorithm. */
export const CHECKSUM_NAME = /^x-amz-checksum-[a-z0-9]+$/;
const isChecksum = (name: string) => CHECKSUM_NAME.test(name) && !CHECKSUM_PARAMETERS.has(name);

/** Adds `value` as `name`'s; a second, different value for the same name is malformed. */
function addOnce(into: Record<string, string>, name: string, value: string): void {
  const known = into[name];
  if (known !== undefined && known !== value) {
    malformed(`${name} is given twice with different values (in the query and a header?)`);
  }
  into[name] = value;
}

/** Reads the signature's parts and rebuilds the canonical request; throws MalformedSignature. */
export function parseSignedRequest(request: ReceivedRequest): SignedRequest {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(request.headers)) {
    headers.set(name.toLowerCase(), value);
  }
  const url = splitUrl(request.url);
  const query = new Map(url.query);
  const authorization = headers.get("authorization");
  const presigned = query.has("X-Amz-Signature") || query.has("X-Amz-Algorithm");
  if (presigned && authorization !== undefined) {
    malformed("a request is signed either in the Authorization header or in the query, not both");
  }

  let credential: string;
  let signedHeadersText: string;
  let signature: string;
  let amzDate: string;
  let expiresSeconds: number | undefined;
  let payloadHash: string;
  let canonicalPairs = url.query;
  /** Presigned: the payload hash and checksums its signed query carries, by lower-case name. */
  const inQuery: Record<string, string> = {};
  if (presigned) {
    const get = (name: string) => query.get(name) ?? malformed(`the query has no ${name}`);
    if (get("X-Amz-Algorithm") !== ALGORITHM) malformed(`X-Amz-Algorithm must be ${ALGORITHM}`);
    credential = get("X-Amz-Credential");
    signedHeadersText = get("X-Amz-SignedHeaders");
    signature = get("X-Amz-Signature");
    amzDate = get("X-Amz-Date");
    const expires = get("X-Amz-Expires");
    if (!/^\d{1,7}$/.test(expires) || Number(expires) < 1) {
      malformed("X-Amz-Expires must be a whole number of seconds");
    }
    expiresSeconds = Number(expires);
    if (expiresSeconds > MAX_EXPIRES_SECONDS) {
      malformed(`X-Amz-Expires must be at most ${MAX_EXPIRES_SECONDS} seconds (7 days)`);
    }
    canonicalPairs = url.query.filter(([name]) => name !== "X-Amz-Signature");
    // Every query parameter but the signature is signed; x-amz-* ones stand for headers.
    for (const [name, value] of canonicalPairs) {
      const lower = name.toLowerCase();
      if (lower === "x-amz-content-sha256" || isChecksum(lower)) addOnce(inQuery, lower, value);
    }
    // The payload hash may come as a header instead (aws4fetch presigns so); if both, they agree.
    const hashInQuery = inQuery["x-amz-content-sha256"];
    const hashHeader = headers.get("x-amz-content-sha256")?.trim();
    if (hashInQuery !== undefined && hashHeader !== undefined && hashHeader !== hashInQuery) {
      malformed("x-amz-content-sha256 differs between the query and the header");
    }
    payloadHash = payloadHashOf(hashInQuery ?? hashHeader, true);
  } else {
    if (authorization === undefined) {
      throw new NotSigned("Anonymous access is not allowed; sign the request");
    }
    const auth = authorization as string;
    if (!auth.startsWith(`${ALGORITHM} `)) {
      malformed(`the Authorization header must start with "${ALGORITHM} "`);
    }
    const fields = new Map<string, string>();
    for (const part of auth.slice(ALGORITHM.length + 1).split(",")) {
      const eq = part.indexOf("=");
      if (eq < 0) malformed("the Authorization header's parts must be name=value");
      fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const get = (name: string) =>
      fields.get(name) ?? malformed(`the Authorization header has no ${name}`);
    credential = get("Credential");
    signedHeadersText = get("SignedHeaders");
    signature = get("Signature");
    amzDate = headers.get("x-amz-date") ?? malformed("x-amz-date is required");
    payloadHash = payloadHashOf(headers.get("x-amz-content-sha256"), false);
  }

  if (!/^[0-9a-f]{64}$/.test(signature)) malformed("Signature must be 64 lower-case hex digits");
  const { accessKeyId, date, region, service } = parseCredential(credential);
  const signedAt = parseAmzDate(amzDate);
  if (amzDate.slice(0, 8) !== date) malformed("the credential's date is not X-Amz-Date's day");
  const signedHeaders = parseSignedHeaders(signedHeadersText);
  const signed = new Set(signedHeaders);
  const tolerated = UNSIGNED_AMZ_HEADERS_TOLERATED[presigned ? "presigned" : "header"];
  const unsignedAmzHeaders = [...headers.keys()].filter(
    (name) => name.startsWith("x-amz-") && !signed.has(name) && !tolerated.has(name),
  );

  const tokenInQuery = presigned ? query.get("X-Amz-Security-Token") : undefined;
  const tokenHeader = headers.get("x-amz-security-token");
  if (tokenInQuery !== undefined && tokenHeader !== undefined && tokenInQuery !== tokenHeader) {
    malformed("X-Amz-Security-Token differs between the query and the header");
  }
  const securityToken = tokenInQuery ?? tokenHeader;

  // What the signature covers: signed headers, and for a presigned URL its query too.
  const checksums: Record<string, string> = {};
  for (const [name, value] of Object.entries(inQuery)) {
    if (isChecksum(name)) checksums[name] = value;
  }
  for (const name of signedHeaders) {
    const value = headers.get(name);
    if (value !== undefined && isChecksum(name)) addOnce(checksums, name, value.trim());
  }

  const canonicalHeaders = signedHeaders
    .map((name) => {
      // The Host header a gateway received; the URL's host when it passed none.
      const value = headers.get(name) ?? (name === "host" ? url.host : undefined);
      return `${name}:${canonicalValue(value ?? "")}\n`;
    })
    .join("");
  const canonicalRequest = [
    request.method.toUpperCase(),
    url.path,
    canonicalQuery(canonicalPairs),
    canonicalHeaders,
    signedHeaders.join(";"),
    payloadHash,
  ].join("\n");

  return {
    presigned,
    accessKeyId,
    date,
    region,
    service,
    amzDate,
    signedAt,
    expiresSeconds,
    signedHeaders,
    signature,
    payloadHash,
    checksums,
    ...(securityToken !== undefined ? { securityToken } : {}),
    unsignedAmzHeaders,
    canonicalRequest,
  };
}

const encoder = new TextEncoder();

/** "20130524/us-east-1/s3/aws4_request" */
export const scopeOf = (request: Pick<SignedRequest, "date" | "region" | "service">) =>
  `${request.date}/${request.region}/${request.service}/aws4_request`;

/** The string the signature covers. */
export async function stringToSign(request: SignedRequest): Promise<string> {
  const scope = scopeOf(request);
  const hashed = hex(
    await crypto.subtle.digest("SHA-256", encoder.encode(request.canonicalRequest)),
  );
  return `${ALGORITHM}\n${request.amzDate}\n${scope}\n${hashed}`;
}

async function hmac(
  key: ArrayBuffer | Uint8Array<ArrayBuffer>,
  data: string,
): Promise<ArrayBuffer> {
  const imported = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", imported, encoder.encode(data));
}

/**
 * The signing key for one day, region and service, as a non-extractable key that can only
 * verify: kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
 */
export async function signingKey(
  secret: string,
  { date, region, service }: Pick<SignedRequest, "date" | "region" | "service">,
): Promise<CryptoKey> {
  const kDate = await hmac(encoder.encode(`AWS4${secret}`) as Uint8Array<ArrayBuffer>, date);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, service);
  const kSigning = await hmac(kService, "aws4_request");
  return crypto.subtle.importKey("raw", kSigning, { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
}

function hexToBytes(value: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(value.length / 2);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(value.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Whether `signature` is the HMAC of `toSign` under `key`: WebCrypto compares in constant time. */
export function signatureMatches(key: CryptoKey, signature: string, toSign: string) {
  return crypto.subtle.verify("HMAC", key, hexToBytes(signature), encoder.encode(toSign));
}

/** SHA-256 of nothing: the "previous headers" line of every chunk's string to sign. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * The string a signed streaming chunk's signature covers: chained to the signature before it
 * (the request's seed signature for the first chunk), over the chunk's SHA-256 (AWS: "Transferring
 * Payload in Multiple Chunks"). The last chunk is the empty one, so the chain cannot be cut short.
 */
export function chunkStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  chunkSha256: string,
): string {
  return `${ALGORITHM}-PAYLOAD\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256}`;
}

/**
 * The string the trailer's signature (`x-amz-trailer-signature`) covers: chained to the last
 * chunk's, over the SHA-256 of the trailer lines as `name:value\n` each.
 */
export function trailerStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  trailerSha256: string,
): string {
  return `${ALGORITHM}-TRAILER\n${amzDate}\n${scope}\n${previousSignature}\n${trailerSha256}`;
}
