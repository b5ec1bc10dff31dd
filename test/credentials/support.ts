import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { expect } from "vitest";
import type { VerifyS3Request } from "../../src/verify/schemas";
import { type ApiResponse, call } from "../support/api";
import { HOST } from "../verify/support";

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
  permission: "READ" | "WRITE";
  prefixes: string[];
  objects: string[];
  parentKeyId: string;
}

/** POST /repo/{repoId}/apikey/{keyId}/temporary-credentials as `as`. */
export function requestCredentials(
  as: string,
  repoId: string,
  keyId: string,
  body: unknown,
): Promise<ApiResponse> {
  return call("POST", `/repo/${repoId}/apikey/${keyId}/temporary-credentials`, { as, body });
}

/** Issues temporary credentials, asserting the 201. */
export async function issueCredentials(
  as: string,
  repoId: string,
  keyId: string,
  body: Record<string, unknown> = { permission: "READ" },
): Promise<TemporaryCredentials> {
  const response = await requestCredentials(as, repoId, keyId, body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

interface TemporarySigning {
  method?: string;
  /** As sent, percent-encoded: "/<repoId>/builds/1/a.txt". */
  path: string;
  query?: Record<string, string>;
  signingDate?: Date;
  /** Presign (token in the query) instead of signing the Authorization header. */
  presign?: boolean;
  /** Sign with this token instead of the credential's own (tampering). */
  sessionToken?: string;
}

/** A request signed by AWS's signer with session credentials, as the gateway hands it on. */
export async function signedWithToken(
  credentials: Pick<TemporaryCredentials, "accessKeyId" | "secretAccessKey" | "sessionToken">,
  { method = "GET", path, query = {}, signingDate, presign, sessionToken }: TemporarySigning,
): Promise<VerifyS3Request> {
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: sessionToken ?? credentials.sessionToken,
    },
    region: "us-east-1",
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const request = {
    method,
    protocol: "https:",
    hostname: HOST,
    path,
    query,
    headers: { host: HOST, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
  };
  const options = signingDate ? { signingDate } : {};
  const signed = presign
    ? await signer.presign(request, { expiresIn: 900, ...options })
    : await signer.sign(request, options);
  const search = new URLSearchParams(signed.query as Record<string, string>).toString();
  return {
    method,
    url: `https://${HOST}${signed.path}${search ? `?${search}` : ""}`,
    headers: signed.headers as Record<string, string>,
  };
}
