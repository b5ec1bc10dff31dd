import fc from "fast-check";
import { crc32, crcBytes } from "../../src/crc32";
import { xmlCharacterProblems } from "./xml-characters";

/**
 * Random S3 requests for the gateway fuzzers: in-process (test/fuzz.test.ts, against the
 * KeyVerifier model) and over HTTP (test/e2e/gateway-fuzz.test.ts, against the real API). A plan
 * names its bucket, key, upload and signer by role; each fuzzer turns roles into its own ids and
 * signs the plan its own way. Pure: fast-check and the gateway's CRC only.
 */

export type BucketRole = "mine" | "theirs" | "not-a-repo" | "none";
export type KeyRole = "writer" | "reader" | "theirs" | "unknown";
export type UploadRole = "mine" | "theirs" | "unknown";

export interface Signing {
  how: "header" | "presigned" | "none";
  key: KeyRole;
  /** A signature that does not match. */
  forged: boolean;
  /** Headers sent but left out of the signature. */
  unsigned: string[];
}

export interface Plan {
  method: string;
  bucket: BucketRole;
  /** The path after the bucket, percent-encoded as sent; "" for the bucket itself. */
  key: string;
  /** Raw name and value; an uploadId's value is an UploadRole until materialized. */
  query: [string, string | { upload: UploadRole }][];
  headers: [string, string][];
  body?: Uint8Array;
  /**
   * What a PutObject must store if it succeeds: the body, or an aws-chunked body's data;
   * undefined when the plan cannot tell (a random Content-Encoding: aws-chunked reframes it).
   */
  payload?: Uint8Array;
  /** Whether every hash, checksum and length the request states matches `payload`. */
  honest: boolean;
  signing: Signing;
}

const encoder = new TextEncoder();
const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const crc32Base64 = (bytes: Uint8Array) => base64(crcBytes(crc32(bytes)));

/** Keys that collide often, keys that need escaping, keys that must be refused. */
const KEYS = [
  "a.txt",
  "dir/b.bin",
  "dir/",
  "sp%20ace%2Bplus",
  "%C3%BCn%C3%AFc%C3%B6de",
  "x%26y%3Cz%3E%22%27",
  "nul%00key",
  "ctl%01key",
  "ffff%EF%BF%BFkey",
  "%E0%A4%A",
  "a/../b",
  "k".repeat(990),
];

const textValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom("", "0", "-1", "1", "2", "10000", "10001", "url", "/", "a/", "%", "\u0000"),
);

/** A query parameter name: ones that select or modify operations, and others. */
const queryName = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "list-type",
      "prefix",
      "delimiter",
      "max-keys",
      "continuation-token",
      "start-after",
      "encoding-type",
      "fetch-owner",
      "uploads",
      "uploadId",
      "partNumber",
      "versionId",
      "acl",
      "tagging",
      "delete",
      "x-id",
      "response-content-type",
      "response-content-disposition",
      "response-expires",
      "response-cache-control",
      "X-Amz-Content-Sha256",
      "x-amz-checksum-crc32",
      "x-amz-checksum-sha256",
      "x-amz-checksum-crc64nvme",
      "x-amz-checksum-algorithm",
    ),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 10 }) },
);

type QueryParameter = [string, string | { upload: UploadRole }];
const queryParameter: fc.Arbitrary<QueryParameter> = queryName.chain((name) =>
  name === "uploadId"
    ? fc
        .constantFrom<UploadRole>("mine", "theirs", "unknown")
        .map((upload): QueryParameter => [name, { upload }])
    : textValue.map((value): QueryParameter => [name, value]),
);

/** Header values a client can send (no CR, LF or NUL). */
const headerValue = fc
  .oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom(
      "text/html",
      "application/octet-stream",
      "gzip",
      "aws-chunked",
      "inline",
      'attachment; filename="x.html"',
      "max-age=0",
      "Wed, 21 Oct 2037 07:28:00 GMT",
      "Sat, 01 Jan 3000 00:00:00 GMT",
      "bytes=0-3",
      "bytes=-2",
      "bytes=5-1",
      '"0123456789abcdef0123456789abcdef"',
      "*",
      "AAAAAA==",
      "UNSIGNED-PAYLOAD",
      "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "x-amz-checksum-crc32",
      "constructor",
    ),
  )
  .filter((value) => /^[\t\u0020-\u007e]*$/.test(value));

/** Headers with no bearing on hashes: metadata and ranges mostly; conditions and oddities. */
const plainHeader: fc.Arbitrary<[string, string]> = fc.tuple(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        "content-type",
        "content-disposition",
        "content-encoding",
        "content-language",
        "cache-control",
        "expires",
        "range",
        "x-amz-meta-note",
        "x-fuzz",
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "x-amz-copy-source",
        "x-amz-checksum-algorithm",
        "x-amz-trailer",
        "x-amz-decoded-content-length",
        "x-amz-checksum-crc64nvme",
      ),
    },
  ),
  headerValue,
);

type Promise3 = "absent" | "right" | "wrong";
const promise3 = fc.constantFrom<Promise3>("absent", "absent", "right", "wrong");

/** The body and the hashes stated for it: plain, or aws-chunked with a CRC32 trailer. */
const bodyAndHashes = fc.record({
  payload: fc.uint8Array({ maxLength: 200 }),
  sha256: promise3,
  crc32: promise3,
  md5: promise3,
  chunked: fc.constantFrom<"no" | "right" | "wrong-trailer" | "wrong-length">(
    "no",
    "no",
    "no",
    "right",
    "wrong-trailer",
    "wrong-length",
  ),
  frame: fc.integer({ min: 1, max: 64 }),
});

const signing: fc.Arbitrary<Signing> = fc.record({
  how: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Signing["how"]>("header") },
    { weight: 3, arbitrary: fc.constant<Signing["how"]>("presigned") },
    { weight: 1, arbitrary: fc.constant<Signing["how"]>("none") },
  ),
  key: fc.oneof(
    { weight: 6, arbitrary: fc.constant<KeyRole>("writer") },
    { weight: 1, arbitrary: fc.constantFrom<KeyRole>("reader", "theirs", "unknown") },
  ),
  forged: fc.oneof(
    { weight: 7, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
  unsigned: fc.oneof(
    { weight: 3, arbitrary: fc.constant<string[]>([]) },
    {
      weight: 1,
      arbitrary: fc.subarray(["content-type", "x-amz-meta-note", "x-amz-checksum-crc32"]),
    },
  ),
});

/** What the digests of a body are, as each fuzzer's runtime computes them. */
export interface Digests {
  sha256Hex(bytes: Uint8Array): Promise<string>;
  md5Base64(bytes: Uint8Array): Promise<string>;
}

/** Another value of the same shape: base64 or hex, first character changed. */
const flip = (text: string) => {
  const other = /^[0-9a-f]/.test(text)
    ? text[0] === "0"
      ? "1"
      : "0"
    : text[0] === "A"
      ? "B"
      : "A";
  return `${other}${text.slice(1)}`;
};

/** aws-chunked framing of `data` in frames of `frame` bytes, then a CRC32 trailer. */
function awsChunked(data: Uint8Array, frame: number, trailer: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += frame) {
    const piece = data.subarray(at, at + frame);
    parts.push(encoder.encode(`${piece.length.toString(16)}\r\n`), piece, encoder.encode("\r\n"));
  }
  parts.push(encoder.encode(`0\r\nx-amz-checksum-crc32:${trailer}\r\n\r\n`));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const uploadRole = fc.constantFrom<UploadRole>("mine", "mine", "theirs", "unknown");

interface Operation {
  method: string;
  query: QueryParameter[];
  /** A bucket-level operation: the key is left out. */
  bucketLevel?: boolean;
}

/** Mostly the operations the gateway serves, well-formed; sometimes anything. */
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ method: "PUT", query: [] }) },
  { weight: 3, arbitrary: fc.constant({ method: "GET", query: [] }) },
  { weight: 2, arbitrary: fc.constant({ method: "HEAD", query: [] }) },
  { weight: 2, arbitrary: fc.constant({ method: "DELETE", query: [] }) },
  {
    weight: 2,
    arbitrary: fc
      .subarray(["prefix", "delimiter", "max-keys", "start-after", "encoding-type"])
      .chain((names) => fc.tuple(...names.map((name) => textValue.map((v) => [name, v]))))
      .map((pairs) => ({
        method: "GET",
        query: [["list-type", "2"], ...(pairs as [string, string][])],
        bucketLevel: true,
      })),
  },
  { weight: 1, arbitrary: fc.constant({ method: "HEAD", query: [], bucketLevel: true }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          "response-content-type",
          "response-content-disposition",
          "response-expires",
        ),
        fc.oneof(textValue, fc.constantFrom("a\r\nSet-Cookie: x=1", "text/html\u0000x")),
      )
      .map((pair) => ({ method: "GET", query: [pair] })),
  },
  { weight: 2, arbitrary: fc.constant({ method: "POST", query: [["uploads", ""]] }) },
  {
    weight: 2,
    arbitrary: fc.tuple(uploadRole, fc.integer({ min: -1, max: 10_001 })).map(([upload, n]) => ({
      method: "PUT",
      query: [
        ["partNumber", String(n)],
        ["uploadId", { upload }],
      ],
    })),
  },
  {
    weight: 2,
    arbitrary: uploadRole.map((upload) => ({ method: "POST", query: [["uploadId", { upload }]] })),
  },
  {
    weight: 2,
    arbitrary: uploadRole.map((upload) => ({
      method: "DELETE",
      query: [["uploadId", { upload }]],
    })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      method: fc.constantFrom("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"),
      query: fc.array(queryParameter, { maxLength: 4 }),
    }),
  },
) as fc.Arbitrary<Operation>;

/**
 * A random request's choices; `planOf` makes them a request plan (its hashes need a runtime's
 * digests). Kept as plain data so that a failure's counterexample reads as what was chosen.
 */
export const choices = fc.record({
  operation,
  /** Query parameters added to the operation's, now and then. */
  noise: fc.oneof(
    { weight: 10, arbitrary: fc.constant<QueryParameter[]>([]) },
    { weight: 1, arbitrary: fc.array(queryParameter, { minLength: 1, maxLength: 2 }) },
  ),
  bucket: fc.constantFrom<BucketRole>(
    ...(["mine", "mine", "mine", "mine", "mine", "mine", "theirs", "theirs"] as const),
    "not-a-repo",
    "none",
  ),
  key: fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...KEYS) },
    { weight: 1, arbitrary: fc.constant("") },
    {
      weight: 4,
      arbitrary: fc
        .string({ unit: "grapheme", minLength: 1, maxLength: 16 })
        .map((s) => s.split("/").map(encodeURIComponent).join("/")),
    },
  ),
  headers: fc.uniqueArray(plainHeader, { maxLength: 3, selector: ([name]) => name }),
  body: bodyAndHashes,
  complete: fc.option(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 10_001 }), fc.string({ maxLength: 34 })), {
      maxLength: 3,
    }),
    { freq: 4 },
  ),
  signing,
});

export type Choices = typeof choices extends fc.Arbitrary<infer T> ? T : never;

/** The R2 key the gateway reads from a URL, or "" when it names none. */
export function storageKeyOf(url: URL): string {
  const path = url.pathname.slice(1);
  const slash = path.indexOf("/");
  if (slash < 0) return "";
  try {
    return `${path.slice(0, slash)}/${decodeURIComponent(path.slice(slash + 1))}`;
  } catch {
    return "";
  }
}

/** The request plan `choices` make, with the digests of its body. */
export async function planOf(r: Choices, digests: Digests): Promise<Plan> {
  const { payload } = r.body;
  const headers: [string, string][] = [...r.headers];
  let body: Uint8Array | undefined = payload;
  // A CompleteMultipartUpload document, sometimes: its parts are rarely real.
  if (r.complete) {
    body = encoder.encode(
      `<CompleteMultipartUpload>${r.complete
        .map(([n, etag]) => `<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag></Part>`)
        .join("")}</CompleteMultipartUpload>`,
    );
  }
  const stored = body;
  let honest = true;
  const state = async (name: string, choice: Promise3, right: () => Promise<string>) => {
    if (choice === "absent") return;
    const value = await right();
    headers.push([name, choice === "right" ? value : flip(value)]);
    if (choice === "wrong") honest = false;
  };
  await state("x-amz-content-sha256", r.body.sha256, () => digests.sha256Hex(stored));
  await state("x-amz-checksum-crc32", r.body.crc32, async () => crc32Base64(stored));
  await state("content-md5", r.body.md5, () => digests.md5Base64(stored));
  if (r.body.chunked !== "no" && !r.complete) {
    const trailer = crc32Base64(payload);
    body = awsChunked(
      payload,
      r.body.frame,
      r.body.chunked === "wrong-trailer" ? flip(trailer) : trailer,
    );
    const declared = payload.length + (r.body.chunked === "wrong-length" ? 1 : 0);
    for (const [name, value] of [
      ["content-encoding", "aws-chunked"],
      ["x-amz-decoded-content-length", String(declared)],
      ["x-amz-trailer", "x-amz-checksum-crc32"],
    ] as const) {
      const at = headers.findIndex(([n]) => n === name);
      if (at >= 0) headers.splice(at, 1);
      headers.push([name, value]);
    }
    if (!headers.some(([n]) => n === "x-amz-content-sha256")) {
      headers.push(["x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"]);
    }
    if (r.body.chunked !== "right") honest = false;
  }
  const { method } = r.operation;
  return {
    method,
    bucket: r.bucket,
    key: r.operation.bucketLevel ? "" : r.key,
    query: [...r.operation.query, ...r.noise],
    headers,
    body: method === "GET" || method === "HEAD" ? undefined : body,
    payload: r.headers.some(([n, v]) => n === "content-encoding" && v.includes("aws-chunked"))
      ? undefined
      : stored,
    honest,
    signing: r.signing,
  };
}

/** Whether the plan's signer may do `access` on its bucket, as far as its signature goes. */
export function mayAccess(plan: Plan, access: "READ" | "WRITE"): boolean {
  const { how, key, forged, unsigned } = plan.signing;
  if (how === "none" || forged || key === "unknown") return false;
  if (
    unsigned.some((name) => name.startsWith("x-amz-") && plan.headers.some(([n]) => n === name))
  ) {
    return false;
  }
  const bucketOfKey = key === "theirs" ? "theirs" : "mine";
  // At "/" (no bucket), ListBuckets lists whichever bucket the key is for.
  if (plan.bucket !== bucketOfKey && plan.bucket !== "none") return false;
  return access === "READ" || key !== "reader";
}

/** The operation a request is, as far as the fuzzers' storage checks need to know. */
export function operationOf(method: string, query: URLSearchParams, key: string): string {
  if (key === "") return "bucket";
  if (method === "PUT")
    return query.has("partNumber") && query.has("uploadId") ? "UploadPart" : "PutObject";
  if (method === "POST") {
    if (query.has("uploads")) return "CreateMultipartUpload";
    return query.has("uploadId") ? "CompleteMultipartUpload" : "other";
  }
  if (method === "DELETE") return query.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
  return method === "GET" || method === "HEAD" ? "read" : "other";
}

/** An answer as both fuzzers see it. */
export interface FuzzAnswer {
  status: number;
  header(name: string): string | null;
  text: string;
}

const HEAD_CODES: Record<number, string> = { 501: "NotImplemented", 503: "SlowDown" };

const ERROR_XML =
  /^<\?xml version="1\.0" encoding="UTF-8"\?><Error><Code>([A-Za-z0-9]+)<\/Code><Message>[^<]*<\/Message><RequestId>([0-9A-F]{16})<\/RequestId><\/Error>$/;

/**
 * What is wrong with an answer: a 5xx (but the S3 codes in `allowed5xx`, NotImplemented's 501
 * and, over HTTP, SlowDown's 503), a 3xx but 304, an error that is not S3's XML with the request
 * id of its x-amz-request-id, XML a parser would refuse, a missing nosniff.
 */
export function answerProblems(method: string, answer: FuzzAnswer, allowed5xx: string[]): string[] {
  const problems: string[] = [];
  const requestId = answer.header("x-amz-request-id");
  if (!requestId || !/^[0-9A-F]{16}$/.test(requestId)) problems.push("no x-amz-request-id");
  if (answer.header("x-content-type-options") !== "nosniff") problems.push("no nosniff");
  const error = ERROR_XML.exec(answer.text);
  if (answer.status >= 300 && answer.status !== 304) {
    if (method === "HEAD") {
      if (answer.text !== "") problems.push("a HEAD error with a body");
    } else if (!error || answer.header("content-type") !== "application/xml") {
      problems.push(`a ${answer.status} that is not S3's XML error`);
    } else if (error[2] !== requestId) {
      problems.push("the error's RequestId is not x-amz-request-id");
    }
  }
  // A HEAD answer has no body to name its code: its status stands for it.
  const code = method === "HEAD" ? HEAD_CODES[answer.status] : error?.[1];
  if (answer.status >= 500 && !(code && allowed5xx.includes(code))) {
    problems.push(`server error ${answer.status}`);
  }
  if (answer.status >= 300 && answer.status < 400 && answer.status !== 304) {
    problems.push(`unexpected status ${answer.status}`);
  }
  if (answer.header("content-type") === "application/xml") {
    problems.push(...xmlCharacterProblems(answer.text));
  }
  return problems;
}

/** Objects by key, each with what tells one version from another. */
export type Snapshot = Map<string, string>;

/**
 * What is wrong with how storage changed: only a successful PutObject or
 * CompleteMultipartUpload may write (the request's key only, by a writer, with a body that kept
 * its promises), only a successful DeleteObject may remove (that key only).
 */
export function storageProblems(
  plan: Plan,
  operation: string,
  status: number,
  key: string,
  before: Snapshot,
  after: Snapshot,
): string[] {
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
    (k) => before.get(k) !== after.get(k),
  );
  const success = status >= 200 && status < 300;
  const problems: string[] = [];
  const writes = operation === "PutObject" || operation === "CompleteMultipartUpload";
  const may = success && (writes || operation === "DeleteObject") ? [key] : [];
  const strays = changed.filter((k) => !may.includes(k));
  if (strays.length > 0) problems.push(`stored state changed: ${strays.join(", ")}`);
  if (!success) return problems;
  const access = operation === "read" || operation === "bucket" ? "READ" : "WRITE";
  if (!mayAccess(plan, access)) problems.push(`a ${status} for a signer without ${access}`);
  if (writes && !plan.honest) problems.push(`a ${status} for a body that broke its promises`);
  if (writes && !after.has(key)) problems.push("a successful write stored nothing");
  if (operation === "DeleteObject" && after.has(key)) problems.push("a delete left the object");
  if (operation === "other") problems.push(`a ${status} for an operation not served`);
  return problems;
}
