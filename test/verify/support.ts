import { exports } from "cloudflare:workers";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { SignJWT } from "jose";
import type { VerifyFailure } from "../../src/verify/entrypoint";
import type { VerifyAiResponse, VerifyS3Request, VerifyS3Response } from "../../src/verify/schemas";
import { type ApiResponse, call } from "../support/api";
import { TEST_BINDINGS } from "../support/bindings";

/** A gateway's token: scope keys:verify. */
export function gatewayToken(gatewayId = "gateway-1", scope = "keys:verify"): Promise<string> {
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(gatewayId)
    .setIssuer(TEST_BINDINGS.JWT_ISSUER)
    .setAudience(TEST_BINDINGS.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode(TEST_BINDINGS.JWT_SECRET));
}

/** POST /verify/s3 as a gateway does, through the Worker's fetch handler. */
export async function verifyS3Http(input: unknown): Promise<ApiResponse<VerifyS3Response>> {
  return call("POST", "/verify/s3", {
    authorization: `Bearer ${await gatewayToken()}`,
    body: input,
  });
}

export async function verifyAiHttp(input: unknown): Promise<ApiResponse<VerifyAiResponse>> {
  return call("POST", "/verify/ai", {
    authorization: `Bearer ${await gatewayToken()}`,
    body: input,
  });
}

interface KeyVerifierBinding {
  verifyS3Request(input: unknown): Promise<VerifyS3Response | VerifyFailure>;
  verifyAiSecret(input: unknown): Promise<VerifyAiResponse | VerifyFailure>;
}

/** The Worker's own `KeyVerifier` entrypoint, reached through a service binding (RPC). */
export const keyVerifier = (exports as unknown as { KeyVerifier: KeyVerifierBinding }).KeyVerifier;

export const HOST = "s3.flashgate.test";

/** AWS's own SigV4 signer, configured as S3 clients use it (no double-encoded path). */
export function s3Signer(accessKeyId: string, secretAccessKey: string, region = "us-east-1") {
  return new SignatureV4({
    credentials: { accessKeyId, secretAccessKey },
    region,
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
}

export interface S3Call {
  method?: string;
  /** Path as sent, already percent-encoded: "/<repoId>/photos/cat.jpg". */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  /** Defaults to the hex SHA-256 of the body. */
  payloadHash?: string;
  signingDate?: Date;
  region?: string;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function urlOf(path: string, query: Record<string, string | string[] | null> = {}): string {
  const search = Object.entries(query)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, x ?? ""] as const))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return `https://${HOST}${path}${search ? `?${search}` : ""}`;
}

/** A header-signed S3 request, as the verification body a gateway sends for it. */
export async function signedS3Request(
  credentials: { key: string; secret: string },
  {
    method = "GET",
    path,
    query = {},
    headers = {},
    body = "",
    payloadHash,
    signingDate,
    region,
  }: S3Call,
): Promise<VerifyS3Request> {
  const hash = payloadHash ?? (await sha256Hex(body));
  const signed = await s3Signer(credentials.key, credentials.secret, region).sign(
    {
      method,
      protocol: "https:",
      hostname: HOST,
      path,
      query,
      headers: { host: HOST, "x-amz-content-sha256": hash, ...headers },
      body,
    },
    signingDate ? { signingDate } : {},
  );
  return {
    method,
    url: urlOf(signed.path, signed.query as Record<string, string>),
    headers: signed.headers as Record<string, string>,
  };
}

/**
 * A presigned URL, as the verification body a gateway sends when it is used. As
 * @aws-sdk/s3-request-presigner prepares it: the payload hash (UNSIGNED-PAYLOAD unless given) and
 * every x-amz-* header are hoisted into the signed query, except those named in `keptAsHeaders`,
 * which stay signed headers and are sent as such (the e2e suite uses getSignedUrl itself).
 */
export async function presignedS3Request(
  credentials: { key: string; secret: string },
  {
    method = "GET",
    path,
    query = {},
    headers = {},
    payloadHash = "UNSIGNED-PAYLOAD",
    signingDate,
    region,
    keptAsHeaders = [],
  }: S3Call & { keptAsHeaders?: string[] },
  expiresIn = 900,
): Promise<VerifyS3Request> {
  const presigned = await s3Signer(credentials.key, credentials.secret, region).presign(
    {
      method,
      protocol: "https:",
      hostname: HOST,
      path,
      query,
      headers: { host: HOST, "X-Amz-Content-Sha256": payloadHash, ...headers },
    },
    {
      expiresIn,
      unhoistableHeaders: new Set(keptAsHeaders),
      ...(signingDate ? { signingDate } : {}),
    },
  );
  return {
    method,
    url: urlOf(presigned.path, presigned.query as Record<string, string>),
    headers: presigned.headers as Record<string, string>,
  };
}
