import { S3Error } from "./errors";
import type { SignedParts } from "./verify";

/** Object metadata between S3 headers and R2: standard HTTP metadata and x-amz-meta-*. */

/** A lower-case header name (RFC 9110 token). */
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
/** No control characters but tab: CR, LF or NUL would split or end a header. */
const HEADER_VALUE = /^[\t\u0020-\u007e\u0080-\uffff]*$/;
const EARLIEST_EXPIRES = Date.UTC(1678, 0, 1);
const LATEST_EXPIRES = Date.UTC(2262, 0, 1);

/**
 * What a PutObject or CreateMultipartUpload asks to store with the object. A presigned URL's
 * holder is not its signer: on a presigned request only the headers the signature covers count,
 * so whoever holds a URL for one upload cannot decide how the object is served (an unsigned
 * `Content-Type: text/html` is ignored, and the object is served as binary/octet-stream). A
 * header-signed request comes from the key's holder, who could have signed anything: all of its
 * headers count, as on S3 (AWS SDK v3 never signs Cache-Control, aws4fetch never Content-Type).
 */
export function metadataOf(
  request: Request,
  signed: SignedParts,
): {
  httpMetadata: R2HTTPMetadata;
  customMetadata: Record<string, string>;
} {
  const headerSigned = request.headers.has("authorization");
  const signedHeaders = new Set(signed.signedHeaders);
  const get = (name: string) =>
    headerSigned || signedHeaders.has(name) ? request.headers.get(name) : null;

  const httpMetadata: R2HTTPMetadata = {};
  const contentType = get("content-type");
  if (contentType) httpMetadata.contentType = contentType;
  // aws-chunked is the upload's framing, not the object's encoding.
  const encoding = (get("content-encoding") ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "" && e !== "aws-chunked")
    .join(",");
  if (encoding) httpMetadata.contentEncoding = encoding;
  const language = get("content-language");
  if (language) httpMetadata.contentLanguage = language;
  const disposition = get("content-disposition");
  if (disposition) httpMetadata.contentDisposition = disposition;
  const cacheControl = get("cache-control");
  if (cacheControl) httpMetadata.cacheControl = cacheControl;
  const expires = Date.parse(get("expires") ?? "");
  // R2 keeps dates as nanoseconds in 64 bits (1677 to 2262) and throws outside them; an Expires
  // it cannot keep is ignored, as one that is not a date.
  if (expires >= EARLIEST_EXPIRES && expires < LATEST_EXPIRES) {
    httpMetadata.cacheExpiry = new Date(expires);
  }

  const customMetadata: Record<string, string> = {};
  for (const [name, value] of request.headers) {
    // The verifier refuses unsigned x-amz-* headers; checked here too, as it costs nothing.
    if (name.startsWith("x-amz-meta-") && get(name) !== null) {
      customMetadata[name.slice("x-amz-meta-".length)] = value;
    }
  }
  // A presigned URL's query is signed whole; presigners put x-amz-meta-* there (S3 keeps them).
  if (!headerSigned) {
    for (const [parameter, value] of new URL(request.url).searchParams) {
      const name = parameter.toLowerCase();
      if (!name.startsWith("x-amz-meta-")) continue;
      if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) {
        throw new S3Error("InvalidArgument", `${name} must be a valid header name and value.`);
      }
      customMetadata[name.slice("x-amz-meta-".length)] = value;
    }
  }
  return { httpMetadata, customMetadata };
}

const OVERRIDES: [string, string][] = [
  ["response-content-type", "Content-Type"],
  ["response-content-language", "Content-Language"],
  ["response-expires", "Expires"],
  ["response-cache-control", "Cache-Control"],
  ["response-content-disposition", "Content-Disposition"],
  ["response-content-encoding", "Content-Encoding"],
];

/** Sets a stored value; one that cannot be a header value (kept from before) is left out. */
function setStored(headers: Headers, name: string, value: string) {
  if (!HEADER_VALUE.test(value)) return;
  try {
    headers.set(name, value);
  } catch {
    // A stored name that is not a header name: not served.
  }
}

/**
 * GetObject's and HeadObject's headers for an object, with `response-*` overrides applied. An
 * override that cannot be a header value (CR, LF, NUL…) is InvalidArgument.
 */
export function objectHeaders(object: R2Object, query: URLSearchParams): Headers {
  const overrides: [string, string][] = [];
  for (const [parameter, header] of OVERRIDES) {
    const value = query.get(parameter);
    if (value === null) continue;
    if (!HEADER_VALUE.test(value)) {
      throw new S3Error("InvalidArgument", `${parameter} must be a valid header value.`);
    }
    overrides.push([header, value]);
  }

  // Not writeHttpMetadata: it throws on a stored value that cannot be a header value.
  const headers = new Headers();
  const http = object.httpMetadata ?? {};
  for (const [name, value] of [
    ["Content-Type", http.contentType],
    ["Content-Language", http.contentLanguage],
    ["Content-Disposition", http.contentDisposition],
    ["Content-Encoding", http.contentEncoding],
    ["Cache-Control", http.cacheControl],
    ["Expires", http.cacheExpiry?.toUTCString()],
  ] as const) {
    if (value) setStored(headers, name, value);
  }
  if (!headers.has("Content-Type")) headers.set("Content-Type", "binary/octet-stream");
  for (const [name, value] of Object.entries(object.customMetadata ?? {})) {
    setStored(headers, `x-amz-meta-${name}`, value);
  }
  headers.set("ETag", object.httpEtag);
  headers.set("Last-Modified", object.uploaded.toUTCString());
  headers.set("Accept-Ranges", "bytes");
  for (const [header, value] of overrides) headers.set(header, value);
  return headers;
}
