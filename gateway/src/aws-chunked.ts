import { S3Error } from "./errors";
import type { ChunkLink } from "./verify";

/**
 * Decodes S3's `Content-Encoding: aws-chunked` framing as bytes arrive, in any split:
 *
 *   <hex size>[;extensions]\r\n <size bytes> \r\n  … repeated …
 *   0\r\n  <trailer-name>:<value>\r\n …  \r\n
 *
 * Unsigned (STREAMING-UNSIGNED-PAYLOAD-TRAILER), chunk extensions are skipped. Signed
 * (`{ signed: true }`, STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]), every chunk must carry
 * `;chunk-signature=<64 hex>`; each chunk is hashed as it passes and `takeLinks` hands over the
 * finished chunks' hashes and signatures, for the API to check the chain. The trailer's own
 * `x-amz-trailer-signature` is kept apart from the trailers (`trailerLink`).
 */

const MAX_LINE = 4096;
const MAX_TRAILER_BYTES = 16_384;

type State = "size" | "data" | "data-end" | "trailer" | "done";

const malformed = (message: string) => new S3Error("IncompleteBody", message);
const CHUNK_SIGNATURE = /^;chunk-signature=([0-9a-f]{64})$/;
const TRAILER_SIGNATURE = "x-amz-trailer-signature";

const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** A signed chunk being read: its signature, and its data's SHA-256 as it passes. */
interface SignedChunk {
  signature: string;
  digest: DigestStream;
  writer: WritableStreamDefaultWriter<Uint8Array>;
}

export class AwsChunkedDecoder {
  #state: State = "size";
  /** Bytes of the line being read (a size line or a trailer line). */
  #line: number[] = [];
  #remaining = 0;
  /** Bytes of the "\r\n" after a chunk's data already seen. */
  #endSeen = 0;
  #trailerBytes = 0;
  readonly trailers = new Map<string, string>();
  readonly #signed: boolean;
  #chunk: SignedChunk | undefined;
  /** Signed chunks read to their end, not yet taken. */
  #finished: { signature: string; digest: Promise<ArrayBuffer> }[] = [];
  #trailerSignature: string | undefined;

  constructor(options: { signed?: boolean } = {}) {
    this.#signed = options.signed ?? false;
  }

  /** Signed chunks read to their end since the last call: how many `takeLinks` would give. */
  get finishedChunks(): number {
    return this.#finished.length;
  }

  /** The finished signed chunks' hashes and signatures, in order; each is handed over once. */
  async takeLinks(): Promise<ChunkLink[]> {
    const finished = this.#finished;
    this.#finished = [];
    return Promise.all(
      finished.map(async ({ signature, digest }) => ({ sha256: hex(await digest), signature })),
    );
  }

  /** After `end`: the trailer's signed link (SHA-256 of its `name:value\n` lines), if it has one. */
  async trailerLink(): Promise<ChunkLink | undefined> {
    if (this.#trailerSignature === undefined) return undefined;
    const lines = [...this.trailers].map(([name, value]) => `${name}:${value}\n`).join("");
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(lines));
    return { sha256: hex(digest), signature: this.#trailerSignature, trailer: true };
  }

  #startChunk(extensions: string | undefined) {
    if (!this.#signed) return;
    const signature = CHUNK_SIGNATURE.exec(extensions ?? "")?.[1];
    if (signature === undefined) {
      throw new S3Error("SignatureDoesNotMatch", "Every chunk must carry its chunk-signature.");
    }
    const digest = new crypto.DigestStream("SHA-256");
    const writer = digest.getWriter();
    // Failures surface through the digest, awaited in takeLinks.
    writer.closed.catch(() => {});
    this.#chunk = { signature, digest, writer };
  }

  #endChunk() {
    const chunk = this.#chunk;
    if (!chunk) return;
    chunk.writer.close().catch(() => {});
    this.#finished.push({ signature: chunk.signature, digest: chunk.digest.digest });
    this.#chunk = undefined;
  }

  /** Feeds the next raw bytes; returns the payload bytes among them (views of `bytes`). */
  push(bytes: Uint8Array): Uint8Array[] {
    const data: Uint8Array[] = [];
    let i = 0;
    while (i < bytes.length) {
      switch (this.#state) {
        case "data": {
          const take = Math.min(this.#remaining, bytes.length - i);
          const piece = bytes.subarray(i, i + take);
          data.push(piece);
          // Writes are queued in order; the digest is awaited once the chunk is finished.
          this.#chunk?.writer.write(piece.slice()).catch(() => {});
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) {
            this.#endChunk();
            this.#state = "data-end";
          }
          break;
        }
        case "data-end": {
          const expected = this.#endSeen === 0 ? 0x0d : 0x0a;
          if (bytes[i] !== expected) throw malformed("A chunk's data must end with CRLF.");
          i++;
          if (++this.#endSeen === 2) {
            this.#endSeen = 0;
            this.#state = "size";
          }
          break;
        }
        case "size":
        case "trailer": {
          const lf = bytes.indexOf(0x0a, i);
          const end = lf < 0 ? bytes.length : lf;
          for (let j = i; j < end; j++) this.#line.push(bytes[j] as number);
          if (this.#line.length > MAX_LINE) throw malformed("A chunk header line is too long.");
          i = end;
          if (lf >= 0) {
            i++;
            this.#endLine();
          }
          break;
        }
        case "done":
          throw malformed("The body continues after its final chunk.");
      }
    }
    return data;
  }

  /** The input ended: throws unless the body was complete. */
  end(): Map<string, string> {
    // Without a trailer, clients end right after "0\r\n" (AWS SDK v3 does).
    const complete =
      this.#state === "done" || (this.#state === "trailer" && this.#line.length === 0);
    if (!complete) throw malformed("The body ended before its final chunk.");
    this.#state = "done";
    return this.trailers;
  }

  #endLine() {
    const bytes = this.#line;
    if (bytes[bytes.length - 1] === 0x0d) bytes.pop();
    else throw malformed("Chunk header lines must end with CRLF.");
    const line = String.fromCharCode(...bytes);
    this.#line = [];
    if (this.#state === "size") {
      const [, size, extensions] = /^([0-9a-fA-F]{1,12})(;.*)?$/.exec(line) ?? [];
      if (size === undefined) throw malformed("A chunk size must be hexadecimal.");
      this.#startChunk(extensions);
      this.#remaining = Number.parseInt(size, 16);
      if (this.#remaining === 0) this.#endChunk();
      this.#state = this.#remaining === 0 ? "trailer" : "data";
      return;
    }
    if (line === "") {
      this.#state = "done";
      return;
    }
    this.#trailerBytes += line.length;
    const colon = line.indexOf(":");
    if (colon <= 0 || this.#trailerBytes > MAX_TRAILER_BYTES) {
      throw malformed("A trailer must be name:value.");
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (this.#signed && name === TRAILER_SIGNATURE) this.#trailerSignature = value;
    else this.trailers.set(name, value);
  }
}
