import { describe, expect, it } from "vitest";
import { AwsChunkedDecoder } from "../src/aws-chunked";

const encoder = new TextEncoder();
const decoderText = new TextDecoder();

/** The body AWS SDK v3 sends for a stream: one frame per piece, "0", the trailer, CRLF. */
function framed(pieces: string[], trailer = "x-amz-checksum-crc32:NSRBwg==\r\n\r\n"): Uint8Array {
  const frames = pieces.map((p) => `${encoder.encode(p).length.toString(16)}\r\n${p}\r\n`);
  return encoder.encode(`${frames.join("")}0\r\n${trailer}`);
}

/** Feeds `body` to a decoder in the given slices; the payload and trailers it gives back. */
function decode(body: Uint8Array, cuts: number[] = []) {
  const decoder = new AwsChunkedDecoder();
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts, body.length]) {
    out.push(...decoder.push(body.subarray(at, cut)));
    at = cut;
  }
  const trailers = decoder.end();
  const joined = new Uint8Array(out.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const piece of out) {
    joined.set(piece, offset);
    offset += piece.length;
  }
  return { payload: decoderText.decode(joined), trailers: Object.fromEntries(trailers) };
}

describe("aws-chunked decoding", () => {
  const body = framed(["hello, ", "chunked ", "world"]);

  it("gives back the payload and the trailing checksum", () => {
    expect(decode(body)).toEqual({
      payload: "hello, chunked world",
      trailers: { "x-amz-checksum-crc32": "NSRBwg==" },
    });
  });

  it("gives the same wherever the input is split: every single cut and every two cuts", () => {
    const expected = decode(body);
    for (let a = 0; a <= body.length; a++) {
      expect(decode(body, [a])).toEqual(expected);
      for (let b = a; b <= body.length; b += 3) expect(decode(body, [a, b])).toEqual(expected);
    }
  });

  it("one byte at a time", () => {
    const cuts = Array.from({ length: body.length }, (_, i) => i);
    expect(decode(body, cuts).payload).toBe("hello, chunked world");
  });

  it("accepts a body that ends right after the 0-size chunk (no trailer), and chunk extensions", () => {
    expect(decode(encoder.encode("5;chunk-signature=abc\r\nhello\r\n0\r\n")).payload).toBe("hello");
    expect(decode(framed(["x"], "\r\n")).trailers).toEqual({});
  });

  it("a hexadecimal size over 9 reads as hex", () => {
    const payload = "a".repeat(0x1f);
    expect(decode(framed([payload])).payload).toBe(payload);
  });

  it.each([
    ["a size that is not hex", "zz\r\nhello\r\n0\r\n\r\n", "hexadecimal"],
    ["data that does not end with CRLF", "5\r\nhelloXX0\r\n\r\n", "CRLF"],
    ["a body that ends inside a chunk", "5\r\nhel", "ended"],
    ["a body that ends inside the trailer", "0\r\nx-amz-checksum-crc32:AA", "ended"],
    ["bytes after the final CRLF", "0\r\n\r\nmore", "continues"],
    ["a trailer without a colon", "0\r\nnonsense\r\n\r\n", "name:value"],
  ])("refuses %s (IncompleteBody)", (_, text, message) => {
    expect(() => decode(encoder.encode(text))).toThrow(
      expect.objectContaining({
        code: "IncompleteBody",
        message: expect.stringContaining(message),
      }),
    );
  });
});
