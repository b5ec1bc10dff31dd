import { beforeAll, describe, expect, it } from "vitest";
import { ChunkSigner } from "../../src/verify/chunks";
import {
  chunkStringToSign,
  EMPTY_SHA256,
  parseSignedRequest,
  scopeOf,
  signatureMatches,
  signingKey,
  stringToSign,
  trailerStringToSign,
} from "../../src/verify/sigv4";
import { team } from "../support/api";
import { createStorageKey } from "../support/keys";
import { keyVerifier, presignedS3Request, verifyS3Http } from "./support";

/**
 * Signed streaming uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]): the request's seed
 * signature is checked like any other, and each chunk's signature is chained to the one before.
 * AWS's worked example ("Signature Calculations for the Authorization Header: Transferring
 * Payload in Multiple Chunks"): 66560 bytes of "a" in a 64 KiB and a 1 KiB chunk, then the empty one.
 */

const encoder = new TextEncoder();
const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (bytes: Uint8Array | string) =>
  hex(
    await crypto.subtle.digest(
      "SHA-256",
      typeof bytes === "string" ? encoder.encode(bytes) : (bytes as Uint8Array<ArrayBuffer>),
    ),
  );

/** The raw signing key, as a client derives it (the verifier's own is verify-only). */
async function signingBytes(secret: string, scope: string): Promise<ArrayBuffer> {
  let key: ArrayBuffer = encoder.encode(`AWS4${secret}`).buffer as ArrayBuffer;
  for (const part of scope.split("/")) {
    const imported = await crypto.subtle.importKey(
      "raw",
      key,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    key = await crypto.subtle.sign("HMAC", imported, encoder.encode(part));
  }
  return key;
}

const EXAMPLE = {
  secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  amzDate: "20130524T000000Z",
  seed: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
  chunks: [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
  ],
};
const exampleRequest = {
  method: "PUT",
  url: "https://s3.amazonaws.com/examplebucket/chunkObject.txt",
  headers: {
    host: "s3.amazonaws.com",
    "x-amz-date": EXAMPLE.amzDate,
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
    "content-length": "66824",
    authorization:
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
      "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class," +
      `Signature=${EXAMPLE.seed}`,
  },
};
const exampleChunks = [
  new Uint8Array(65536).fill(97),
  new Uint8Array(1024).fill(97),
  new Uint8Array(),
];

let key: CryptoKey;
let scope: string;
let hashes: string[];

beforeAll(async () => {
  const signed = parseSignedRequest(exampleRequest);
  key = await signingKey(EXAMPLE.secret, signed);
  scope = scopeOf(signed);
  hashes = await Promise.all(exampleChunks.map(sha256));
});

describe("AWS's worked example of a signed streaming upload", () => {
  it("its seed signature is the request's SigV4 signature, with the streaming mode as payload hash", async () => {
    const signed = parseSignedRequest(exampleRequest);
    expect(signed.payloadHash).toBe("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    expect(await signatureMatches(key, EXAMPLE.seed, await stringToSign(signed))).toBe(true);
  });

  it("each chunk's string to sign chains the signature before it; AWS's published signatures match", async () => {
    expect(chunkStringToSign(EXAMPLE.amzDate, scope, EXAMPLE.seed, hashes[0] as string)).toBe(
      "AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
        `${EXAMPLE.seed}\n${EMPTY_SHA256}\nbf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a`,
    );
    let previous = EXAMPLE.seed;
    for (const [i, signature] of EXAMPLE.chunks.entries()) {
      const toSign = chunkStringToSign(EXAMPLE.amzDate, scope, previous, hashes[i] as string);
      expect(await signatureMatches(key, signature, toSign), `chunk ${i}`).toBe(true);
      // Out of its place in the chain, the same signature does not match.
      const unchained = chunkStringToSign(
        EXAMPLE.amzDate,
        scope,
        EXAMPLE.chunks[2] as string,
        hashes[i] as string,
      );
      expect(await signatureMatches(key, signature, unchained)).toBe(false);
      previous = signature;
    }
  });

  it("a ChunkSigner checks the chain in batches of any size; a wrong link breaks it for good", async () => {
    const links = EXAMPLE.chunks.map((signature, i) => ({
      sha256: hashes[i] as string,
      signature,
    }));
    const whole = new ChunkSigner({
      key,
      amzDate: EXAMPLE.amzDate,
      scope,
      seedSignature: EXAMPLE.seed,
    });
    expect(await whole.verify(links)).toBe(true);

    const oneByOne = new ChunkSigner({
      key,
      amzDate: EXAMPLE.amzDate,
      scope,
      seedSignature: EXAMPLE.seed,
    });
    for (const link of links) expect(await oneByOne.verify([link])).toBe(true);

    const skipping = new ChunkSigner({
      key,
      amzDate: EXAMPLE.amzDate,
      scope,
      seedSignature: EXAMPLE.seed,
    });
    expect(await skipping.verify([links[1] as (typeof links)[0]])).toBe(false);

    const tampered = new ChunkSigner({
      key,
      amzDate: EXAMPLE.amzDate,
      scope,
      seedSignature: EXAMPLE.seed,
    });
    const changed = { ...(links[0] as (typeof links)[0]), sha256: await sha256("b".repeat(65536)) };
    expect(await tampered.verify([changed])).toBe(false);
    // Broken: even the right links are refused now.
    expect(await tampered.verify(links)).toBe(false);

    const malformed = new ChunkSigner({
      key,
      amzDate: EXAMPLE.amzDate,
      scope,
      seedSignature: EXAMPLE.seed,
    });
    expect(await malformed.verify([{ sha256: "zz", signature: EXAMPLE.chunks[0] as string }])).toBe(
      false,
    );
  });

  it("a trailer's signature chains to the last chunk's, over its lines; nothing may follow it", async () => {
    // AWS's trailer example: the same body with an x-amz-checksum-crc32c trailer.
    const seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    const chunks = [
      "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
      "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
      "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ];
    const trailer = {
      sha256: await sha256("x-amz-checksum-crc32c:sOO8/Q==\n"),
      signature: "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435",
      trailer: true,
    };
    expect(trailerStringToSign(EXAMPLE.amzDate, scope, chunks[2] as string, trailer.sha256)).toBe(
      `AWS4-HMAC-SHA256-TRAILER\n20130524T000000Z\n${scope}\n${chunks[2]}\n${trailer.sha256}`,
    );
    const links = chunks.map((signature, i) => ({ sha256: hashes[i] as string, signature }));
    const signer = new ChunkSigner({ key, amzDate: EXAMPLE.amzDate, scope, seedSignature: seed });
    expect(await signer.verify([...links, trailer])).toBe(true);
    // Nothing follows the trailer, not even a chunk rightly chained to it.
    const sign = await crypto.subtle.importKey(
      "raw",
      await signingBytes(EXAMPLE.secret, scope),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const after = chunkStringToSign(EXAMPLE.amzDate, scope, trailer.signature, EMPTY_SHA256);
    const chained = hex(await crypto.subtle.sign("HMAC", sign, encoder.encode(after)));
    expect(await signer.verify([{ sha256: EMPTY_SHA256, signature: chained }])).toBe(false);

    const wrongTrailer = new ChunkSigner({
      key,
      amzDate: EXAMPLE.amzDate,
      scope,
      seedSignature: seed,
    });
    const other = { ...trailer, sha256: await sha256("x-amz-checksum-crc32c:AAAAAA==\n") };
    expect(await wrongTrailer.verify([...links, other])).toBe(false);
  });
});

describe("a signed streaming upload with a real key", () => {
  let writer: { key: string; secret: string };
  let repoId: string;
  beforeAll(async () => {
    const made = await team();
    repoId = made.repoId;
    writer = await createStorageKey(made.admin, repoId, { accessType: "WRITE" });
  });

  /** A seed-signed PUT framed in two chunks, and the chunks' signatures made with the secret. */
  async function streamingUpload(payloadHash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
    const headers: Record<string, string> = {
      host: "s3.flashgate.test",
      "content-encoding": "aws-chunked",
      "x-amz-content-sha256": payloadHash,
      "x-amz-date": amzDate,
      "x-amz-decoded-content-length": "5",
    };
    const names = Object.keys(headers).sort();
    const path = `/${repoId}/streamed.txt`;
    const canonical = [
      "PUT",
      path,
      "",
      ...names.map((name) => `${name}:${headers[name]}`),
      "",
      names.join(";"),
      payloadHash,
    ].join("\n");
    const day = amzDate.slice(0, 8);
    const scopeText = `${day}/us-east-1/s3/aws4_request`;
    const hmac = async (k: ArrayBuffer | Uint8Array, data: string) =>
      crypto.subtle.sign(
        "HMAC",
        await crypto.subtle.importKey(
          "raw",
          k as ArrayBuffer,
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        ),
        encoder.encode(data),
      );
    let signingBytes = await hmac(encoder.encode(`AWS4${writer.secret}`), day);
    for (const part of ["us-east-1", "s3", "aws4_request"])
      signingBytes = await hmac(signingBytes, part);
    const sign = async (text: string) => hex(await hmac(signingBytes, text));
    const seed = await sign(
      `AWS4-HMAC-SHA256\n${amzDate}\n${scopeText}\n${await sha256(canonical)}`,
    );
    const links = [];
    let previous = seed;
    for (const data of ["hello", ""]) {
      const digest = await sha256(data);
      previous = await sign(chunkStringToSign(amzDate, scopeText, previous, digest));
      links.push({ sha256: digest, signature: previous });
    }
    const input = {
      method: "PUT",
      url: `https://s3.flashgate.test${path}`,
      headers: {
        ...headers,
        authorization: `AWS4-HMAC-SHA256 Credential=${writer.key}/${scopeText}, SignedHeaders=${names.join(";")}, Signature=${seed}`,
      },
      requiredAccess: "WRITE",
    };
    return { input, links };
  }

  it("over the binding, VALID carries a chunkSigner stub that checks the chunks with the key's secret", async () => {
    const { input, links } = await streamingUpload();
    const answer = (await keyVerifier.verifyS3Request(input)) as any;
    expect(answer).toMatchObject({
      valid: true,
      code: "VALID",
      payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    });
    expect(await answer.chunkSigner.verify(links)).toBe(true);

    const again = (await keyVerifier.verifyS3Request(input)) as any;
    const forged = { ...links[0], signature: "1".repeat(64) };
    expect(await again.chunkSigner.verify([forged])).toBe(false);
  });

  it("over HTTP, VALID says the payload hash and carries no chunk signer (only the binding can check chunks)", async () => {
    const { input } = await streamingUpload("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER");
    const response = await verifyS3Http(input);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      valid: true,
      payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    });
    expect(response.body).not.toHaveProperty("chunkSigner");
    expect(response.body).not.toHaveProperty("signedStream");
    const answer = (await keyVerifier.verifyS3Request(input)) as any;
    expect(typeof answer.chunkSigner?.verify).toBe("function");
  });

  it("a presigned URL cannot stream signed chunks: MALFORMED", async () => {
    for (const payloadHash of [
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    ]) {
      const input = await presignedS3Request(writer, {
        method: "PUT",
        path: `/${repoId}/streamed.txt`,
        payloadHash,
      });
      expect(await keyVerifier.verifyS3Request(input), payloadHash).toMatchObject({
        valid: false,
        code: "MALFORMED",
      });
    }
  });
});
