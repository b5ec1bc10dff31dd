/** S3's error codes this gateway answers with, and the status S3 gives each. */
const STATUS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  BadDigest: 400,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  ExpiredToken: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidDigest: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidToken: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchBucketPolicy: 404,
  NoSuchCORSConfiguration: 404,
  NoSuchLifecycleConfiguration: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
} as const;

export type S3ErrorCode = keyof typeof STATUS;

export const isS3ErrorCode = (code: string): code is S3ErrorCode => Object.hasOwn(STATUS, code);

/** The one error the gateway throws; `errorResponse` turns it into S3's XML. */
export class S3Error extends Error {
  override name = "S3Error";
  readonly status: number;

  constructor(
    readonly code: S3ErrorCode,
    message: string,
    /** Headers the answer must carry, such as a 416's `Content-Range`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

const XML_SPECIALS: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/**
 * Text as XML element content. Control characters XML 1.0 can carry (CR) are written as
 * character references; those it cannot carry at all, even as references (NUL and the other C0
 * controls, U+FFFE, U+FFFF, a lone surrogate), become U+FFFD, so every document is well-formed.
 * Keys cannot hold them (route.ts); clients that need exact bytes ask for EncodingType=url.
 */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"'\r]|[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu,
    (c) => XML_SPECIALS[c] ?? (c === "\r" ? "&#xD;" : "\ufffd"),
  );
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** S3's error document; a HEAD answer has the status and headers only. */
export function errorResponse(error: S3Error, method: string, requestId: string): Response {
  const headers = new Headers(error.headers);
  if (method === "HEAD") return new Response(null, { status: error.status, headers });
  headers.set("Content-Type", "application/xml");
  // S3 sends its errors as they are; left to the runtime, a client that asked for gzip (rclone
  // does, and then cannot read it) would get the XML compressed.
  headers.set("Content-Encoding", "identity");
  const body =
    `${XML_DECLARATION}<Error><Code>${error.code}</Code>` +
    `<Message>${escapeXml(error.message)}</Message>` +
    `<RequestId>${requestId}</RequestId></Error>`;
  return new Response(body, { status: error.status, headers });
}

/** R2's error numbers (the "(10024)" ending its messages), as the S3 error they mean here. */
const R2_ERRORS: Record<string, [S3ErrorCode, string]> = {
  "10007": ["NoSuchKey", "The specified key does not exist."],
  "10011": ["EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size."],
  "10012": ["MetadataTooLarge", "Your metadata headers exceed the maximum allowed size."],
  "10020": ["InvalidArgument", "The specified object name is not valid."],
  "10024": ["NoSuchUpload", "The specified multipart upload does not exist."],
  "10025": ["InvalidPart", "One or more of the specified parts could not be found."],
  "10029": ["InvalidArgument", "An argument is invalid."],
  "10031": ["PreconditionFailed", "At least one of the preconditions you specified did not hold."],
  "10037": ["BadDigest", "The checksum you specified did not match what we received."],
  "10039": ["InvalidRange", "The requested range is not satisfiable."],
  // R2 needs every part but the last to be the same size (S3 does not).
  "10048": [
    "InvalidPart",
    "Every part but the last must have the same size, and the last no larger.",
  ],
  "100100": ["EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size."],
};

/**
 * An R2 binding's error as the S3 error it stands for; anything else is returned as is. `meant`
 * adds what a number means for one call (R2 answers some calls' refusals with 10001).
 */
export function fromR2Error(
  error: unknown,
  meant: Record<string, [S3ErrorCode, string]> = {},
): unknown {
  if (!(error instanceof Error)) return error;
  const number = /\((\d+)\)\s*$/.exec(error.message)?.[1];
  if (number === undefined) return error;
  const known = Object.hasOwn(meant, number)
    ? meant[number]
    : Object.hasOwn(R2_ERRORS, number)
      ? R2_ERRORS[number]
      : undefined;
  return known ? new S3Error(known[0], known[1]) : error;
}
