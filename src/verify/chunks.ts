import { RpcTarget } from "cloudflare:workers";
import { chunkStringToSign, signatureMatches, trailerStringToSign } from "./sigv4";

/** One link of a signed stream's chain, as the gateway read it off the aws-chunked body. */
export interface ChunkLink {
  /** Hex SHA-256 of the chunk's data, or of the trailer lines when `trailer`. */
  sha256: string;
  /** Its `chunk-signature` (or `x-amz-trailer-signature`). */
  signature: string;
  trailer?: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Where a signed stream's chain starts: the key that matched its seed signature, and the scope. */
export interface SignedStream {
  /** Verify-only, never extractable. */
  key: CryptoKey;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

/**
 * The chain of a signed streaming upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]), held
 * in the API Worker: the gateway gets a stub over RPC and sends each chunk's hash and signature,
 * in order, as many at a time as it likes; the signing key (verify-only, never extractable)
 * never leaves. A wrong link breaks the chain for good: every later call answers false.
 */
export class ChunkSigner extends RpcTarget {
  readonly #stream: SignedStream;
  #previous: string;
  #broken = false;
  #ended = false;

  constructor(stream: SignedStream) {
    super();
    this.#stream = stream;
    this.#previous = stream.seedSignature;
  }

  /**
   * Whether every link, taken in order after those verified before, is signed by the key. A
   * trailer link comes last; nothing follows it.
   */
  async verify(links: ChunkLink[]): Promise<boolean> {
    if (!Array.isArray(links)) return false;
    for (const link of links) {
      if (this.#broken) return false;
      const { sha256, signature, trailer } = (link ?? {}) as Partial<ChunkLink>;
      const malformed =
        typeof sha256 !== "string" ||
        typeof signature !== "string" ||
        !HEX64.test(sha256) ||
        !HEX64.test(signature);
      const toSign = malformed
        ? ""
        : (trailer ? trailerStringToSign : chunkStringToSign)(
            this.#stream.amzDate,
            this.#stream.scope,
            this.#previous,
            sha256 as string,
          );
      if (
        malformed ||
        this.#ended ||
        !(await signatureMatches(this.#stream.key, signature as string, toSign))
      ) {
        this.#broken = true;
        return false;
      }
      this.#previous = signature as string;
      if (trailer) this.#ended = true;
    }
    return true;
  }
}
