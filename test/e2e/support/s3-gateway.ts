import { Sha256 } from "@aws-crypto/sha256-js";
import { S3Client } from "@aws-sdk/client-s3";
import { HttpRequest } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import { callApi, gatewayUrl, newUser, tokenFor } from "./http";
import { asReceived } from "./s3-signing";

/** A storage key as POST /repo/{repoId}/apikey answers it. */
export interface StorageKey {
  id: string;
  key: string;
  secret: string;
}

/** The API as a repo's owner: workspace, repos and storage keys, over plain fetch. */
export async function apiAs(label: string) {
  const token = await tokenFor(newUser(label));
  const call = (method: string, path: string, body?: unknown) => callApi(token, method, path, body);
  const workspaceId: string = (await call("POST", "/workspace", { name: `${label} team` })).id;
  return {
    newRepo: async (name: string): Promise<string> =>
      (await call("POST", "/repo", { name, workspaceId })).id,
    /** When a repo was made, as the API answers it (ISO 8601). */
    repoCreatedAt: async (repoId: string): Promise<string> =>
      (await call("GET", `/repo/${repoId}`)).repo.createdAt,
    newKey: (repoId: string, accessType: "READ" | "WRITE" | "ADMIN"): Promise<StorageKey> =>
      call("POST", `/repo/${repoId}/apikey`, { name: `${accessType} key`, accessType }),
    deleteKey: (repoId: string, key: StorageKey) =>
      call("DELETE", `/repo/${repoId}/apikey/${key.id}`),
  };
}

/** What `S3Client` got on the wire for each command: its name and the final, signed headers. */
export interface SentRequest {
  command: string;
  headers: Record<string, string>;
}

/**
 * AWS SDK v3's S3Client pointed at the gateway as the README says (path-style, region auto),
 * recording each request it sends. One attempt only: a retried 5xx would hide a gateway bug.
 */
export function s3ClientFor(credentials: { accessKeyId: string; secretAccessKey: string }) {
  const sent: SentRequest[] = [];
  const client = new S3Client({
    endpoint: gatewayUrl,
    region: "auto",
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
  });
  client.middlewareStack.addRelativeTo(
    (next: any, context: any) => async (args: any) => {
      sent.push({ command: context.commandName, headers: { ...args.request.headers } });
      return next(args);
    },
    { relation: "after", toMiddleware: "httpSigningMiddleware", name: "recordSentRequests" },
  );
  return { client, sent };
}

export const credentialsOf = (key: StorageKey) => ({
  accessKeyId: key.key,
  secretAccessKey: key.secret,
});

/** The S3 error a call was refused with: its code (`name`) and HTTP status. */
export async function s3ErrorOf(call: Promise<unknown>): Promise<{ code: string; status: number }> {
  try {
    await call;
  } catch (error: any) {
    return { code: error.name, status: error.$metadata?.httpStatusCode };
  }
  throw new Error("expected the call to fail");
}

/** An S3 error document's code, from a plain fetch answer. */
export async function xmlErrorOf(response: Response): Promise<{ code: string; status: number }> {
  const text = await response.text();
  return { code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? text, status: response.status };
}

/**
 * A presigned URL for any request on the gateway, made by @smithy/signature-v4 (the AWS SDK's
 * own signer) as S3 presigns: x-amz-* headers given are hoisted into the signed query
 * (`x-amz-content-sha256` and `x-amz-checksum-*` included), other headers given are signed.
 */
export async function presignedUrl(
  credentials: { accessKeyId: string; secretAccessKey: string },
  method: string,
  url: string,
  headers: Record<string, string> = {},
  expiresIn = 300,
): Promise<string> {
  const target = new URL(url);
  const signer = new SignatureV4({
    service: "s3",
    region: "auto",
    credentials,
    sha256: Sha256,
    uriEscapePath: false,
  });
  const query: Record<string, string> = {};
  for (const [name, value] of target.searchParams) query[name] = value;
  const signed = await signer.presign(
    new HttpRequest({
      method,
      protocol: target.protocol,
      hostname: target.hostname,
      port: Number(target.port) || undefined,
      path: target.pathname,
      query,
      headers: { host: target.host, ...headers },
    }),
    { expiresIn },
  );
  return asReceived(signed).url;
}
