// Requests to the S3 gateway (or its floor) for the bench's DeleteObjects, CopyObject and
// streaming PUTs, signed as S3 clients sign them: AWS's SigV4 signer for the request, and the
// chain of chunk signatures of "Signature Calculations for the Authorization Header:
// Transferring Payload in Multiple Chunks" for a signed aws-chunked body.
import { createHash, createHmac } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

const REGION = "auto";
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
export const STREAMING_UNSIGNED = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
/** AWS SDKs frame streams in 64 KiB chunks. */
const CHUNK_BYTES = 64 * 1024;

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * The headers of a request to `url`, header-signed now: the payload hash (the empty body's
 * unless given) and every header in `headers` signed. `host` is left out unless `withHost` (a
 * request made inside a Worker): the HTTP client sends it from the URL, as signed.
 */
export async function signedHeaders(
  { key, secret },
  { method, url, payloadHash = EMPTY_SHA256, headers = {}, withHost = false },
) {
  const { hostname, host, port, pathname, searchParams } = new URL(url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: key, secretAccessKey: secret },
    region: REGION,
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign({
    method,
    protocol: "http:",
    hostname,
    port: port ? Number(port) : undefined,
    path: pathname,
    query: Object.fromEntries(searchParams),
    headers: { host, "x-amz-content-sha256": payloadHash, ...headers },
  });
  if (withHost) return signed.headers;
  const { host: _, ...rest } = signed.headers;
  return rest;
}

/** The kSigning of a secret for a day's scope, as the verifier derives it. */
function signingKey(secret, date) {
  const hmac = (key, data) => createHmac("sha256", key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), REGION), "s3"), "aws4_request");
}

/**
 * A PUT of `body` to `url` as aws-chunked in 64 KiB chunks, no trailer: `signed`, each chunk
 * signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, as minio-go and AWS's Java SDK send over plain
 * HTTP), or unsigned (STREAMING-UNSIGNED-PAYLOAD-TRAILER, as AWS SDKs stream). Answers the
 * headers (Content-Length included) and the framed body. `breakChunk`: that chunk's signature
 * is altered (the chain then fails there).
 */
export async function chunkedPut(credentials, { url, body, signed, withHost = false, breakChunk }) {
  const headers = await signedHeaders(credentials, {
    method: "PUT",
    url,
    payloadHash: signed ? STREAMING_SIGNED : STREAMING_UNSIGNED,
    headers: {
      "content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": String(body.length),
      "content-type": "application/octet-stream",
    },
    withHost,
  });
  const amzDate = headers["x-amz-date"];
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const key = signed ? signingKey(credentials.secret, amzDate.slice(0, 8)) : undefined;
  let previous = /Signature=([0-9a-f]{64})/.exec(headers.authorization)?.[1];
  const frames = [];
  const frame = (data, index) => {
    if (!signed) return `${data.length.toString(16)}\r\n`;
    const toSign = `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previous}\n${EMPTY_SHA256}\n${sha256(data)}`;
    let signature = createHmac("sha256", key).update(toSign).digest("hex");
    previous = signature;
    if (index === breakChunk) signature = signature.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    return `${data.length.toString(16)};chunk-signature=${signature}\r\n`;
  };
  let index = 0;
  for (let at = 0; at < body.length; at += CHUNK_BYTES, index++) {
    const data = body.subarray(at, at + CHUNK_BYTES);
    frames.push(Buffer.from(frame(data, index)), data, Buffer.from("\r\n"));
  }
  frames.push(Buffer.from(`${frame(Buffer.alloc(0), index)}\r\n`));
  const framed = Buffer.concat(frames);
  return { headers: { ...headers, "content-length": String(framed.length) }, body: framed };
}

/** The Delete document of `keys` and its headers: SHA-256 signed, Content-MD5 as S3 requires. */
export async function deleteObjectsRequest(credentials, { url, keys, withHost = false }) {
  const xmlText = (text) =>
    text.replace(
      /[&<>"']/g,
      (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`,
    );
  const body = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${keys
      .map((key) => `<Object><Key>${xmlText(key)}</Key></Object>`)
      .join("")}</Delete>`,
  );
  const headers = await signedHeaders(credentials, {
    method: "POST",
    url,
    payloadHash: sha256(body),
    headers: {
      "content-md5": createHash("md5").update(body).digest("base64"),
      "content-type": "application/xml",
    },
    withHost,
  });
  return { headers: { ...headers, "content-length": String(body.length) }, body };
}
