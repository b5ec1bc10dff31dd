import { S3Error } from "./errors";

/**
 * Decodes S3's `Content-Encoding: aws-chunked` framing as bytes arrive, in any split:
 *
 *   <hex size>[;extensions]\r\n <size bytes> \r\n  … repeated …
 *   0\r\n  <trailer-name>:<value>\r\n …  \r\n
 *
 * Chunk extensions (`;chunk-signature=…` of signed streaming) are skipped: verification only
 * accepts unsigned payloads, so no chunk signature is ever relied on.
 */

const MAX_LINE = 4096;
const MAX_TRAILER_BYTES = 16_384;

type State = "size" | "data" | "data-end" | "trailer" | "done";

const malformed = (message: string) => new S3Error("IncompleteBody", message);

export class AwsChunkedDecoder {
  #state: State = "size";
  /** Bytes of the line being read (a size line or a trailer line). */
  #line: number[] = [];
  #remaining = 0;
  /** Bytes of the "\r\n" after a chunk's data already seen. */
  #endSeen = 0;
  #trailerBytes = 0;
  readonly trailers = new Map<string, string>();

  /** Feeds the next raw bytes; returns the payload bytes among them (views of `bytes`). */
  push(bytes: Uint8Array): Uint8Array[] {
    const data: Uint8Array[] = [];
    let i = 0;
    while (i < bytes.length) {
      switch (this.#state) {
        case "data": {
          const take = Math.min(this.#remaining, bytes.length - i);
          data.push(bytes.subarray(i, i + take));
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = "data-end";
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
      const size = /^([0-9a-fA-F]{1,12})(;.*)?$/.exec(line)?.[1];
      if (size === undefined) throw malformed("A chunk size must be hexadecimal.");
      this.#remaining = Number.parseInt(size, 16);
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
    this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
}
