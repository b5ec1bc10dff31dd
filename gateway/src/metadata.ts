/** Object metadata between S3 headers and R2: standard HTTP metadata and x-amz-meta-*. */

/** What a PutObject or CreateMultipartUpload asks to store with the object. */
export function metadataOf(headers: Headers): {
  httpMetadata: R2HTTPMetadata;
  customMetadata: Record<string, string>;
} {
  const httpMetadata: R2HTTPMetadata = {};
  const contentType = headers.get("content-type");
  if (contentType) httpMetadata.contentType = contentType;
  // aws-chunked is the upload's framing, not the object's encoding.
  const encoding = (headers.get("content-encoding") ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "" && e !== "aws-chunked")
    .join(",");
  if (encoding) httpMetadata.contentEncoding = encoding;
  const language = headers.get("content-language");
  if (language) httpMetadata.contentLanguage = language;
  const disposition = headers.get("content-disposition");
  if (disposition) httpMetadata.contentDisposition = disposition;
  const cacheControl = headers.get("cache-control");
  if (cacheControl) httpMetadata.cacheControl = cacheControl;
  const expires = headers.get("expires");
  if (expires && !Number.isNaN(Date.parse(expires))) httpMetadata.cacheExpiry = new Date(expires);

  const customMetadata: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith("x-amz-meta-")) customMetadata[name.slice("x-amz-meta-".length)] = value;
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

/** GetObject's and HeadObject's headers for an object, with `response-*` overrides applied. */
export function objectHeaders(object: R2Object, query: URLSearchParams): Headers {
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  if (!headers.has("Content-Type")) headers.set("Content-Type", "binary/octet-stream");
  for (const [name, value] of Object.entries(object.customMetadata ?? {})) {
    headers.set(`x-amz-meta-${name}`, value);
  }
  headers.set("ETag", object.httpEtag);
  headers.set("Last-Modified", object.uploaded.toUTCString());
  headers.set("Accept-Ranges", "bytes");
  for (const [parameter, header] of OVERRIDES) {
    const value = query.get(parameter);
    if (value !== null) headers.set(header, value);
  }
  return headers;
}
