import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { crc32, crcBytes } from "../src/crc32";
import { modelChunkSignature } from "./support/key-verifier-model.mjs";
import { BUCKET, codeOf, headerSigned, send, sha256Hex } from "./support/requests";

/**
 * Signed streaming uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]): the gateway parses
 * each chunk's `chunk-signature`, hashes its data, and has the verifier's chunk signer check the
 * chain (here the model's: support/key-verifier-model.mjs), 16 chunks per call and the rest at
 * the end, before the last piece reaches R2. A wrong link stores nothing.
 */

const KiB = 1024;
const encoder = new TextEncoder();
/** The model takes any 64 hex digits but "0"×64 as the request's (seed) signature. */
const SEED = "5".repeat(64);
const stored = (key: string) => env.BUCKET.get(`${BUCKET}/${key}`);

interface Framing {
  /** The chunk whose signature is made wrong (the last is the empty chunk). */
  wrongSignature?: number;
  /** The chunk whose first byte changes after signing. */
  changedData?: number;
  /** A signed x-amz-checksum-crc32 trailer; `wrong` signs it badly, `unsigned` leaves it unsigned. */
  trailer?: { wrong?: boolean; unsigned?: boolean };
  /** Leaves out a chunk's `;chunk-signature=`. */
  bareChunk?: number;
}

const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith("0") ? "1" : "0"}`;

/** `body` in 64 KiB chunks and the empty one, each signed over the one before by the model. */
async function signedChunked(body: Uint8Array, framing: Framing = {}) {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += 64 * KiB) chunks.push(body.subarray(at, at + 64 * KiB));
  chunks.push(new Uint8Array());
  const parts: Uint8Array[] = [];
  let previous = SEED;
  for (const [i, chunk] of chunks.entries()) {
    previous = await modelChunkSignature(previous, await sha256Hex(chunk));
    const signature = framing.wrongSignature === i ? flip(previous) : previous;
    const extension = framing.bareChunk === i ? "" : `;chunk-signature=${signature}`;
    const sent = framing.changedData === i ? chunk.map((b, at) => (at === 0 ? b ^ 1 : b)) : chunk;
    parts.push(encoder.encode(`${chunk.length.toString(16)}${extension}\r\n`), sent);
    if (!(framing.trailer && i === chunks.length - 1)) parts.push(encoder.encode("\r\n"));
  }
  if (framing.trailer) {
    const crc = btoa(String.fromCharCode(...crcBytes(crc32(body))));
    const line = `x-amz-checksum-crc32:${crc}`;
    const signature = await modelChunkSignature(previous, await sha256Hex(`${line}\n`), true);
    const signatureLine = framing.trailer.unsigned
      ? ""
      : `x-amz-trailer-signature:${framing.trailer.wrong ? flip(signature) : signature}\r\n`;
    parts.push(encoder.encode(`${line}\r\n${signatureLine}\r\n`));
  }
  const framed = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    framed.set(part, offset);
    offset += part.length;
  }
  return framed;
}

async function putSigned(key: string, body: Uint8Array, framing: Framing = {}, query = "") {
  const mode = framing.trailer
    ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    : "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  const framed = await signedChunked(body, framing);
  // In uneven pieces, so chunk boundaries fall anywhere within a read.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < framed.length; at += 9999) {
        controller.enqueue(framed.slice(at, at + 9999));
      }
      controller.close();
    },
  });
  return send(
    headerSigned("PUT", `/${BUCKET}/${key}${query}`, {
      headers: {
        "content-encoding": "aws-chunked",
        "x-amz-content-sha256": mode,
        "x-amz-decoded-content-length": String(body.length),
        "content-length": String(framed.length),
        ...(framing.trailer ? { "x-amz-trailer": "x-amz-checksum-crc32" } : {}),
      },
      body: stream,
    }),
  );
}

const randomBody = (length: number) => {
  const body = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) crypto.getRandomValues(body.subarray(at, at + 65536));
  return body;
};

describe("a PUT signed chunk by chunk", () => {
  it("stores exactly the decoded bytes, over more than one check of 16 chunks", async () => {
    const body = randomBody(1300 * KiB); // 21 chunks of data, then the empty one
    const response = await putSigned("signed/ok.bin", body);
    expect(response.status, await response.clone().text()).toBe(200);
    const object = await stored("signed/ok.bin");
    expect(await sha256Hex(new Uint8Array((await object?.arrayBuffer()) as ArrayBuffer))).toBe(
      await sha256Hex(body),
    );
  });

  it("a wrong chunk signature, early, late or on the closing empty chunk, is SignatureDoesNotMatch and stores nothing", async () => {
    await env.BUCKET.put(`${BUCKET}/signed/kept.txt`, "before");
    const body = randomBody(1300 * KiB);
    for (const wrongSignature of [0, 17, 20, 21]) {
      const response = await putSigned("signed/kept.txt", body, { wrongSignature });
      expect([response.status, await codeOf(response)], `chunk ${wrongSignature}`).toEqual([
        403,
        "SignatureDoesNotMatch",
      ]);
      expect(await (await stored("signed/kept.txt"))?.text()).toBe("before");
    }
  });

  it("a chunk changed after signing, or one without its chunk-signature, stores nothing", async () => {
    const body = randomBody(200 * KiB);
    for (const framing of [{ changedData: 1 }, { bareChunk: 2 }, { bareChunk: 4 }]) {
      const response = await putSigned("signed/never.bin", body, framing);
      expect([response.status, await codeOf(response)], JSON.stringify(framing)).toEqual([
        403,
        "SignatureDoesNotMatch",
      ]);
      expect(await stored("signed/never.bin")).toBeNull();
    }
  });

  it("with a signed checksum trailer: stored; a wrong or missing trailer signature stores nothing", async () => {
    const body = randomBody(150 * KiB);
    const response = await putSigned("signed/trailer.bin", body, { trailer: {} });
    expect(response.status, await response.clone().text()).toBe(200);
    expect((await stored("signed/trailer.bin"))?.size).toBe(body.length);
    for (const trailer of [{ wrong: true }, { unsigned: true }]) {
      const refused = await putSigned("signed/bad-trailer.bin", body, { trailer });
      expect([refused.status, await codeOf(refused)], JSON.stringify(trailer)).toEqual([
        403,
        "SignatureDoesNotMatch",
      ]);
      expect(await stored("signed/bad-trailer.bin")).toBeNull();
    }
  });

  it("UploadPart signed chunk by chunk stores the part", async () => {
    const created = await send(headerSigned("POST", `/${BUCKET}/signed/parts.bin?uploads`));
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await created.text())?.[1] as string;
    const query = `?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`;
    const wrong = await putSigned(
      "signed/parts.bin",
      randomBody(100 * KiB),
      { wrongSignature: 1 },
      query,
    );
    expect([wrong.status, await codeOf(wrong)]).toEqual([403, "SignatureDoesNotMatch"]);
    const part = await putSigned("signed/parts.bin", randomBody(100 * KiB), {}, query);
    expect(part.status).toBe(200);
    expect(part.headers.get("etag")).toMatch(/^".+"$/);
  });
});
