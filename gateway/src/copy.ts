import { precondition } from "./conditions";
import type { Env } from "./env";
import { escapeXml, fromR2Error, S3Error, XML_DECLARATION } from "./errors";
import { metadataOf } from "./metadata";
import { storageKey } from "./objects";
import type { Route } from "./route";
import { MAX_UPLOAD_BYTES } from "./upload-body";
import { recordPart } from "./uploads";
import type { SignedParts } from "./verify";

/**
 * CopyObject and UploadPartCopy: `x-amz-copy-source` names an object of the same bucket (a key
 * is for one repository: it may read no other), streamed from R2 into R2 without being held.
 * The request needs WRITE, which covers READ on the source.
 */

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

interface CopySource {
  key: string;
}

/**
 * `x-amz-copy-source`: "[/]bucket/key[?versionId=…]", the key URL-encoded. Only the version
 * "null" exists here (nothing is versioned), as on an unversioned S3 bucket.
 */
export function copySourceOf(header: string, bucket: string): CopySource {
  const value = header.trim().replace(/^\//, "");
  const question = value.indexOf("?");
  const path = question < 0 ? value : value.slice(0, question);
  if (question >= 0) {
    const query = new URLSearchParams(value.slice(question + 1));
    const versionId = query.get("versionId");
    if ([...query.keys()].some((name) => name !== "versionId") || versionId === null) {
      throw new S3Error("InvalidArgument", "x-amz-copy-source may only carry ?versionId=.");
    }
    if (versionId !== "null") {
      throw new S3Error("InvalidArgument", "Invalid version id specified (nothing is versioned).");
    }
  }
  const slash = path.indexOf("/");
  let sourceBucket: string;
  let key: string;
  try {
    sourceBucket = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
    key = slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1));
  } catch {
    throw new S3Error("InvalidArgument", "x-amz-copy-source has a malformed percent-encoding.");
  }
  if (sourceBucket === "" || key === "") {
    throw new S3Error("InvalidArgument", "x-amz-copy-source must be bucket/key.");
  }
  // Another bucket is another repository: this key may not read it.
  if (sourceBucket !== bucket) throw new S3Error("AccessDenied", "Access Denied");
  return { key };
}

const sourceOf = (request: Request, route: Route) =>
  copySourceOf(request.headers.get("x-amz-copy-source") ?? "", route.bucket);

/** The x-amz-copy-source-if-* conditions, as GetObject's If-* headers. */
function copyConditions(headers: Headers): Headers {
  const conditions = new Headers();
  for (const name of ["If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"]) {
    const value = headers.get(`x-amz-copy-source-${name}`);
    if (value !== null) conditions.set(name, value);
  }
  return conditions;
}

/** `x-amz-copy-source-range: bytes=first-last`, within an object of `size` bytes. */
export function copyRangeOf(
  header: string | null,
  size: number,
): { offset: number; length: number } | undefined {
  if (header === null) return undefined;
  const m = /^bytes=(\d{1,16})-(\d{1,16})$/.exec(header.trim());
  const first = Number(m?.[1]);
  const last = Number(m?.[2]);
  if (!m || first > last) {
    throw new S3Error(
      "InvalidArgument",
      "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
    );
  }
  if (last >= size) {
    throw new S3Error(
      "InvalidRange",
      `Range specified is not valid for source object of size: ${size}`,
    );
  }
  return { offset: first, length: last - first + 1 };
}

/**
 * The source object's body (the whole, or `x-amz-copy-source-range`'s bytes), once its
 * conditions held; the head decides, and the body is read only if it is still that version.
 */
async function readSource(
  env: Env,
  route: Route,
  request: Request,
  source: CopySource,
  ranged: boolean,
) {
  const key = `${route.bucket}/${source.key}`;
  const conditions = copyConditions(request.headers);
  for (let attempt = 0; attempt < 3; attempt++) {
    const head = await env.BUCKET.head(key);
    if (!head) throw new S3Error("NoSuchKey", "The specified key does not exist.");
    if (precondition(conditions, head.etag, head.uploaded) !== "proceed") {
      throw new S3Error(
        "PreconditionFailed",
        "At least one of the preconditions you specified did not hold.",
      );
    }
    const range = ranged
      ? copyRangeOf(request.headers.get("x-amz-copy-source-range"), head.size)
      : undefined;
    const length = range?.length ?? head.size;
    if (length > MAX_UPLOAD_BYTES) {
      throw new S3Error(
        "InvalidRequest",
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_UPLOAD_BYTES}`,
      );
    }
    const object = await env.BUCKET.get(key, {
      ...(range ? { range } : {}),
      onlyIf: { etagMatches: head.etag },
    });
    if (!object) throw new S3Error("NoSuchKey", "The specified key does not exist.");
    if ("body" in object) {
      return { object: object as R2ObjectBody, length };
    }
    // Replaced between the head and the read: decide again.
  }
  throw new S3Error("InternalError", "The source object kept changing; try again.");
}

/** R2 needs a stream's length: the source's size, known before a byte is read. */
function sized(body: ReadableStream, length: number): ReadableStream | ArrayBuffer {
  if (length === 0) {
    body.cancel().catch(() => {});
    return new ArrayBuffer(0);
  }
  const sink = new FixedLengthStream(length);
  body.pipeTo(sink.writable).catch(() => {});
  return sink.readable;
}

/** S3's metadata directive: COPY (the source's metadata, the default) or REPLACE (the request's). */
function directiveOf(request: Request): "COPY" | "REPLACE" {
  const directive = (request.headers.get("x-amz-metadata-directive") ?? "COPY").trim();
  if (directive !== "COPY" && directive !== "REPLACE") {
    throw new S3Error("InvalidArgument", "Unknown metadata directive.");
  }
  return directive;
}

export async function copyObject(
  env: Env,
  route: Route,
  request: Request,
  signed: SignedParts,
): Promise<Response> {
  const source = sourceOf(request, route);
  const replaced = directiveOf(request) === "REPLACE" ? metadataOf(request, signed) : undefined;
  if (source.key === route.key && !replaced) {
    throw new S3Error(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const { object, length } = await readSource(env, route, request, source, false);
  const metadata = replaced ?? {
    httpMetadata: object.httpMetadata ?? {},
    customMetadata: object.customMetadata ?? {},
  };
  let copied: R2Object | null;
  try {
    copied = await env.BUCKET.put(storageKey(route), sized(object.body, length), metadata);
  } catch (error) {
    throw fromR2Error(error);
  }
  if (!copied) throw new S3Error("InternalError", "The object was not copied; try again.");
  return xml(
    `<CopyObjectResult ${XMLNS}><LastModified>${copied.uploaded.toISOString()}</LastModified>` +
      `<ETag>${escapeXml(copied.httpEtag)}</ETag></CopyObjectResult>`,
  );
}

export async function uploadPartCopy(env: Env, route: Route, request: Request): Promise<Response> {
  const partNumber = Number(route.query.get("partNumber"));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
    throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000.");
  }
  const uploadId = route.query.get("uploadId") ?? "";
  if (uploadId === "") {
    throw new S3Error("NoSuchUpload", "The specified multipart upload does not exist.");
  }
  const upload = env.BUCKET.resumeMultipartUpload(storageKey(route), uploadId);
  const { object, length } = await readSource(env, route, request, sourceOf(request, route), true);
  let part: R2UploadedPart;
  try {
    part = await upload.uploadPart(partNumber, sized(object.body, length));
  } catch (error) {
    throw fromR2Error(error);
  }
  // ListParts reads the gateway's upload index (uploads.ts), as for UploadPart.
  await recordPart(env, route.bucket, uploadId, { partNumber, etag: part.etag, size: length });
  return xml(
    `<CopyPartResult ${XMLNS}><LastModified>${new Date().toISOString()}</LastModified>` +
      `<ETag>${escapeXml(`"${part.etag}"`)}</ETag></CopyPartResult>`,
  );
}

const xml = (body: string) =>
  new Response(`${XML_DECLARATION}${body}`, { headers: { "Content-Type": "application/xml" } });
