import { S3Error } from "./errors";

/** The S3 operations this gateway serves. */
export type OperationName =
  | "ListObjectsV2"
  | "ListObjects"
  | "ListBuckets"
  | "CreateBucket"
  | "GetBucketLocation"
  | "GetBucketVersioning"
  | "GetBucketAcl"
  | "GetBucketPolicy"
  | "GetBucketCors"
  | "GetBucketLifecycleConfiguration"
  | "GetBucketRequestPayment"
  | "GetObjectTagging"
  | "GetObjectAcl"
  | "DeleteObjects"
  | "ListMultipartUploads"
  | "ListParts"
  | "HeadBucket"
  | "GetObject"
  | "HeadObject"
  | "PutObject"
  | "DeleteObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "CopyObject"
  | "UploadPartCopy";

export interface Route {
  operation: OperationName;
  /** The bucket: a repository id. */
  bucket: string;
  /** The object key, percent-decoded; "" for bucket operations. */
  key: string;
  /** Whether the host named the bucket (`<bucket>.<S3_VIRTUAL_HOST_SUFFIX>`) rather than the path. */
  virtualHosted: boolean;
  access: "READ" | "WRITE";
  query: URLSearchParams;
}

interface Rule {
  operation: OperationName;
  /** Query parameters that select the operation (all must be present). */
  selects: string[];
  /** Other query parameters it accepts. */
  accepts?: string[];
}

const RESPONSE_OVERRIDES = [
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "response-content-language",
  "response-content-type",
  "response-expires",
];

/** Per method and level, the operations in the order they are tried (most specific first). */
const BUCKET_RULES: Record<string, Rule[]> = {
  GET: [
    {
      operation: "ListObjectsV2",
      selects: ["list-type"],
      accepts: [
        "prefix",
        "delimiter",
        "max-keys",
        "continuation-token",
        "start-after",
        "encoding-type",
        "fetch-owner",
      ],
    },
    // What tools ask about a bucket before their real work (buckets.ts).
    { operation: "GetBucketLocation", selects: ["location"] },
    { operation: "GetBucketVersioning", selects: ["versioning"] },
    { operation: "GetBucketAcl", selects: ["acl"] },
    { operation: "GetBucketPolicy", selects: ["policy"] },
    { operation: "GetBucketCors", selects: ["cors"] },
    { operation: "GetBucketLifecycleConfiguration", selects: ["lifecycle"] },
    { operation: "GetBucketRequestPayment", selects: ["requestPayment"] },
    {
      operation: "ListMultipartUploads",
      selects: ["uploads"],
      accepts: [
        "prefix",
        "delimiter",
        "key-marker",
        "upload-id-marker",
        "max-uploads",
        "encoding-type",
      ],
    },
    {
      operation: "ListObjects",
      selects: [],
      accepts: ["prefix", "delimiter", "marker", "max-keys", "encoding-type"],
    },
  ],
  HEAD: [{ operation: "HeadBucket", selects: [] }],
  PUT: [{ operation: "CreateBucket", selects: [] }],
  POST: [{ operation: "DeleteObjects", selects: ["delete"] }],
};

/** At `/`, no bucket named. */
const ROOT_RULES: Record<string, Rule[]> = {
  GET: [
    {
      operation: "ListBuckets",
      selects: [],
      accepts: ["max-buckets", "continuation-token", "prefix", "bucket-region"],
    },
  ],
};

const OBJECT_RULES: Record<string, Rule[]> = {
  GET: [
    { operation: "GetObjectTagging", selects: ["tagging"] },
    { operation: "GetObjectAcl", selects: ["acl"] },
    {
      operation: "ListParts",
      selects: ["uploadId"],
      accepts: ["max-parts", "part-number-marker", "encoding-type"],
    },
    { operation: "GetObject", selects: [], accepts: RESPONSE_OVERRIDES },
  ],
  HEAD: [{ operation: "HeadObject", selects: [], accepts: RESPONSE_OVERRIDES }],
  PUT: [
    { operation: "UploadPart", selects: ["partNumber", "uploadId"] },
    { operation: "PutObject", selects: [] },
  ],
  POST: [
    { operation: "CreateMultipartUpload", selects: ["uploads"] },
    { operation: "CompleteMultipartUpload", selects: ["uploadId"] },
  ],
  DELETE: [
    { operation: "AbortMultipartUpload", selects: ["uploadId"] },
    { operation: "DeleteObject", selects: [] },
  ],
};

const READS = new Set<OperationName>([
  "ListObjectsV2",
  "ListObjects",
  "ListBuckets",
  "HeadBucket",
  "GetBucketLocation",
  "GetBucketVersioning",
  "GetBucketAcl",
  "GetBucketPolicy",
  "GetBucketCors",
  "GetBucketLifecycleConfiguration",
  "GetBucketRequestPayment",
  "GetObjectTagging",
  "GetObjectAcl",
  "ListMultipartUploads",
  "ListParts",
  "GetObject",
  "HeadObject",
]);

/** Repository ids are lower-case UUIDs; nothing else names a bucket here. */
const BUCKET_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Operations that make an object under the request's key. */
const WRITES = new Set<OperationName>([
  "PutObject",
  "CreateMultipartUpload",
  "UploadPart",
  "CompleteMultipartUpload",
  "CopyObject",
  "UploadPartCopy",
]);

/**
 * Characters XML 1.0 cannot carry, not even as a character reference: NUL and the other C0
 * controls but tab, LF and CR, and U+FFFE, U+FFFF. A key holding one could not be listed in a
 * well-formed document.
 */
const NOT_IN_XML = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

/** R2 keys are at most 1024 bytes, and ours start with "<repo id>/". */
export const MAX_KEY_BYTES = 1024 - 37;

/**
 * Parameters any request may carry: a presigned URL's (X-Amz-Signature…, and the headers the
 * SDK hoists into it, such as x-amz-checksum-crc32), and the SDK's operation marker.
 */
const isAlwaysAccepted = (name: string) => /^x-amz-/i.test(name) || name === "x-id";

const notImplemented = (what: string) =>
  new S3Error("NotImplemented", `${what} is not implemented by this gateway.`);

/**
 * The bucket a virtual-hosted request names: "<bucket>.<suffix>" (S3_VIRTUAL_HOST_SUFFIX);
 * undefined for the suffix itself and any other host, which are path-style.
 */
function bucketOfHost(hostname: string, suffix: string): string | undefined {
  const host = hostname.toLowerCase();
  const domain = `.${suffix.toLowerCase().replace(/^\.+|\.+$/g, "")}`;
  if (!host.endsWith(domain) || host.length === domain.length) return undefined;
  return host.slice(0, -domain.length);
}

/**
 * Which operation a request is, from its method, path (path-style: /{bucket}/{key}) and query.
 * Anything this gateway does not serve is NotImplemented, a query parameter it would ignore
 * included (`?versionId=`, `?tagging`, …): answering another operation as if it were the plain
 * one would be wrong. A PUT with `x-amz-copy-source` is a copy (CopyObject, UploadPartCopy).
 */
export function routeOf(
  method: string,
  url: URL,
  headers: Headers,
  virtualHostSuffix?: string,
): Route {
  const path = url.pathname.slice(1);
  const hosted = virtualHostSuffix ? bucketOfHost(url.hostname, virtualHostSuffix) : undefined;
  const slash = path.indexOf("/");
  // Virtual-hosted style names the bucket in the host and the whole path is the key.
  const bucket = hosted ?? (slash < 0 ? path : path.slice(0, slash));
  const keyPath = hosted !== undefined ? path : slash < 0 ? "" : path.slice(slash + 1);
  let key: string;
  try {
    key = decodeURIComponent(keyPath);
  } catch {
    throw new S3Error("InvalidURI", "Couldn't parse the specified URI.");
  }
  const rules =
    (bucket === "" ? ROOT_RULES : key === "" ? BUCKET_RULES : OBJECT_RULES)[method] ?? [];
  const names = [...new Set(url.searchParams.keys())];
  const rule = rules.find((r) => r.selects.every((name) => url.searchParams.has(name)));
  const unknown = names.filter(
    (name) =>
      !isAlwaysAccepted(name) && !rule?.selects.includes(name) && !rule?.accepts?.includes(name),
  );
  if (!rule || unknown.length > 0) {
    const what = `${method} ${key === "" ? "on a bucket" : "on an object"}`;
    throw notImplemented(unknown.length > 0 ? `${what} with ?${unknown.join("&")}` : what);
  }
  // A PUT naming a source is its copying twin; no other operation copies.
  const copies = { PutObject: "CopyObject", UploadPart: "UploadPartCopy" } as const;
  let operation = rule.operation;
  if (headers.has("x-amz-copy-source")) {
    if (operation !== "PutObject" && operation !== "UploadPart") {
      throw notImplemented(`${operation} with x-amz-copy-source`);
    }
    operation = copies[operation];
  }
  // A conditional write must not quietly become an unconditional one.
  if (!READS.has(rule.operation) && (headers.has("if-match") || headers.has("if-none-match"))) {
    throw notImplemented("A conditional write (If-Match, If-None-Match)");
  }
  if (rule.operation !== "ListBuckets" && !BUCKET_NAME.test(bucket)) {
    if (rule.operation === "CreateBucket") {
      throw new S3Error("AccessDenied", "Buckets are repositories, made through the API.");
    }
    throw new S3Error("NoSuchBucket", "The specified bucket does not exist.");
  }
  if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) {
    throw new S3Error("KeyTooLongError", `Your key is longer than ${MAX_KEY_BYTES} bytes.`);
  }
  // Refused when written rather than encoded when listed: a key only EncodingType=url could list
  // would break every client that lists without it.
  if (WRITES.has(operation) && NOT_IN_XML.test(key)) {
    throw new S3Error(
      "InvalidArgument",
      "Object key contains characters not allowed (control characters, U+FFFE, U+FFFF).",
    );
  }
  return {
    operation,
    bucket,
    key,
    virtualHosted: hosted !== undefined,
    // A copy reads its source and writes its target: WRITE covers READ.
    access: READS.has(operation) ? "READ" : "WRITE",
    query: url.searchParams,
  };
}
