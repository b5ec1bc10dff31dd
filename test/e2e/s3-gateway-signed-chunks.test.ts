import { createHash, createHmac, randomBytes } from "node:crypto";
import { request } from "node:http";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { gatewayUrl } from "./support/http";
import { apiAs, credentialsOf, type StorageKey, s3ClientFor } from "./support/s3-gateway";

/**
 * Signed streaming uploads through `npm run dev` with a real key: the gateway hands each chunk's
 * hash and signature to the API's chunk signer (the signing key never leaves the API Worker). A
 * wrong chunk signature stores nothing. Timings of signed against unsigned streams are printed
 * (the cost of checking chunks per MiB).
 */

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");
const EMPTY_SHA256 = sha256("");

let repoId: string;
let writer: StorageKey;
let s3: ReturnType<typeof s3ClientFor>["client"];

beforeAll(async () => {
  const owner = await apiAs("s3-signed-chunks");
  repoId = await owner.newRepo("streams");
  writer = await owner.newKey(repoId, "WRITE");
  s3 = s3ClientFor(credentialsOf(writer)).client;
});

type Mode = "signed" | "unsigned";

/**
 * A PUT of `body` in 64 KiB aws-chunked chunks: signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, each
 * chunk signed over the one before), or unsigned (STREAMING-UNSIGNED-PAYLOAD-TRAILER framing with
 * no checksum trailer, so the two differ only in the chunk signatures). `wrongChunk` makes that
 * chunk's signature wrong.
 */
function putStream(key: string, body: Buffer, mode: Mode, wrongChunk?: number) {
  const url = new URL(gatewayUrl);
  const path = `/${repoId}/${key.split("/").map(encodeURIComponent).join("/")}`;
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d+/g, "");
  const day = amzDate.slice(0, 8);
  const scope = `${day}/us-east-1/s3/aws4_request`;
  let signingKey = createHmac("sha256", `AWS4${writer.secret}`).update(day).digest();
  for (const part of ["us-east-1", "s3", "aws4_request"]) {
    signingKey = createHmac("sha256", signingKey).update(part).digest();
  }
  const sign = (text: string) => createHmac("sha256", signingKey).update(text).digest("hex");

  const chunks: Buffer[] = [];
  for (let at = 0; at < body.length; at += 64 * 1024)
    chunks.push(body.subarray(at, at + 64 * 1024));
  chunks.push(Buffer.alloc(0));
  const headers: Record<string, string> = {
    "content-encoding": "aws-chunked",
    host: url.host,
    "x-amz-content-sha256":
      mode === "signed"
        ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        : "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "x-amz-date": amzDate,
    "x-amz-decoded-content-length": String(body.length),
  };
  const names = Object.keys(headers).sort();
  const canonical = [
    "PUT",
    path,
    "",
    ...names.map((name) => `${name}:${headers[name]}`),
    "",
    names.join(";"),
    headers["x-amz-content-sha256"],
  ].join("\n");
  const seed = sign(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`);

  const framed: Buffer[] = [];
  let previous = seed;
  for (const [i, chunk] of chunks.entries()) {
    if (mode === "signed") {
      previous = sign(
        `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previous}\n${EMPTY_SHA256}\n${sha256(chunk)}`,
      );
      const signature = i === wrongChunk ? sign("not this chunk") : previous;
      framed.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${signature}\r\n`));
    } else {
      framed.push(Buffer.from(`${chunk.length.toString(16)}\r\n`));
    }
    framed.push(chunk);
    if (i < chunks.length - 1) framed.push(Buffer.from("\r\n"));
  }
  framed.push(Buffer.from("\r\n"));
  const bytes = Buffer.concat(framed);
  const authorization = `AWS4-HMAC-SHA256 Credential=${writer.key}/${scope}, SignedHeaders=${names.join(";")}, Signature=${seed}`;
  return new Promise<{ status: number; text: string; ms: number }>((resolve, reject) => {
    const started = performance.now();
    const put = request(
      {
        host: url.hostname,
        port: url.port,
        method: "PUT",
        path,
        headers: { ...headers, "content-length": String(bytes.length), authorization },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8").on("data", (piece) => (text += piece));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text, ms: performance.now() - started }),
        );
      },
    );
    put.on("error", reject);
    put.end(bytes);
  });
}

async function storedSha256(key: string): Promise<string | undefined> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: repoId, Key: key }));
    return sha256(await (got.Body as any).transformToByteArray());
  } catch {
    return undefined;
  }
}

describe("signed streaming uploads with a real key", () => {
  it("a 1 MiB PUT signed chunk by chunk stores its bytes; a wrong signature on any chunk stores nothing", async () => {
    const body = randomBytes(MiB);
    const put = await putStream("signed/one.bin", body, "signed");
    expect(put.status, put.text).toBe(200);
    expect(await storedSha256("signed/one.bin")).toBe(sha256(body));

    for (const wrongChunk of [3, 16]) {
      const bad = await putStream("signed/one.bin", randomBytes(MiB), "signed", wrongChunk);
      expect([bad.status, /<Code>([^<]*)</.exec(bad.text)?.[1]]).toEqual([
        403,
        "SignatureDoesNotMatch",
      ]);
      expect(await storedSha256("signed/one.bin")).toBe(sha256(body));
    }
    const fresh = await putStream("signed/never.bin", randomBytes(MiB), "signed", 16);
    expect(fresh.status).toBe(403);
    expect(
      await s3
        .send(new HeadObjectCommand({ Bucket: repoId, Key: "signed/never.bin" }))
        .catch((error) => error.$metadata?.httpStatusCode),
    ).toBe(404);
  });

  it("costs, per MiB, what checking its chunks in the API takes: 1 MiB and 20 MiB against unsigned streams", async () => {
    const timings: Record<string, number> = {};
    for (const size of [1, 20]) {
      const body = randomBytes(size * MiB);
      for (const mode of ["unsigned", "signed", "unsigned", "signed"] as Mode[]) {
        const put = await putStream(`timed/${size}-${mode}.bin`, body, mode);
        expect(put.status, put.text).toBe(200);
        const name = `${size} MiB ${mode}`;
        timings[name] = Math.min(timings[name] ?? Number.POSITIVE_INFINITY, put.ms);
      }
      expect(await storedSha256(`timed/${size}-signed.bin`)).toBe(sha256(body));
    }
    console.log(
      "signed-chunk PUT against unsigned-stream PUT (best of 2, ms):",
      JSON.stringify(
        Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])),
      ),
    );
  }, 120_000);
});
