import { exports } from "cloudflare:workers";

/**
 * Requests to the gateway Worker itself, signed for its KeyVerifier model
 * (support/key-verifier-model.mjs): keys name their access and repo, signatures are trusted.
 */

export const gateway = (exports as unknown as { default: Fetcher }).default;

export const BUCKET = "0b5a3c2e-1111-4222-8333-444455556666";
export const OTHER_BUCKET = "7d1e9f00-aaaa-4bbb-8ccc-ddddeeeeffff";
export const ORIGIN = "https://s3.example";

/** 64 hex digits the model takes as a matching signature ("0"×64 does not match). */
const SIGNATURE = "5".repeat(64);
const CREDENTIAL_SCOPE = "20260101/auto/s3/aws4_request";

export interface Signing {
  /** The access key id: "<ACCESS>.<repo id>"; WRITE on BUCKET by default. */
  key?: string;
  headers?: Record<string, string>;
  body?: BodyInit;
  /** Headers sent but left out of SignedHeaders (header-signed requests). */
  unsigned?: string[];
  /** Headers the presigned URL signed besides host (presigned requests). */
  signedHeaders?: string[];
  /** Parameters the presigned URL signed besides the X-Amz-* of the signature. */
  query?: Record<string, string>;
  /** A temporary credential's scope: sent as the model's X-Amz-Security-Token (signed). */
  scope?: { prefixes?: string[]; objects?: string[] };
}

/** The model's session token for `scope`: its JSON, base64url. */
export function modelToken(scope: { prefixes?: string[]; objects?: string[] }): string {
  const bytes = new TextEncoder().encode(JSON.stringify(scope));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** A request signed in its Authorization header, as SDKs sign; all its headers signed. */
export function headerSigned(method: string, pathAndQuery: string, signing: Signing = {}) {
  const headers = new Headers({
    "x-amz-date": "20260101T000000Z",
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    ...signing.headers,
    ...(signing.scope ? { "x-amz-security-token": modelToken(signing.scope) } : {}),
  });
  const unsigned = new Set(signing.unsigned?.map((name) => name.toLowerCase()));
  const signed = ["host", ...headers.keys()].filter((name) => !unsigned.has(name)).sort();
  headers.set(
    "authorization",
    `AWS4-HMAC-SHA256 Credential=${signing.key ?? `WRITE.${BUCKET}`}/${CREDENTIAL_SCOPE}, ` +
      `SignedHeaders=${signed.join(";")}, Signature=${SIGNATURE}`,
  );
  return new Request(`${ORIGIN}${pathAndQuery}`, { method, headers, body: signing.body });
}

/** A request to a presigned URL: the signature in the query; headers sent as given. */
export function presigned(method: string, path: string, signing: Signing = {}) {
  const query = new URLSearchParams({
    ...signing.query,
    ...(signing.scope ? { "X-Amz-Security-Token": modelToken(signing.scope) } : {}),
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${signing.key ?? `WRITE.${BUCKET}`}/${CREDENTIAL_SCOPE}`,
    "X-Amz-Date": "20260101T000000Z",
    "X-Amz-Expires": "300",
    "X-Amz-SignedHeaders": ["host", ...(signing.signedHeaders ?? [])].sort().join(";"),
    "X-Amz-Signature": SIGNATURE,
  });
  const separator = path.includes("?") ? "&" : "?";
  return new Request(`${ORIGIN}${path}${separator}${query}`, {
    method,
    headers: signing.headers,
    body: signing.body,
  });
}

export const send = (request: Request) => gateway.fetch(request);

/** The S3 error code of an XML error answer. */
export async function codeOf(response: Response): Promise<string | undefined> {
  return /<Code>([^<]*)<\/Code>/.exec(await response.text())?.[1];
}

export async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
