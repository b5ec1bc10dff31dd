/**
 * The S3 gateway's floor: the least work a hand-written Worker could do to serve the gateway's
 * GetObject and PutObject (path-style, `/{repoId}/{key}`, objects under `${repoId}/${key}` in
 * one R2 bucket) with the same guarantees, so `npm run bench` can divide the gateway's req/s
 * by this one's.
 *
 * What it skips is the service-binding hop: the signature is checked inline by the floor's own
 * verifier (`checkS3` of bench/floor.ts: the same lookup SQL on the API's D1, the same
 * per-isolate memory of rows and signing keys, the same keyring, lifecycle checks and
 * lastUsedAt batching as the API's KeyVerifier), where the gateway asks the API over RPC. No
 * check is skipped: the key must be the bucket's repo's and hold READ (GET) or WRITE (PUT); a
 * PUT's body is hashed as it streams into R2 and its last piece held back until it matches the
 * signed `x-amz-content-sha256`, so a mismatch stores nothing and the body is never buffered
 * whole (the gateway's contract, gateway/README.md). What it does not serve (ranges,
 * conditions, checksum headers, aws-chunked, other operations) it refuses, 501, rather than
 * serve without the gateway's checks. Answers carry what the gateway's do: S3's statuses and
 * XML error codes, the object's headers, the ETag, `x-amz-request-id`.
 *
 * Two more operations, for the bench's DeleteObjects and CopyObject: DeleteObjects
 * (`POST /{repoId}?delete`, WRITE) reads its body whole, holds it to the signed SHA-256 and the
 * Content-MD5 S3 requires (`BadDigest`, nothing deleted), reads the keys off the Delete document
 * with a hand scanner (XML's five entities and numeric references; anything else MalformedXML,
 * VersionId not served) and deletes them in one R2 call; CopyObject (`x-amz-copy-source` of the
 * same bucket, COPY metadata, no conditions or ranges) streams the source from R2 into R2.
 */
import { checkS3, hexOf, S3_ERRORS, type VerifyEnv } from "./floor";

interface Env extends VerifyEnv {
  BUCKET: R2Bucket;
}

/** The S3 errors this floor can answer, with S3's statuses (gateway/src/errors.ts). */
const STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  EntityTooLarge: 400,
  IncompleteBody: 400,
  InternalError: 500,
  BadDigest: 400,
  InvalidAccessKeyId: 403,
  InvalidDigest: 400,
  InvalidArgument: 400,
  InvalidRequest: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NotImplemented: 501,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
};

class S3Failure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const BUCKET_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_KEY_BYTES = 1024 - 37;
const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;
const HEX_UPPER = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, "0").toUpperCase(),
);
const encoder = new TextEncoder();

/** Headers that would ask for work this floor does not do: refused, never ignored. */
const NOT_SERVED = [
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "x-amz-copy-source-if-match",
  "x-amz-copy-source-if-none-match",
  "x-amz-copy-source-if-modified-since",
  "x-amz-copy-source-if-unmodified-since",
  "x-amz-copy-source-range",
  "x-amz-trailer",
  "x-amz-decoded-content-length",
  "x-amz-checksum-crc32",
  "x-amz-checksum-crc32c",
  "x-amz-checksum-sha1",
  "x-amz-checksum-sha256",
  "x-amz-checksum-crc64nvme",
];

function newRequestId(): string {
  let id = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(8))) id += HEX_UPPER[byte];
  return id;
}

const XML_SPECIALS: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** S3's error document, as the gateway writes it; a HEAD answer has the status only. */
function errorResponse(error: S3Failure, method: string, requestId: string): Response {
  const status = STATUS[error.code] ?? 500;
  const headers = { "x-amz-request-id": requestId };
  if (method === "HEAD") return new Response(null, { status, headers });
  const message = error.message.replace(
    /[&<>"']|[^\t\n\u0020-\uffff]/g,
    (c) => XML_SPECIALS[c] ?? `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`,
  );
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${error.code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`,
    { status, headers: { ...headers, "Content-Type": "application/xml" } },
  );
}

async function getObject(env: Env, storageKey: string, requestId: string): Promise<Response> {
  const object = await env.BUCKET.get(storageKey);
  if (!object) throw new S3Failure("NoSuchKey", "The specified key does not exist.");
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  if (!headers.has("Content-Type")) headers.set("Content-Type", "binary/octet-stream");
  for (const [name, value] of Object.entries(object.customMetadata ?? {})) {
    headers.set(`x-amz-meta-${name}`, value);
  }
  headers.set("ETag", object.httpEtag);
  headers.set("Last-Modified", object.uploaded.toUTCString());
  headers.set("Accept-Ranges", "bytes");
  headers.set("Content-Length", String(object.size));
  headers.set("x-amz-request-id", requestId);
  return new Response(object.body, { headers, encodeBody: "manual" });
}

/** What a PUT asks to store with the object: HTTP metadata and x-amz-meta-*. */
function metadataOf(headers: Headers): R2PutOptions {
  const httpMetadata: R2HTTPMetadata = {};
  const customMetadata: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name === "content-type") httpMetadata.contentType = value;
    else if (name === "content-encoding") httpMetadata.contentEncoding = value;
    else if (name === "content-language") httpMetadata.contentLanguage = value;
    else if (name === "content-disposition") httpMetadata.contentDisposition = value;
    else if (name === "cache-control") httpMetadata.cacheControl = value;
    else if (name === "expires" && !Number.isNaN(Date.parse(value))) {
      httpMetadata.cacheExpiry = new Date(value);
    } else if (name.startsWith("x-amz-meta-")) {
      customMetadata[name.slice("x-amz-meta-".length)] = value;
    }
  }
  return { httpMetadata, customMetadata };
}

/**
 * The body streamed into R2 as it arrives, hashed on the way, its last piece held back until
 * the SHA-256 matched: R2 gets a stream of exactly Content-Length bytes, aborted short of it on
 * a mismatch, so nothing is stored.
 */
async function putObject(
  env: Env,
  request: Request,
  storageKey: string,
  requestId: string,
): Promise<Response> {
  const declared = request.headers.get("content-length");
  if (declared === null) {
    throw new S3Failure("MissingContentLength", "You must provide the Content-Length HTTP header.");
  }
  if (!/^\d{1,16}$/.test(declared.trim())) {
    throw new S3Failure("InvalidArgument", "Content-Length must be a whole number of bytes.");
  }
  const length = Number(declared.trim());
  if (length > MAX_UPLOAD_BYTES) {
    throw new S3Failure("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.");
  }
  // The signature covered the hash (or UNSIGNED-PAYLOAD); anything streaming is refused.
  const promised = request.headers.get("x-amz-content-sha256") ?? "";
  const checked = /^[0-9a-f]{64}$/.test(promised);
  if (!checked && promised !== "UNSIGNED-PAYLOAD") {
    throw new S3Failure("NotImplemented", "Only a hex payload hash or UNSIGNED-PAYLOAD.");
  }
  const options = metadataOf(request.headers);
  const digest = checked ? new crypto.DigestStream("SHA-256") : undefined;
  const hashing = digest?.getWriter();
  const sink = length > 0 ? new FixedLengthStream(length) : undefined;
  const writer = sink?.writable.getWriter();
  writer?.closed.catch(() => {});
  const storing = env.BUCKET.put(storageKey, sink ? sink.readable : new ArrayBuffer(0), options);
  storing.catch((error) => writer?.abort(error).catch(() => {}));

  let held: Uint8Array | undefined;
  let total = 0;
  try {
    if (request.body) {
      const reader = request.body.getReader();
      for (;;) {
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch {
          throw new S3Failure("IncompleteBody", "The request body ended before its length.");
        }
        if (read.done) break;
        const piece = read.value;
        if (piece.byteLength === 0) continue;
        total += piece.byteLength;
        if (total > length) {
          throw new S3Failure("InvalidRequest", "The body is longer than its declared length.");
        }
        // The piece before this one was hashed already: on to R2 while this one is hashed.
        await Promise.all([hashing?.write(piece), held && writer?.write(held)]);
        held = piece;
      }
    }
    if (total !== length) {
      throw new S3Failure(
        "IncompleteBody",
        `You did not provide the number of bytes specified (${total} of ${length}).`,
      );
    }
    if (digest && hashing) {
      await hashing.close();
      if (hexOf(await digest.digest) !== promised) {
        throw new S3Failure(
          "XAmzContentSHA256Mismatch",
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
      }
    }
    if (held) await writer?.write(held);
    await writer?.close();
  } catch (error) {
    await writer?.abort(error).catch(() => {});
    await storing.catch(() => {});
    throw error;
  }
  const object = await storing;
  return new Response(null, { headers: { ETag: object.httpEtag, "x-amz-request-id": requestId } });
}

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const xmlText = (text: string) => text.replace(/[&<>"']/g, (c) => XML_SPECIALS[c] as string);
const xmlAnswer = (body: string, requestId: string) =>
  new Response(`${XML_DECLARATION}${body}`, {
    headers: { "Content-Type": "application/xml", "x-amz-request-id": requestId },
  });
const MALFORMED_XML =
  "The XML you provided was not well-formed or did not validate against our published schema.";
const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** An element's text with XML's entities and character references decoded; MalformedXML else. */
function xmlDecoded(text: string): string {
  return text.replace(/&([^;&<]*);?/g, (whole, name: string) => {
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    const code = numeric
      ? numeric[1] !== undefined
        ? Number.parseInt(numeric[1], 16)
        : Number(numeric[2])
      : undefined;
    const decoded = code === undefined ? ENTITIES[name] : String.fromCodePoint(code);
    if (!whole.endsWith(";") || decoded === undefined || (code !== undefined && code < 0x20)) {
      throw new S3Failure("MalformedXML", MALFORMED_XML);
    }
    return decoded;
  });
}

/** The Delete document's keys and Quiet, scanned by hand: Objects with one Key each. */
function deleteRequestOf(text: string): { keys: string[]; quiet: boolean } {
  const body =
    /^(?:<\?xml[^>]*\?>)?\s*<Delete(?:\s+xmlns="[^"]*")?\s*>([\s\S]*)<\/Delete>\s*$/.exec(
      text,
    )?.[1];
  if (body === undefined) throw new S3Failure("MalformedXML", MALFORMED_XML);
  const keys: string[] = [];
  let quiet: string | undefined;
  const rest = body.replace(
    /\s*(?:<Object>\s*<Key>([^<]*)<\/Key>\s*<\/Object>|<Quiet>\s*([^<]*?)\s*<\/Quiet>)/g,
    (_, key: string | undefined, q: string | undefined) => {
      if (key !== undefined) keys.push(xmlDecoded(key));
      else quiet = q?.toLowerCase();
      return "";
    },
  );
  if (rest.trim() !== "") {
    throw rest.includes("<VersionId>")
      ? new S3Failure("NotImplemented", "The floor deletes no versions.")
      : new S3Failure("MalformedXML", MALFORMED_XML);
  }
  if (keys.length === 0 || keys.length > 1000 || keys.includes("")) {
    throw new S3Failure("MalformedXML", MALFORMED_XML);
  }
  if (quiet !== undefined && quiet !== "true" && quiet !== "false") {
    throw new S3Failure("MalformedXML", MALFORMED_XML);
  }
  return { keys, quiet: quiet === "true" };
}

/** Base64 Content-MD5 as bytes, or InvalidDigest. */
function md5Of(header: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(header.trim());
  } catch {
    binary = "";
  }
  if (binary.length !== 16) {
    throw new S3Failure("InvalidDigest", "The Content-MD5 you specified was invalid.");
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * DeleteObjects: the body read whole (at most 8 MiB), its SHA-256 the signed one, its MD5 the
 * Content-MD5 S3 requires, before any key is deleted; then one R2 call for every key.
 */
async function deleteObjects(
  env: Env,
  request: Request,
  bucket: string,
  requestId: string,
): Promise<Response> {
  const md5 = request.headers.get("content-md5");
  if (md5 === null) {
    throw new S3Failure(
      "InvalidRequest",
      "Missing required header for this request: Content-MD5 or x-amz-checksum-*",
    );
  }
  const expectedMd5 = md5Of(md5);
  const promised = request.headers.get("x-amz-content-sha256") ?? "";
  if (!/^[0-9a-f]{64}$/.test(promised)) {
    throw new S3Failure("NotImplemented", "The floor's DeleteObjects needs a hex payload hash.");
  }
  const declared = request.headers.get("content-length");
  if (declared === null || !/^\d{1,16}$/.test(declared.trim())) {
    throw new S3Failure("MissingContentLength", "You must provide the Content-Length HTTP header.");
  }
  if (Number(declared) > 8 * 1024 * 1024) {
    throw new S3Failure(
      "InvalidRequest",
      `The request body must be at most ${8 * 1024 * 1024} bytes.`,
    );
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length !== Number(declared)) {
    throw new S3Failure("IncompleteBody", "The request body ended before its length.");
  }
  const [sha256, computedMd5] = await Promise.all([
    crypto.subtle.digest("SHA-256", bytes),
    crypto.subtle.digest("MD5", bytes),
  ]);
  if (hexOf(sha256) !== promised) {
    throw new S3Failure(
      "XAmzContentSHA256Mismatch",
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  if (hexOf(computedMd5) !== hexOf(expectedMd5.buffer as ArrayBuffer)) {
    throw new S3Failure(
      "BadDigest",
      "The Content-MD5 you specified (Content-MD5) did not match the calculated checksum.",
    );
  }
  const { keys, quiet } = deleteRequestOf(new TextDecoder().decode(bytes));
  const tooLong = (key: string) => encoder.encode(key).length > MAX_KEY_BYTES;
  const deleting = keys.filter((key) => !tooLong(key));
  if (deleting.length > 0) {
    await env.BUCKET.delete([...new Set(deleting.map((key) => `${bucket}/${key}`))]);
  }
  let entries = "";
  for (const key of keys) {
    if (tooLong(key)) {
      entries +=
        `<Error><Key>${xmlText(key)}</Key><Code>KeyTooLongError</Code>` +
        `<Message>Your key is longer than ${MAX_KEY_BYTES} bytes.</Message></Error>`;
    } else if (!quiet) {
      entries += `<Deleted><Key>${xmlText(key)}</Key></Deleted>`;
    }
  }
  return xmlAnswer(`<DeleteResult ${XMLNS}>${entries}</DeleteResult>`, requestId);
}

/** CopyObject within the bucket: the source read from R2 and streamed into R2, metadata kept. */
async function copyObject(
  env: Env,
  request: Request,
  bucket: string,
  key: string,
  requestId: string,
): Promise<Response> {
  const directive = request.headers.get("x-amz-metadata-directive");
  const source = (request.headers.get("x-amz-copy-source") ?? "").trim().replace(/^\//, "");
  if ((directive !== null && directive.trim() !== "COPY") || source.includes("?")) {
    throw new S3Failure("NotImplemented", "The floor copies with COPY metadata, no versionId.");
  }
  const slash = source.indexOf("/");
  let sourceBucket: string;
  let sourceKey: string;
  try {
    sourceBucket = decodeURIComponent(slash < 0 ? source : source.slice(0, slash));
    sourceKey = slash < 0 ? "" : decodeURIComponent(source.slice(slash + 1));
  } catch {
    throw new S3Failure("InvalidArgument", "x-amz-copy-source has a malformed percent-encoding.");
  }
  if (sourceBucket === "" || sourceKey === "") {
    throw new S3Failure("InvalidArgument", "x-amz-copy-source must be bucket/key.");
  }
  if (sourceBucket !== bucket) throw new S3Failure("AccessDenied", "Access Denied");
  if (sourceKey === key) {
    throw new S3Failure(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const object = await env.BUCKET.get(`${bucket}/${sourceKey}`);
  if (!object) throw new S3Failure("NoSuchKey", "The specified key does not exist.");
  if (object.size > MAX_UPLOAD_BYTES) {
    throw new S3Failure(
      "InvalidRequest",
      `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_UPLOAD_BYTES}`,
    );
  }
  let body: ReadableStream | ArrayBuffer = new ArrayBuffer(0);
  if (object.size > 0) {
    const sink = new FixedLengthStream(object.size);
    object.body.pipeTo(sink.writable).catch(() => {});
    body = sink.readable;
  } else {
    await object.body.cancel();
  }
  const copied = await env.BUCKET.put(`${bucket}/${key}`, body, {
    httpMetadata: object.httpMetadata ?? {},
    customMetadata: object.customMetadata ?? {},
  });
  return xmlAnswer(
    `<CopyObjectResult ${XMLNS}><LastModified>${copied.uploaded.toISOString()}</LastModified>` +
      `<ETag>${xmlText(copied.httpEtag)}</ETag></CopyObjectResult>`,
    requestId,
  );
}

async function serve(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  requestId: string,
): Promise<Response> {
  const url = new URL(request.url);
  const method = request.method;
  const slash = url.pathname.indexOf("/", 1);
  const bucket = url.pathname.slice(1, slash < 0 ? undefined : slash);
  let key: string;
  try {
    key = slash < 0 ? "" : decodeURIComponent(url.pathname.slice(slash + 1));
  } catch {
    throw new S3Failure("InvalidURI", "Couldn't parse the specified URI.");
  }
  const query = [...url.searchParams.keys()].filter((name) => !/^x-amz-/i.test(name));
  const copying = request.headers.has("x-amz-copy-source");
  const operation =
    method === "POST" && key === "" && query.length === 1 && query[0] === "delete"
      ? "DeleteObjects"
      : key === "" || query.some((name) => name !== "x-id")
        ? undefined
        : method === "GET"
          ? "GetObject"
          : method === "PUT"
            ? copying
              ? "CopyObject"
              : "PutObject"
            : undefined;
  if (
    !operation ||
    NOT_SERVED.some((name) => request.headers.has(name)) ||
    (operation !== "DeleteObjects" && request.headers.has("content-md5"))
  ) {
    throw new S3Failure(
      "NotImplemented",
      "The floor serves plain GetObject, PutObject, CopyObject and DeleteObjects only.",
    );
  }
  if (!BUCKET_NAME.test(bucket)) {
    throw new S3Failure("NoSuchBucket", "The specified bucket does not exist.");
  }
  if (encoder.encode(key).length > MAX_KEY_BYTES) {
    throw new S3Failure("KeyTooLongError", `Your key is longer than ${MAX_KEY_BYTES} bytes.`);
  }

  // The signature, inline: what the gateway asks the API's KeyVerifier.
  const check = await checkS3(
    env,
    ctx,
    {
      method,
      url: request.url,
      header: (name) => request.headers.get(name) ?? undefined,
      headerNames: request.headers.keys(),
      requiredAccess: operation === "GetObject" ? "READ" : "WRITE",
      clientIp: request.headers.get("CF-Connecting-IP") ?? undefined,
    },
    Date.now(),
  );
  if (!check.valid) {
    throw new S3Failure(S3_ERRORS[check.code] ?? "AccessDenied", check.message);
  }
  if (check.row.repoId !== bucket) {
    throw new S3Failure("AccessDenied", "The key is not for this bucket.");
  }
  const storageKey = `${bucket}/${key}`;
  switch (operation) {
    case "GetObject":
      return getObject(env, storageKey, requestId);
    case "PutObject":
      return putObject(env, request, storageKey, requestId);
    case "CopyObject":
      return copyObject(env, request, bucket, key, requestId);
    case "DeleteObjects":
      return deleteObjects(env, request, bucket, requestId);
  }
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    const requestId = newRequestId();
    try {
      return await serve(request, env, ctx, requestId);
    } catch (error) {
      if (!(error instanceof S3Failure)) {
        console.error(error instanceof Error ? error.stack : String(error));
      }
      const failure =
        error instanceof S3Failure
          ? error
          : new S3Failure("InternalError", "We encountered an internal error. Please try again.");
      return errorResponse(failure, request.method, requestId);
    }
  },
} satisfies ExportedHandler<Env>;
