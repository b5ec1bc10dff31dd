import { RpcTarget, WorkerEntrypoint } from "cloudflare:workers";

/**
 * A model of the API's KeyVerifier for the gateway's in-process tests (vitest.config.ts binds it
 * as the auxiliary Worker "flashgate-apikeys"). It answers as the real one does about everything
 * the gateway is given (README: Verifying keys): NOT_SIGNED, malformed signatures, unknown keys,
 * unsigned x-amz-* headers, access levels, and, when VALID, the payload hash, signed headers and
 * checksums the signature covered. It does not check SigV4 itself: test/e2e does that against
 * the real API. Keys describe themselves, so tests need no shared table:
 *   access key id "WRITE.<repo id>" or "READ.<repo id>"; signature "0"×64 does not match, any
 *   other 64 hex digits does.
 * A temporary credential is such a key whose request carries X-Amz-Security-Token (signed
 * header or presigned query): the token is the base64url JSON of its {prefixes, objects}, and
 * the VALID answer carries that scope, its permission the key's access.
 * Signed streaming (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) answers a `chunkSigner` whose
 * chain is a model too (modelChunkSignature): each link's signature is the SHA-256 of the one
 * before and the chunk's hash, seeded by the request's signature.
 */

const STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
const STREAMING_SIGNED = [
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
];

const hex = (bytes) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** The model's chunk signature: hex SHA-256 of "<previous>\n[trailer\n]<sha256>". */
export async function modelChunkSignature(previous, sha256, trailer = false) {
  const text = `${previous}\n${trailer ? "trailer\n" : ""}${sha256}`;
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** The model of the API's ChunkSigner: the chain in order, broken for good by a wrong link. */
class ModelChunkSigner extends RpcTarget {
  #previous;
  #broken = false;
  constructor(seed) {
    super();
    this.#previous = seed;
  }
  async verify(links) {
    for (const { sha256, signature, trailer } of links) {
      if (
        this.#broken ||
        signature !== (await modelChunkSignature(this.#previous, sha256, trailer))
      ) {
        this.#broken = true;
        return false;
      }
      this.#previous = signature;
    }
    return true;
  }
}
/**
 * When every model key's repo was made: the real verifier answers the repo row's created_at. (A
 * function: a Worker's module may export nothing else.)
 */
export const modelRepoCreatedAt = () => "2026-05-04T03:02:01.000Z";

const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
const RANK = { READ: 1, WRITE: 2, ADMIN: 3 };

const refuse = (code, s3Error, message) => ({
  success: true,
  valid: false,
  code,
  s3Error,
  message,
});
const malformed = (message) => refuse("MALFORMED", "AuthorizationHeaderMalformed", message);

/** The answer the real verifier gives about a request, by the rules above. */
export function verifyLikeTheApi({ url, headers, requiredAccess }) {
  const received = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const query = new URL(url).searchParams;
  const presigned = query.has("X-Amz-Signature") || query.has("X-Amz-Algorithm");
  const authorization = received.get("authorization");
  if (!presigned && authorization === undefined) {
    return refuse("NOT_SIGNED", "AccessDenied", "The request is not signed");
  }
  let credential;
  let signedHeadersText;
  let signature;
  let payloadHash;
  if (presigned) {
    if (authorization !== undefined) return malformed("signed both in the header and the query");
    credential = query.get("X-Amz-Credential");
    signedHeadersText = query.get("X-Amz-SignedHeaders");
    signature = query.get("X-Amz-Signature");
    const hashes = [...query].filter(([name]) => name.toLowerCase() === "x-amz-content-sha256");
    if (new Set(hashes.map(([, value]) => value)).size > 1) return malformed("two payload hashes");
    payloadHash = hashes[0]?.[1] ?? UNSIGNED_PAYLOAD;
  } else {
    const parts =
      /^AWS4-HMAC-SHA256 Credential=([^,]*),\s*SignedHeaders=([^,]*),\s*Signature=(.*)$/.exec(
        authorization,
      );
    if (!parts) return malformed("the Authorization header is not SigV4");
    [, credential, signedHeadersText, signature] = parts;
    payloadHash = received.get("x-amz-content-sha256");
  }
  if (!credential || !signedHeadersText || !/^[0-9a-f]{64}$/.test(signature ?? "")) {
    return malformed("the signature's parts are missing or malformed");
  }
  const hashes = presigned
    ? [UNSIGNED_PAYLOAD]
    : [UNSIGNED_PAYLOAD, STREAMING_UNSIGNED_TRAILER, ...STREAMING_SIGNED];
  if (!/^[0-9a-f]{64}$/.test(payloadHash ?? "") && !hashes.includes(payloadHash)) {
    return malformed("x-amz-content-sha256 is missing or not a payload hash");
  }
  const signedHeaders = signedHeadersText.split(";");
  if (
    !signedHeaders.includes("host") ||
    signedHeaders.some((name) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
  ) {
    return malformed("SignedHeaders must be lower-case names and include host");
  }
  for (const name of received.keys()) {
    const exempt = name === "x-amz-content-sha256" && !presigned;
    if (name.startsWith("x-amz-") && !exempt && !signedHeaders.includes(name)) {
      return refuse(
        "HEADERS_NOT_SIGNED",
        "AccessDenied",
        "There were headers present in the request which were not signed",
      );
    }
  }
  const key = /^(READ|WRITE|ADMIN)\.([0-9a-f-]{36})\//.exec(credential);
  if (!key) return refuse("INVALID_ACCESS_KEY", "InvalidAccessKeyId", "No such access key id");
  const [, accessType, repoId] = key;
  const missing = signedHeaders.some((name) => name !== "host" && !received.has(name));
  if (signature === "0".repeat(64) || missing) {
    return refuse("SIGNATURE_MISMATCH", "SignatureDoesNotMatch", "The signature does not match");
  }
  if (requiredAccess && RANK[accessType] < RANK[requiredAccess]) {
    return refuse("INSUFFICIENT_ACCESS", "AccessDenied", `The key's access is ${accessType}`);
  }
  const checksums = {};
  if (presigned) {
    for (const [name, value] of query) {
      if (name.toLowerCase().startsWith("x-amz-checksum-")) checksums[name.toLowerCase()] = value;
    }
  } else {
    for (const name of signedHeaders) {
      if (name.startsWith("x-amz-checksum-")) checksums[name] = received.get(name);
    }
  }
  const token = presigned
    ? query.get("X-Amz-Security-Token")
    : received.get("x-amz-security-token");
  let scope;
  if (token) {
    try {
      const { prefixes = [], objects = [] } = JSON.parse(
        new TextDecoder().decode(
          Uint8Array.from(atob(token.replace(/-/g, "+").replace(/_/g, "/")), (c) =>
            c.charCodeAt(0),
          ),
        ),
      );
      scope = {
        permission: accessType,
        prefixes,
        objects,
        expiration: "2030-01-01T00:00:00.000Z",
        parentKeyId: `model-${accessType}`,
      };
    } catch {
      return refuse("INVALID_TOKEN", "InvalidToken", "The security token is not valid");
    }
  }
  return {
    success: true,
    valid: true,
    code: "VALID",
    ...(scope ? { scope } : {}),
    keyId: `model-${accessType}`,
    key: `${accessType}.${repoId}`,
    repoId,
    workspaceId: "model-workspace",
    accessType,
    repoCreatedAt: modelRepoCreatedAt(),
    payloadHash,
    signedHeaders,
    checksums,
    ...(STREAMING_SIGNED.includes(payloadHash)
      ? { chunkSigner: new ModelChunkSigner(signature) }
      : {}),
  };
}

export class KeyVerifier extends WorkerEntrypoint {
  verifyS3Request(input) {
    return verifyLikeTheApi(input);
  }
}

export default { fetch: () => new Response(null, { status: 404 }) };
