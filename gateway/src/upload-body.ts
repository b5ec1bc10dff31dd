import { AwsChunkedDecoder } from "./aws-chunked";
import { BodyVerifier, expectedDigestsOf } from "./checksums";
import { S3Error } from "./errors";
import type { ChunkLink, ChunkSigner, SignedParts } from "./verify";

/** S3's largest single PUT (and part): 5 GiB. */
export const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;

/**
 * How a request's body is framed (its headers) and what it must hash to (what its signature
 * covered, `signed`).
 */
export interface BodyPlan {
  /** The payload's length (decoded length for aws-chunked). */
  length: number;
  chunked: boolean;
  verifier: BodyVerifier;
  /** Signed streaming: every chunk's signature is checked through it, and the trailer's if `trailer`. */
  signedChunks?: { signer: ChunkSigner; trailer: boolean };
}

const STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
const STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";

/**
 * Signed chunks checked per call to the API: one RPC per 16 chunks (1 MiB at the usual 64 KiB),
 * and whatever remains at the end, before the last piece is let through.
 */
const CHUNKS_PER_CHECK = 16;

function signedChunksOf(signed: SignedParts): BodyPlan["signedChunks"] {
  const trailer = signed.payloadHash === STREAMING_SIGNED_TRAILER;
  if (signed.payloadHash !== STREAMING_SIGNED && !trailer) return undefined;
  if (!signed.chunkSigner) {
    // Only the binding can check chunks (an API older than this gateway, or over HTTP).
    throw new S3Error("NotImplemented", "Signed chunks cannot be verified here.");
  }
  return { signer: signed.chunkSigner, trailer };
}

async function checkChain(signer: ChunkSigner, links: ChunkLink[]): Promise<void> {
  if (links.length > 0 && !(await signer.verify(links))) {
    throw new S3Error(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided (a chunk's).",
    );
  }
}

function lengthOf(value: string | null, header: string): number {
  if (value === null) {
    throw new S3Error("MissingContentLength", `You must provide the ${header} HTTP header.`);
  }
  if (!/^\d{1,16}$/.test(value.trim())) {
    throw new S3Error("InvalidArgument", `${header} must be a whole number of bytes.`);
  }
  const length = Number(value.trim());
  if (length > MAX_UPLOAD_BYTES) {
    throw new S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.");
  }
  return length;
}

export function bodyPlanOf(request: Request, signed: SignedParts): BodyPlan {
  const headers = request.headers;
  const encodings = (headers.get("content-encoding") ?? "").split(",").map((e) => e.trim());
  const chunked = encodings.includes("aws-chunked") || signed.payloadHash.startsWith("STREAMING-");
  if (chunked) {
    const trailer = headers.get("x-amz-trailer")?.trim().toLowerCase() || undefined;
    return {
      length: lengthOf(headers.get("x-amz-decoded-content-length"), "x-amz-decoded-content-length"),
      chunked,
      verifier: new BodyVerifier(expectedDigestsOf(signed, headers, trailer)),
      signedChunks: signedChunksOf(signed),
    };
  }
  // A body sent with Transfer-Encoding: chunked and no length cannot be streamed into R2.
  const length =
    request.body === null ? 0 : lengthOf(headers.get("content-length"), "Content-Length");
  return { length, chunked, verifier: new BodyVerifier(expectedDigestsOf(signed, headers)) };
}

/**
 * Reads the body, decodes aws-chunked framing, hashes it, and hands each piece to `deliver`,
 * always one piece behind: the last piece is delivered only once every digest (the trailer's
 * too) has matched. A consumer that needs `length` bytes therefore never has them all unless
 * the body is verified. Throws S3Error for a body that breaks its promises.
 */
export async function readVerified(
  request: Request,
  plan: BodyPlan,
  deliver: (piece: Uint8Array) => Promise<void> | void,
): Promise<void> {
  const signedChunks = plan.signedChunks;
  const decoder = plan.chunked ? new AwsChunkedDecoder({ signed: !!signedChunks }) : undefined;
  let held: Uint8Array | undefined;
  let total = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch {
        throw new S3Error("IncompleteBody", "The request body ended before its length.");
      }
      if (read.done) break;
      // Copies: the pieces go on to other streams, which may take their buffers.
      const pieces = decoder ? decoder.push(read.value).map((p) => p.slice()) : [read.value];
      for (const piece of pieces) {
        if (piece.length === 0) continue;
        total += piece.length;
        if (total > plan.length) {
          throw new S3Error("InvalidRequest", "The body is longer than its declared length.");
        }
        await plan.verifier.update(piece);
        if (held) await deliver(held);
        held = piece;
      }
      if (signedChunks && decoder && decoder.finishedChunks >= CHUNKS_PER_CHECK) {
        await checkChain(signedChunks.signer, await decoder.takeLinks());
      }
    }
  }
  const trailers = decoder?.end();
  if (signedChunks && decoder) {
    const links = await decoder.takeLinks();
    const trailerLink = await decoder.trailerLink();
    // The chain must cover the trailers: signed in -TRAILER mode, absent otherwise.
    if (signedChunks.trailer ? !trailerLink : decoder.trailers.size > 0 || trailerLink) {
      throw new S3Error(
        "SignatureDoesNotMatch",
        signedChunks.trailer
          ? "The trailer must be signed (x-amz-trailer-signature)."
          : "Trailers are signed only with STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.",
      );
    }
    await checkChain(signedChunks.signer, trailerLink ? [...links, trailerLink] : links);
  }
  if (total !== plan.length) {
    throw new S3Error(
      "IncompleteBody",
      `You did not provide the number of bytes specified (${total} of ${plan.length}).`,
    );
  }
  await plan.verifier.verify(trailers);
  if (held) await deliver(held);
}

/**
 * Streams a verified body into R2 through `store` (a put or a part upload), never buffering it.
 * R2 is given a stream of exactly the declared length, and the last piece is held back until
 * the body has matched every digest: on a mismatch the stream is aborted short of its length,
 * R2 refuses the incomplete upload, and nothing is stored.
 */
export async function storeVerified<T>(
  request: Request,
  plan: BodyPlan,
  store: (value: ReadableStream | ArrayBuffer) => Promise<T>,
): Promise<T> {
  if (plan.length === 0) {
    await readVerified(request, plan, () => {});
    return store(new ArrayBuffer(0));
  }
  const sink = new FixedLengthStream(plan.length);
  const writer = sink.writable.getWriter();
  // Its rejection after an abort is expected and reported through `pumping`.
  writer.closed.catch(() => {});
  const storing = store(sink.readable);
  // R2 refusing early (metadata, a lost upload) must not leave the reader waiting on a write.
  storing.catch((error) => writer.abort(error).catch(() => {}));
  const pumping = readVerified(request, plan, (piece) => writer.write(piece)).then(
    () => writer.close(),
    async (error) => {
      await writer.abort(error).catch(() => {});
      throw error;
    },
  );
  const [stored, pumped] = await Promise.allSettled([storing, pumping]);
  if (pumped.status === "rejected" && pumped.reason instanceof S3Error) throw pumped.reason;
  if (stored.status === "rejected") throw stored.reason;
  return stored.value;
}

/** A small body (an XML document) read whole and verified; larger than `limit` is refused. */
export async function readSmallBody(
  request: Request,
  signed: SignedParts,
  limit: number,
): Promise<string> {
  const plan = bodyPlanOf(request, signed);
  if (plan.length > limit) {
    throw new S3Error("InvalidRequest", `The request body must be at most ${limit} bytes.`);
  }
  const bytes = new Uint8Array(plan.length);
  let at = 0;
  await readVerified(request, plan, (piece) => {
    bytes.set(piece, at);
    at += piece.length;
  });
  return new TextDecoder().decode(bytes);
}
