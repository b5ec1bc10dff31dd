import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BodyVerifier, expectedDigestsOf } from "../src/checksums";
import { crc32, crcBytes } from "../src/crc32";
import { bodyPlanOf, readVerified, storeVerified } from "../src/upload-body";
import type { SignedParts } from "../src/verify";
import { allSigned } from "./support/signed";

const encoder = new TextEncoder();

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A PUT whose body arrives in exactly these pieces. */
function put(pieces: Uint8Array[], headers: Record<string, string>): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(piece);
      controller.close();
    },
  });
  return new Request("https://s3.example/b/k", { method: "PUT", headers, body });
}

/** Cuts bytes into pieces at the given offsets. */
const cut = (bytes: Uint8Array, at: number[]) =>
  [0, ...at].map((start, i) => bytes.subarray(start, at[i] ?? bytes.length));

/** aws-chunked framing of `data` in frames of `frame` bytes, then the trailer. */
function awsChunked(data: Uint8Array, frame: number, trailer: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += frame) {
    const piece = data.subarray(at, at + frame);
    parts.push(encoder.encode(`${piece.length.toString(16)}\r\n`), piece, encoder.encode("\r\n"));
  }
  parts.push(encoder.encode(`0\r\n${trailer}\r\n\r\n`));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The trailer value a client would send (the CRC module is tested against vectors). */
const crc32Base64 = (data: Uint8Array) => btoa(String.fromCharCode(...crcBytes(crc32(data))));

/** Random bytes (getRandomValues fills at most 64 KiB at a time). */
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65_536)
    crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
}

/** The digests a header-signed request that signed all its headers promises. */
const digestsOf = (headers: Headers) => expectedDigestsOf(allSigned(headers), headers);

/** How PutObject reads a request that signed all its headers. */
const planOf = (request: Request) => bodyPlanOf(request, allSigned(request.headers));

/** Stores through the gateway's verifying path, as PutObject does. */
const store = (request: Request, key: string) =>
  storeVerified(request, planOf(request), (value) => env.BUCKET.put(key, value));

const stored = async (key: string) => {
  const object = await env.BUCKET.get(key);
  return object ? new Uint8Array(await object.arrayBuffer()) : null;
};

describe("the digests a request promises", () => {
  it("checks SHA-256, SHA-1, MD5, CRC32 and CRC32C against known values of 'abc'", async () => {
    const headers = new Headers({
      "x-amz-content-sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "x-amz-checksum-sha256": "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
      "x-amz-checksum-sha1": "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
      "x-amz-checksum-crc32": "NSRBwg==",
      "x-amz-checksum-crc32c": "Nks/tw==",
      "content-md5": "kAFQmDzST7DWlj99KOF/cg==",
    });
    const verifier = new BodyVerifier(digestsOf(headers));
    expect(verifier.expected).toHaveLength(6);
    await verifier.update(encoder.encode("ab"));
    await verifier.update(encoder.encode("c"));
    await expect(verifier.verify()).resolves.toBeUndefined();
  });

  it("a wrong payload hash is XAmzContentSHA256Mismatch; a wrong checksum BadDigest", async () => {
    const payload = new BodyVerifier(
      digestsOf(new Headers({ "x-amz-content-sha256": "0".repeat(64) })),
    );
    await payload.update(encoder.encode("abc"));
    await expect(payload.verify()).rejects.toMatchObject({ code: "XAmzContentSHA256Mismatch" });
    const crc = new BodyVerifier(digestsOf(new Headers({ "x-amz-checksum-crc32c": "AAAAAA==" })));
    await crc.update(encoder.encode("abc"));
    await expect(crc.verify()).rejects.toMatchObject({ code: "BadDigest", status: 400 });
  });

  it("a checksum that is not base64 of the right size is InvalidRequest; CRC64NVME NotImplemented", () => {
    expect(() => digestsOf(new Headers({ "x-amz-checksum-crc32": "abc" }))).toThrow(
      expect.objectContaining({ code: "InvalidRequest" }),
    );
    expect(() => digestsOf(new Headers({ "x-amz-checksum-crc32": "AAAAAAAA" }))).toThrow(
      expect.objectContaining({ code: "InvalidRequest" }),
    );
    expect(() => digestsOf(new Headers({ "x-amz-checksum-crc64nvme": "AAAAAAAAAAA=" }))).toThrow(
      expect.objectContaining({ code: "NotImplemented" }),
    );
  });
});

describe("a body is held to what its signature covered, never to a guess from its headers", () => {
  const intended = encoder.encode("intended");
  const other = encoder.encode("<html>something else entirely</html>");
  /** A presigned PUT (no Authorization, no x-amz-* headers) whose query signed `signed`. */
  const presignedPut = (body: Uint8Array, headers: Record<string, string> = {}) =>
    put([body], { "content-length": String(body.length), ...headers });
  const presigned = (parts: Partial<SignedParts>): SignedParts => ({
    payloadHash: "UNSIGNED-PAYLOAD",
    signedHeaders: ["host"],
    checksums: {},
    ...parts,
  });
  const storeAs = (request: Request, signed: SignedParts, key: string) =>
    storeVerified(request, bodyPlanOf(request, signed), (value) => env.BUCKET.put(key, value));

  it("the payload hash a presigned query signed is enforced: another body is XAmzContentSHA256Mismatch and stores nothing", async () => {
    const signed = presigned({ payloadHash: await sha256Hex(intended) });
    await expect(storeAs(presignedPut(other), signed, "b/pinned")).rejects.toMatchObject({
      code: "XAmzContentSHA256Mismatch",
      status: 400,
    });
    expect(await stored("b/pinned")).toBeNull();
    await storeAs(presignedPut(intended), signed, "b/pinned");
    expect(await stored("b/pinned")).toEqual(intended);
  });

  it("a checksum a presigned query signed is enforced (named either way): another body is BadDigest", async () => {
    for (const name of ["x-amz-checksum-crc32", "crc32"]) {
      const signed = presigned({ checksums: { [name]: crc32Base64(intended) } });
      await expect(storeAs(presignedPut(other), signed, "b/crc")).rejects.toMatchObject({
        code: "BadDigest",
      });
      expect(await stored("b/crc")).toBeNull();
    }
    const signed = presigned({ checksums: { "x-amz-checksum-crc32": crc32Base64(intended) } });
    await storeAs(presignedPut(intended), signed, "b/crc");
    expect(await stored("b/crc")).toEqual(intended);
  });

  it("headers the signature did not cover promise nothing (the verifier refuses them anyway)", async () => {
    const request = presignedPut(other, {
      "x-amz-content-sha256": "0".repeat(64),
      "x-amz-checksum-crc32": "AAAAAA==",
    });
    await storeAs(request, presigned({}), "b/unsigned-promises");
    expect(await stored("b/unsigned-promises")).toEqual(other);
  });

  it("Content-MD5 is checked, signed or not: it can only refuse a body", async () => {
    const request = presignedPut(other, { "content-md5": "kAFQmDzST7DWlj99KOF/cg==" });
    await expect(storeAs(request, presigned({}), "b/md5")).rejects.toMatchObject({
      code: "BadDigest",
    });
    expect(await stored("b/md5")).toBeNull();
  });

  it("a trailer that names no checksum (even an Object property) is InvalidRequest", () => {
    for (const trailer of ["constructor", "__proto__", "x-amz-checksum-md5"]) {
      expect(() => expectedDigestsOf(presigned({}), new Headers(), trailer), trailer).toThrow(
        expect.objectContaining({ code: "InvalidRequest" }),
      );
    }
  });
});

describe("streaming a body into R2", () => {
  const data = randomBytes(200_000);

  it("a plain body whose SHA-256 matches is stored byte for byte, read in uneven pieces", async () => {
    const request = put(cut(data, [1, 65_536, 65_537, 150_000]), {
      "content-length": String(data.length),
      "x-amz-content-sha256": await sha256Hex(data),
    });
    await store(request, "b/plain");
    expect(await stored("b/plain")).toEqual(data);
  });

  it("a plain body with the wrong SHA-256 stores nothing, and an object it would replace stays", async () => {
    await env.BUCKET.put("b/kept", "original");
    const request = put(cut(data, [100_000]), {
      "content-length": String(data.length),
      "x-amz-content-sha256": await sha256Hex(data.subarray(1)),
    });
    await expect(store(request, "b/kept")).rejects.toMatchObject({
      code: "XAmzContentSHA256Mismatch",
    });
    expect(new TextDecoder().decode((await stored("b/kept")) as Uint8Array)).toBe("original");
  });

  it("aws-chunked frames split mid size-line, mid data and mid CRLF decode to the same bytes", async () => {
    const body = awsChunked(data, 65_536, `x-amz-checksum-crc32:${crc32Base64(data)}`);
    const request = put(cut(body, [1, 3, 6, 65_540, 65_541, 65_542, body.length - 5]), {
      "content-encoding": "aws-chunked",
      "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "x-amz-decoded-content-length": String(data.length),
      "x-amz-trailer": "x-amz-checksum-crc32",
    });
    await store(request, "b/chunked");
    expect(await stored("b/chunked")).toEqual(data);
  });

  it("aws-chunked with a wrong trailing CRC32 is BadDigest and stores nothing", async () => {
    const request = put([awsChunked(data, 8192, "x-amz-checksum-crc32:AAAAAA==")], {
      "content-encoding": "aws-chunked",
      "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "x-amz-decoded-content-length": String(data.length),
      "x-amz-trailer": "x-amz-checksum-crc32",
    });
    await expect(store(request, "b/bad-trailer")).rejects.toMatchObject({ code: "BadDigest" });
    expect(await stored("b/bad-trailer")).toBeNull();
  });

  it("a body shorter than its declared length is IncompleteBody and stores nothing", async () => {
    const body = awsChunked(data, 65_536, `x-amz-checksum-crc32:${crc32Base64(data)}`);
    const request = put([body], {
      "content-encoding": "aws-chunked",
      "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "x-amz-decoded-content-length": String(data.length + 1),
      "x-amz-trailer": "x-amz-checksum-crc32",
    });
    await expect(store(request, "b/short")).rejects.toMatchObject({ code: "IncompleteBody" });
    expect(await stored("b/short")).toBeNull();
  });

  it("the last piece is held back until the digests match: a bad body never delivers its length", async () => {
    const request = put(cut(data, [50_000, 100_000, 150_000]), {
      "content-length": String(data.length),
      "x-amz-checksum-crc32": "AAAAAA==",
    });
    let delivered = 0;
    await expect(
      readVerified(request, planOf(request), (piece) => {
        delivered += piece.length;
      }),
    ).rejects.toMatchObject({ code: "BadDigest" });
    expect(delivered).toBe(150_000);
  });
});
