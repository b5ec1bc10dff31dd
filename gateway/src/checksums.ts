import { crc32, crc32c, crcBytes } from "./crc32";
import { S3Error } from "./errors";
import type { SignedParts } from "./verify";

/**
 * What a request's body must hash to, and the running digests that check it. The promises come
 * from what the signature covered, as the verifier read it (never guessed from headers): the
 * payload hash (`x-amz-content-sha256`, header or presigned query) and S3's flexible checksums
 * (`x-amz-checksum-*`, signed headers or presigned query), plus, for aws-chunked bodies, the
 * checksum trailer `x-amz-trailer` names. `Content-MD5` is checked whether signed or not: it can
 * only refuse a body, never change how one is stored or served.
 */

export type DigestAlgorithm = "crc32" | "crc32c" | "sha1" | "sha256" | "md5";

export interface ExpectedDigest {
  algorithm: DigestAlgorithm;
  /** The header (or trailer) it came from, for messages. */
  source: string;
  /** The digest's bytes; absent when a trailer will bring it. */
  expected?: Uint8Array;
  /** The error S3 answers when the body does not match. */
  mismatch: "BadDigest" | "XAmzContentSHA256Mismatch";
}

const CHECKSUM_SIZES: Record<string, [DigestAlgorithm, number]> = {
  "x-amz-checksum-crc32": ["crc32", 4],
  "x-amz-checksum-crc32c": ["crc32c", 4],
  "x-amz-checksum-sha1": ["sha1", 20],
  "x-amz-checksum-sha256": ["sha256", 32],
};
const UNSUPPORTED_CHECKSUMS = ["x-amz-checksum-crc64nvme"];

/** A checksum header's algorithm and size; undefined for any other name ("constructor" too). */
const checksumSpec = (name: string) =>
  Object.hasOwn(CHECKSUM_SIZES, name) ? CHECKSUM_SIZES[name] : undefined;

function fromBase64(value: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return undefined;
  try {
    return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function fromHex(value: string): Uint8Array {
  return Uint8Array.from(value.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/** A `x-amz-checksum-*` value, decoded and its size checked. */
export function checksumValue(name: string, value: string): Uint8Array {
  const [, size] = checksumSpec(name) ?? [];
  const bytes = fromBase64(value.trim());
  if (!bytes || bytes.length !== size) {
    throw new S3Error("InvalidRequest", `Value for ${name} header is invalid.`);
  }
  return bytes;
}

/** "x-amz-checksum-crc32" for "crc32" or "x-amz-checksum-crc32", lower-case. */
const checksumName = (name: string) => {
  const lower = name.toLowerCase();
  return lower.startsWith("x-amz-checksum-") ? lower : `x-amz-checksum-${lower}`;
};

/**
 * The digests a request promises for its body: what its signature covered (`signed`), the
 * trailer named in `x-amz-trailer` (aws-chunked bodies only; its value arrives after the data)
 * and `Content-MD5`.
 */
export function expectedDigestsOf(
  signed: SignedParts,
  headers: Headers,
  trailer?: string,
): ExpectedDigest[] {
  const expected: ExpectedDigest[] = [];
  if (/^[0-9a-f]{64}$/.test(signed.payloadHash)) {
    expected.push({
      algorithm: "sha256",
      source: "x-amz-content-sha256",
      expected: fromHex(signed.payloadHash),
      mismatch: "XAmzContentSHA256Mismatch",
    });
  }
  const checksums = Object.entries(signed.checksums).map(
    ([name, value]) => [checksumName(name), value] as const,
  );
  for (const name of UNSUPPORTED_CHECKSUMS) {
    if (checksums.some(([signedName]) => signedName === name) || trailer === name) {
      throw new S3Error(
        "NotImplemented",
        `${name} is not supported; use CRC32, CRC32C, SHA1 or SHA256.`,
      );
    }
  }
  // Other x-amz-checksum-* names (-algorithm, -type, -mode) describe, they do not promise.
  for (const [name, value] of checksums) {
    const known = checksumSpec(name);
    if (known) {
      expected.push({
        algorithm: known[0],
        source: name,
        expected: checksumValue(name, value),
        mismatch: "BadDigest",
      });
    }
  }
  if (trailer !== undefined) {
    const known = checksumSpec(trailer);
    if (!known) throw new S3Error("InvalidRequest", `The trailer ${trailer} is not supported.`);
    expected.push({ algorithm: known[0], source: trailer, mismatch: "BadDigest" });
  }
  const md5 = headers.get("content-md5");
  if (md5 !== null) {
    const bytes = fromBase64(md5.trim());
    if (bytes?.length !== 16) {
      throw new S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.");
    }
    expected.push({
      algorithm: "md5",
      source: "Content-MD5",
      expected: bytes,
      mismatch: "BadDigest",
    });
  }
  return expected;
}

interface RunningDigest {
  update(bytes: Uint8Array): void | Promise<void>;
  digest(): Promise<Uint8Array>;
}

function crcDigest(crcOf: (bytes: Uint8Array, crc: number) => number): RunningDigest {
  let crc = 0;
  return {
    update: (bytes) => {
      crc = crcOf(bytes, crc);
    },
    digest: async () => crcBytes(crc),
  };
}

/** SHA and MD5 through workerd's DigestStream: the body is hashed as it passes, never held. */
function streamDigest(algorithm: "SHA-1" | "SHA-256" | "MD5"): RunningDigest {
  const stream = new crypto.DigestStream(algorithm);
  const writer = stream.getWriter();
  return {
    update: (bytes) => writer.write(bytes),
    digest: async () => {
      await writer.close();
      return new Uint8Array(await stream.digest);
    },
  };
}

const DIGESTS: Record<DigestAlgorithm, () => RunningDigest> = {
  crc32: () => crcDigest(crc32),
  crc32c: () => crcDigest(crc32c),
  sha1: () => streamDigest("SHA-1"),
  sha256: () => streamDigest("SHA-256"),
  md5: () => streamDigest("MD5"),
};

const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

const NAMES: Record<DigestAlgorithm, string> = {
  crc32: "CRC32",
  crc32c: "CRC32C",
  sha1: "SHA1",
  sha256: "SHA256",
  md5: "Content-MD5",
};

/** Hashes a body as it passes and checks it against what the request promised. */
export class BodyVerifier {
  readonly #running = new Map<DigestAlgorithm, RunningDigest>();

  constructor(readonly expected: ExpectedDigest[]) {
    for (const { algorithm } of expected) {
      if (!this.#running.has(algorithm)) this.#running.set(algorithm, DIGESTS[algorithm]());
    }
  }

  async update(bytes: Uint8Array): Promise<void> {
    for (const digest of this.#running.values()) await digest.update(bytes);
  }

  /** Throws the S3 error for the first promise the body broke; `trailers` from aws-chunked. */
  async verify(trailers: Map<string, string> = new Map()): Promise<void> {
    const actual = new Map<DigestAlgorithm, Uint8Array>();
    for (const [algorithm, digest] of this.#running) actual.set(algorithm, await digest.digest());
    for (const { algorithm, source, expected, mismatch } of this.expected) {
      let wanted = expected;
      if (!wanted) {
        const value = trailers.get(source);
        if (value === undefined) {
          throw new S3Error(
            "IncompleteBody",
            `The trailer ${source} named in x-amz-trailer is missing.`,
          );
        }
        wanted = checksumValue(source, value);
      }
      if (!sameBytes(wanted, actual.get(algorithm) as Uint8Array)) {
        throw new S3Error(
          mismatch,
          mismatch === "XAmzContentSHA256Mismatch"
            ? "The provided 'x-amz-content-sha256' header does not match what was computed."
            : `The ${NAMES[algorithm]} you specified (${source}) did not match the calculated checksum.`,
        );
      }
    }
  }
}
