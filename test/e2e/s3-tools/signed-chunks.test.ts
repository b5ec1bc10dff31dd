import { createHash, createHmac, randomBytes } from "node:crypto";
import { request } from "node:http";
import { crc32 } from "node:zlib";
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { gatewayUrl } from "../support/http";
import { credentialsOf, s3ClientFor } from "../support/s3-gateway";
import {
  type Bucket,
  exists,
  MiB,
  newBucket,
  notYetServed,
  objectSha256,
  putObject,
  sha256,
} from "../support/s3-tools";

/**
 * Signed streaming uploads, framed here as MinIO's Go client (`mc`, minio-go) and AWS's Java SDK
 * send them over plain HTTP: `x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (or
 * `…-PAYLOAD-TRAILER`, with a signed checksum trailer), `Content-Encoding: aws-chunked`, and
 * each 64 KiB chunk signed over the one before (AWS: "Signature Calculations for the
 * Authorization Header: Transferring Payload in Multiple Chunks"). The framing is first checked
 * against AWS's worked examples, so a refusal below is the gateway's. A wrong link anywhere in
 * the chain stores nothing.
 */

const EMPTY_SHA256 = sha256(new Uint8Array());
const hmac = (key: Buffer | string, data: string) =>
  createHmac("sha256", key).update(data).digest();

/** SigV4's signing key and scope for one day, region and S3. */
function signerFor(secret: string, amzDate: string, region: string) {
  const day = amzDate.slice(0, 8);
  let key = hmac(`AWS4${secret}`, day);
  for (const part of [region, "s3", "aws4_request"]) key = hmac(key, part);
  const scope = `${day}/${region}/s3/aws4_request`;
  return {
    scope,
    sign: (kind: string, ...lines: string[]) =>
      createHmac("sha256", key)
        .update([kind, amzDate, scope, ...lines].join("\n"))
        .digest("hex"),
  };
}
type Signer = ReturnType<typeof signerFor>;

/** The seed signature: SigV4 over the request's head, with the streaming mode as payload hash. */
function seedSignature(
  signer: Signer,
  path: string,
  query: string,
  headers: Record<string, string>,
) {
  const names = Object.keys(headers).sort();
  const canonical = [
    "PUT",
    path,
    query.split("&").filter(Boolean).sort().join("&"),
    ...names.map((name) => `${name}:${headers[name]}`),
    "",
    names.join(";"),
    headers["x-amz-content-sha256"],
  ].join("\n");
  return {
    signedHeaders: names.join(";"),
    signature: signer.sign("AWS4-HMAC-SHA256", sha256(Buffer.from(canonical))),
  };
}

/** Each chunk's signature, chained from the seed; then the trailer's, when there is one. */
function chainSignatures(signer: Signer, seed: string, chunks: Uint8Array[], trailer?: string) {
  const signatures: string[] = [];
  let previous = seed;
  for (const chunk of chunks) {
    previous = signer.sign("AWS4-HMAC-SHA256-PAYLOAD", previous, EMPTY_SHA256, sha256(chunk));
    signatures.push(previous);
  }
  const trailerSignature =
    trailer === undefined
      ? undefined
      : signer.sign("AWS4-HMAC-SHA256-TRAILER", previous, sha256(Buffer.from(`${trailer}\n`)));
  return { signatures, trailerSignature };
}

/** The aws-chunked body: `<hex size>;chunk-signature=<sig>\r\n<data>\r\n` …, then the trailer. */
function frame(chunks: Uint8Array[], signatures: string[], trailer?: [string, string]): Buffer {
  const parts: Uint8Array[] = [];
  chunks.forEach((chunk, i) => {
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signatures[i]}\r\n`));
    parts.push(chunk);
    if (!(trailer && i === chunks.length - 1)) parts.push(Buffer.from("\r\n"));
  });
  if (trailer)
    parts.push(Buffer.from(`${trailer[0]}\r\nx-amz-trailer-signature:${trailer[1]}\r\n\r\n`));
  return Buffer.concat(parts);
}

/** `body` cut into chunks of `size`, then the empty chunk that ends every signed stream. */
function chunksOf(body: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += size) chunks.push(body.subarray(at, at + size));
  return [...chunks, new Uint8Array()];
}

describe("the framing these tests send", () => {
  // AWS's examples: 66560 bytes of "a" in a 64 KiB and a 1 KiB chunk, signed with AWS's example key.
  const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  const signer = signerFor(secret, "20130524T000000Z", "us-east-1");
  const chunks = chunksOf(Buffer.alloc(66560, "a"), 65536);
  const head = {
    "content-encoding": "aws-chunked",
    host: "s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-decoded-content-length": "66560",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
  };

  it("reproduces every signature of AWS's worked example (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)", () => {
    const { signature } = seedSignature(signer, "/examplebucket/chunkObject.txt", "", {
      ...head,
      "content-length": "66824",
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    });
    expect(signature).toBe("4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    const { signatures } = chainSignatures(signer, signature, chunks);
    expect(signatures).toEqual([
      "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
      "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]);
    expect(frame(chunks, signatures).length).toBe(66824);
  });

  it("reproduces every signature of AWS's trailer example (…-PAYLOAD-TRAILER, x-amz-checksum-crc32c)", () => {
    const { signature } = seedSignature(signer, "/examplebucket/chunkObject.txt", "", {
      ...head,
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
      "x-amz-trailer": "x-amz-checksum-crc32c",
    });
    expect(signature).toBe("106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
    const trailer = "x-amz-checksum-crc32c:sOO8/Q==";
    const chain = chainSignatures(signer, signature, chunks, trailer);
    expect(chain).toEqual({
      signatures: [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
      ],
      trailerSignature: "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435",
    });
  });
});

let user: Bucket;

interface Upload {
  /** What is changed after signing: the `chunk`th chunk's signature or its first byte. */
  tamper?: { chunk: number; what: "signature" | "data" };
  /** Ends with a signed `x-amz-checksum-crc32` trailer (…-PAYLOAD-TRAILER); `wrong` signs it badly. */
  trailer?: { wrong?: boolean };
  /** The query, e.g. `partNumber=1&uploadId=…` for UploadPart. */
  query?: string;
}

/**
 * A PUT of `body` to the gateway, signed chunk by chunk with the user's key in 64 KiB chunks as
 * minio-go sends it (Content-Length signed; with a trailer, not signed, as in AWS's example).
 */
async function putSignedChunks(key: string, body: Uint8Array, upload: Upload = {}) {
  const url = new URL(gatewayUrl);
  const path = `/${user.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  const query = upload.query ?? "";
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
  const signer = signerFor(user.key.secret, amzDate, "us-east-1");
  const chunks = chunksOf(body, 64 * 1024);
  const checksum = Buffer.alloc(4);
  checksum.writeUInt32BE(crc32(body));
  const trailer = upload.trailer
    ? `x-amz-checksum-crc32:${checksum.toString("base64")}`
    : undefined;

  // Every signature is 64 hex digits: the framed length is known before any is made.
  const placeholder = "0".repeat(64);
  const frameLength = frame(
    chunks,
    chunks.map(() => placeholder),
    trailer ? [trailer, placeholder] : undefined,
  ).length;
  const headers: Record<string, string> = {
    "content-encoding": "aws-chunked",
    host: url.host,
    "x-amz-content-sha256": trailer
      ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
      : "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "x-amz-date": amzDate,
    "x-amz-decoded-content-length": String(body.length),
    ...(trailer
      ? { "x-amz-trailer": "x-amz-checksum-crc32" }
      : { "content-length": String(frameLength) }),
  };
  const seed = seedSignature(signer, path, query, headers);
  const chain = chainSignatures(signer, seed.signature, chunks, trailer);

  const { tamper } = upload;
  const signatures = chain.signatures.map((signature, i) =>
    tamper?.what === "signature" && tamper.chunk === i ? flipLastHexDigit(signature) : signature,
  );
  const sent = chunks.map((chunk, i) =>
    tamper?.what === "data" && tamper.chunk === i
      ? Buffer.from(chunk.map((byte, at) => (at === 0 ? byte ^ 1 : byte)))
      : chunk,
  );
  const trailerSignature = upload.trailer?.wrong
    ? flipLastHexDigit(chain.trailerSignature ?? "")
    : chain.trailerSignature;
  const bytes = frame(sent, signatures, trailer ? [trailer, trailerSignature ?? ""] : undefined);

  const authorization = `AWS4-HMAC-SHA256 Credential=${user.key.key}/${signer.scope}, SignedHeaders=${seed.signedHeaders}, Signature=${seed.signature}`;
  return new Promise<{ status: number; text: string; etag?: string }>((resolve, reject) => {
    const put = request(
      {
        host: url.hostname,
        port: url.port,
        method: "PUT",
        path: query ? `${path}?${query}` : path,
        headers: { ...headers, "content-length": String(bytes.length), authorization },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8").on("data", (chunk) => (text += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text, etag: response.headers.etag }),
        );
      },
    );
    put.on("error", reject);
    put.end(bytes);
  });
}

const flipLastHexDigit = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith("0") ? "1" : "0"}`;
const codeOf = (text: string) => /<Code>([^<]*)<\/Code>/.exec(text)?.[1];

describe.skipIf(notYetServed("SignedStreaming"))("signed streaming uploads to the gateway", () => {
  beforeAll(async () => {
    user = await newBucket("signed-chunks");
  });

  it("a PUT signed chunk by chunk (64 KiB chunks, then the empty one) stores exactly the decoded bytes", async () => {
    const body = randomBytes(200 * 1024);
    const put = await putSignedChunks("signed/chunked é.bin", body);
    expect(put.status, put.text).toBe(200);
    expect(put.etag).toBe(`"${createHash("md5").update(body).digest("hex")}"`);
    expect(await objectSha256(user, "signed/chunked é.bin")).toBe(sha256(body));
  });

  it("a chunk with a wrong signature is SignatureDoesNotMatch and stores nothing: the object it would replace is untouched", async () => {
    await putObject(user, "signed/kept.txt", "before\n");
    const bad = await putSignedChunks("signed/kept.txt", randomBytes(200 * 1024), {
      tamper: { chunk: 2, what: "signature" },
    });
    expect([bad.status, codeOf(bad.text)]).toEqual([403, "SignatureDoesNotMatch"]);
    expect(await objectSha256(user, "signed/kept.txt")).toBe(sha256(Buffer.from("before\n")));

    const fresh = await putSignedChunks("signed/never.bin", randomBytes(200 * 1024), {
      tamper: { chunk: 3, what: "signature" },
    });
    expect([fresh.status, codeOf(fresh.text)]).toEqual([403, "SignatureDoesNotMatch"]);
    expect(await exists(user, "signed/never.bin")).toBe(false);
  });

  it("a chunk whose bytes changed after signing, or a forged final empty chunk, stores nothing", async () => {
    const changed = await putSignedChunks("signed/changed.bin", randomBytes(200 * 1024), {
      tamper: { chunk: 1, what: "data" },
    });
    expect([changed.status, codeOf(changed.text)]).toEqual([403, "SignatureDoesNotMatch"]);
    expect(await exists(user, "signed/changed.bin")).toBe(false);

    // 200 KiB: four data chunks, then the empty one, whose signature closes the chain.
    const unclosed = await putSignedChunks("signed/unclosed.bin", randomBytes(200 * 1024), {
      tamper: { chunk: 4, what: "signature" },
    });
    expect([unclosed.status, codeOf(unclosed.text)]).toEqual([403, "SignatureDoesNotMatch"]);
    expect(await exists(user, "signed/unclosed.bin")).toBe(false);
  });

  it("with a signed x-amz-checksum-crc32 trailer it stores the bytes; a wrong trailer signature stores nothing", async () => {
    const body = randomBytes(150 * 1024);
    const put = await putSignedChunks("signed/trailer.bin", body, { trailer: {} });
    expect(put.status, put.text).toBe(200);
    expect(await objectSha256(user, "signed/trailer.bin")).toBe(sha256(body));

    const bad = await putSignedChunks("signed/bad-trailer.bin", body, { trailer: { wrong: true } });
    expect([bad.status, codeOf(bad.text)]).toEqual([403, "SignatureDoesNotMatch"]);
    expect(await exists(user, "signed/bad-trailer.bin")).toBe(false);
  });

  it("UploadPart signed chunk by chunk (as mc sends its parts) completes into the object", async () => {
    const { client } = s3ClientFor(credentialsOf(user.key));
    const target = { Bucket: user.bucket, Key: "signed/multipart.bin" };
    const { UploadId = "" } = await client.send(new CreateMultipartUploadCommand(target));
    const parts = [randomBytes(5 * MiB), randomBytes(MiB)];
    const etags: string[] = [];
    for (const [index, part] of parts.entries()) {
      const query = `partNumber=${index + 1}&uploadId=${encodeURIComponent(UploadId)}`;
      const put = await putSignedChunks(target.Key, part, { query });
      expect(put.status, put.text).toBe(200);
      etags.push(put.etag ?? "");
    }
    await client.send(
      new CompleteMultipartUploadCommand({
        ...target,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    expect(await objectSha256(user, target.Key)).toBe(sha256(Buffer.concat(parts)));
  }, 60_000);
});
