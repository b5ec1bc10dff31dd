import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { AwsClient } from "aws4fetch";
import { beforeAll, describe, expect, it } from "vitest";
import { gatewayUrl } from "./support/http";
import {
  apiAs,
  credentialsOf,
  type StorageKey,
  s3ClientFor,
  s3ErrorOf,
  xmlErrorOf,
} from "./support/s3-gateway";

/**
 * A repository's storage keys used as an S3 bucket through the gateway (gateway/), by the real
 * AWS SDK v3 clients (S3Client, lib-storage's Upload, the presigner), plain fetch with
 * presigned URLs, and aws4fetch for requests the SDK would never send. The bucket is the repo id.
 */

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let owner: Awaited<ReturnType<typeof apiAs>>;
let repoId: string;
let otherRepoId: string;
let writer: StorageKey;
let reader: StorageKey;
let otherWriter: StorageKey;
let s3: ReturnType<typeof s3ClientFor>;

beforeAll(async () => {
  owner = await apiAs("s3-owner");
  repoId = await owner.newRepo("photos");
  otherRepoId = await owner.newRepo("elsewhere");
  writer = await owner.newKey(repoId, "WRITE");
  reader = await owner.newKey(repoId, "READ");
  otherWriter = await owner.newKey(otherRepoId, "WRITE");
  s3 = s3ClientFor(credentialsOf(writer));
});

async function getBytes(key: string, client = s3.client): Promise<Uint8Array> {
  const got = await client.send(new GetObjectCommand({ Bucket: repoId, Key: key }));
  return (got.Body as any).transformToByteArray();
}

/** Whether the object exists, by HeadObject (404 NotFound: it does not). */
async function exists(key: string): Promise<boolean> {
  try {
    await s3.client.send(new HeadObjectCommand({ Bucket: repoId, Key: key }));
    return true;
  } catch (error: any) {
    expect(error.$metadata?.httpStatusCode).toBe(404);
    return false;
  }
}

describe("putting and getting objects with S3Client", () => {
  it("a string body is sent with its hex SHA-256 and a CRC32, and comes back with its metadata", async () => {
    const key = "notes/hello café.txt";
    const body = "hello, gateway\n";
    const put = await s3.client.send(
      new PutObjectCommand({
        Bucket: repoId,
        Key: key,
        Body: body,
        ContentType: "text/plain; charset=utf-8",
        Metadata: { author: "ada" },
      }),
    );
    const sent = s3.sent.at(-1)?.headers ?? {};
    expect(sent["x-amz-content-sha256"]).toBe(sha256(Buffer.from(body)));
    expect(sent["x-amz-checksum-crc32"]).toEqual(expect.any(String));
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);

    const got = await s3.client.send(new GetObjectCommand({ Bucket: repoId, Key: key }));
    expect(await got.Body?.transformToString()).toBe(body);
    expect(got).toMatchObject({
      ContentType: "text/plain; charset=utf-8",
      ContentLength: body.length,
      ETag: put.ETag,
      Metadata: { author: "ada" },
    });
  });

  it("a 5 MiB buffer of random bytes comes back byte for byte", async () => {
    const body = randomBytes(5 * MiB);
    await s3.client.send(
      new PutObjectCommand({ Bucket: repoId, Key: "big/random.bin", Body: body }),
    );
    expect(sha256(await getBytes("big/random.bin"))).toBe(sha256(body));
  });

  it("a stream body goes aws-chunked with a CRC32 trailer (6 MiB) and comes back byte for byte", async () => {
    const body = randomBytes(6 * MiB);
    const pieces = Array.from({ length: 96 }, (_, i) =>
      body.subarray(i * 65_536, (i + 1) * 65_536),
    );
    await s3.client.send(
      new PutObjectCommand({
        Bucket: repoId,
        Key: "big/streamed.bin",
        Body: Readable.from(pieces),
        ContentLength: body.length,
      }),
    );
    expect(s3.sent.at(-1)?.headers).toMatchObject({
      "content-encoding": "aws-chunked",
      "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      "x-amz-decoded-content-length": String(body.length),
      "x-amz-trailer": "x-amz-checksum-crc32",
    });
    expect(sha256(await getBytes("big/streamed.bin"))).toBe(sha256(body));
  });

  it("a 20 MiB upload through lib-storage's Upload goes in 5 MiB parts and comes back with the same SHA-256", async () => {
    const body = randomBytes(20 * MiB);
    const multipart = s3ClientFor(credentialsOf(writer));
    const started = performance.now();
    const done = await new Upload({
      client: multipart.client,
      params: { Bucket: repoId, Key: "big/multipart.bin", Body: body },
      partSize: 5 * MiB,
      queueSize: 4,
    }).done();
    const seconds = (performance.now() - started) / 1000;
    console.log(`s3-gateway: 20 MiB multipart upload took ${seconds.toFixed(2)} s`);
    expect(multipart.sent.map((r) => r.command)).toEqual([
      "CreateMultipartUploadCommand",
      ...Array(4).fill("UploadPartCommand"),
      "CompleteMultipartUploadCommand",
    ]);
    expect(done.ETag).toMatch(/^".+-4"$/);
    expect(sha256(await getBytes("big/multipart.bin"))).toBe(sha256(body));
  }, 120_000);

  it("HeadObject tells the size, type and ETag, without a body", async () => {
    const put = await s3.client.send(
      new PutObjectCommand({
        Bucket: repoId,
        Key: "head/me.json",
        Body: '{"a":1}',
        ContentType: "application/json",
      }),
    );
    const head = await s3.client.send(
      new HeadObjectCommand({ Bucket: repoId, Key: "head/me.json" }),
    );
    expect(head).toMatchObject({
      ContentLength: 7,
      ContentType: "application/json",
      ETag: put.ETag,
      AcceptRanges: "bytes",
    });
    expect(head.LastModified).toBeInstanceOf(Date);
  });

  it("a ranged GET answers 206 with Content-Range; a range past the end is InvalidRange (416)", async () => {
    await s3.client.send(
      new PutObjectCommand({ Bucket: repoId, Key: "range/abc", Body: "0123456789" }),
    );
    const range = async (Range: string) => {
      const got = await s3.client.send(
        new GetObjectCommand({ Bucket: repoId, Key: "range/abc", Range }),
      );
      return [await got.Body?.transformToString(), got.ContentRange, got.$metadata.httpStatusCode];
    };
    expect(await range("bytes=0-4")).toEqual(["01234", "bytes 0-4/10", 206]);
    expect(await range("bytes=7-")).toEqual(["789", "bytes 7-9/10", 206]);
    expect(await range("bytes=-3")).toEqual(["789", "bytes 7-9/10", 206]);
    expect(await range("bytes=8-100")).toEqual(["89", "bytes 8-9/10", 206]);
    expect(
      await s3ErrorOf(
        s3.client.send(
          new GetObjectCommand({ Bucket: repoId, Key: "range/abc", Range: "bytes=10-" }),
        ),
      ),
    ).toEqual({ code: "InvalidRange", status: 416 });
  });

  it("conditional GETs: a matching If-None-Match is 304, a stale If-Match is PreconditionFailed", async () => {
    const put = await s3.client.send(
      new PutObjectCommand({ Bucket: repoId, Key: "cond/v1.txt", Body: "version 1" }),
    );
    const get = (conditions: { IfMatch?: string; IfNoneMatch?: string }) =>
      s3.client.send(new GetObjectCommand({ Bucket: repoId, Key: "cond/v1.txt", ...conditions }));
    expect(await (await get({ IfMatch: put.ETag })).Body?.transformToString()).toBe("version 1");
    expect(await s3ErrorOf(get({ IfNoneMatch: put.ETag }))).toMatchObject({ status: 304 });
    expect(await s3ErrorOf(get({ IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toEqual({
      code: "PreconditionFailed",
      status: 412,
    });
    // A conditional write is refused, never done unconditionally.
    expect(
      await s3ErrorOf(
        s3.client.send(
          new PutObjectCommand({
            Bucket: repoId,
            Key: "cond/v1.txt",
            Body: "v2",
            IfNoneMatch: "*",
          }),
        ),
      ),
    ).toEqual({ code: "NotImplemented", status: 501 });
    expect(Buffer.from(await getBytes("cond/v1.txt")).toString()).toBe("version 1");
  });

  it("DeleteObject answers 204, twice; the object is then NoSuchKey", async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: repoId, Key: "doomed.txt", Body: "bye" }));
    for (let i = 0; i < 2; i++) {
      const deleted = await s3.client.send(
        new DeleteObjectCommand({ Bucket: repoId, Key: "doomed.txt" }),
      );
      expect(deleted.$metadata.httpStatusCode).toBe(204);
    }
    expect(await s3ErrorOf(getBytes("doomed.txt"))).toEqual({ code: "NoSuchKey", status: 404 });
  });

  it("a key that was never written is NoSuchKey; HeadObject of it is a bodiless 404", async () => {
    expect(await s3ErrorOf(getBytes("never/written"))).toEqual({ code: "NoSuchKey", status: 404 });
    expect(await exists("never/written")).toBe(false);
  });
});

describe("listing with ListObjectsV2", () => {
  const keys = ["list/a.txt", "list/b/1.txt", "list/b/2.txt", "list/c/3.txt", "list-not/x.txt"];

  beforeAll(async () => {
    for (const key of keys) {
      await s3.client.send(new PutObjectCommand({ Bucket: repoId, Key: key, Body: key }));
    }
  });

  it("a prefix and a delimiter give the keys at that level and the common prefixes below it", async () => {
    const listed = await s3.client.send(
      new ListObjectsV2Command({ Bucket: repoId, Prefix: "list/", Delimiter: "/" }),
    );
    expect(listed).toMatchObject({
      Name: repoId,
      Prefix: "list/",
      Delimiter: "/",
      KeyCount: 3,
      MaxKeys: 1000,
      IsTruncated: false,
      CommonPrefixes: [{ Prefix: "list/b/" }, { Prefix: "list/c/" }],
    });
    expect(listed.Contents).toEqual([
      {
        Key: "list/a.txt",
        Size: "list/a.txt".length,
        ETag: expect.stringMatching(/^"[0-9a-f]{32}"$/),
        LastModified: expect.any(Date),
        StorageClass: "STANDARD",
      },
    ]);
  });

  it("max-keys pages through every key with continuation tokens", async () => {
    const seen: string[] = [];
    let ContinuationToken: string | undefined;
    let pages = 0;
    do {
      const page = await s3.client.send(
        new ListObjectsV2Command({ Bucket: repoId, Prefix: "list", MaxKeys: 2, ContinuationToken }),
      );
      pages++;
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      seen.push(...(page.Contents ?? []).map((c) => c.Key as string));
      ContinuationToken = page.NextContinuationToken;
      expect(Boolean(ContinuationToken)).toBe(page.IsTruncated);
    } while (ContinuationToken);
    expect(seen).toEqual([...keys].sort());
    expect(pages).toBe(3);
  });

  it("keys with XML's special characters list back exactly, and url-encoded when asked", async () => {
    const key = `xml/Tom & Jerry's <"best">.txt`;
    await s3.client.send(new PutObjectCommand({ Bucket: repoId, Key: key, Body: "!" }));
    const listed = await s3.client.send(
      new ListObjectsV2Command({ Bucket: repoId, Prefix: "xml/" }),
    );
    expect(listed.Contents?.map((c) => c.Key)).toEqual([key]);
    const encoded = await s3.client.send(
      new ListObjectsV2Command({ Bucket: repoId, Prefix: "xml/", EncodingType: "url" }),
    );
    expect(encoded.EncodingType).toBe("url");
    expect(encoded.Contents?.map((c) => decodeURIComponent(c.Key as string))).toEqual([key]);
  });
});

describe("presigned URLs from @aws-sdk/s3-request-presigner, used with plain fetch", () => {
  it("a presigned GET downloads the object", async () => {
    await s3.client.send(
      new PutObjectCommand({ Bucket: repoId, Key: "shared/report.txt", Body: "quarterly" }),
    );
    const url = await getSignedUrl(
      s3ClientFor(credentialsOf(reader)).client,
      new GetObjectCommand({ Bucket: repoId, Key: "shared/report.txt" }),
      { expiresIn: 300 },
    );
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("quarterly");
  });

  it("a presigned PUT uploads a body (client set to requestChecksumCalculation WHEN_REQUIRED, as AWS documents, so the URL signs no checksum)", async () => {
    const presigner = new S3Client({
      endpoint: gatewayUrl,
      region: "auto",
      forcePathStyle: true,
      credentials: credentialsOf(writer),
      requestChecksumCalculation: "WHEN_REQUIRED",
    });
    const url = await getSignedUrl(
      presigner,
      new PutObjectCommand({ Bucket: repoId, Key: "shared/upload.bin" }),
      { expiresIn: 300 },
    );
    expect(url).not.toContain("x-amz-checksum-crc32=");
    const body = randomBytes(100_000);
    const response = await fetch(url, { method: "PUT", body });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
    expect(sha256(await getBytes("shared/upload.bin"))).toBe(sha256(body));
  });

  it("a presigned PUT URL signed by a READ key is AccessDenied", async () => {
    const url = await getSignedUrl(
      s3ClientFor(credentialsOf(reader)).client,
      new PutObjectCommand({ Bucket: repoId, Key: "shared/not-mine.bin" }),
      { expiresIn: 300 },
    );
    const response = await fetch(url, { method: "PUT", body: "nope" });
    expect(await xmlErrorOf(response)).toEqual({ code: "AccessDenied", status: 403 });
    expect(await exists("shared/not-mine.bin")).toBe(false);
  });
});

describe("who may do what", () => {
  it("a READ key may read and list, but not put or delete (AccessDenied)", async () => {
    await s3.client.send(
      new PutObjectCommand({ Bucket: repoId, Key: "acl/kept.txt", Body: "kept" }),
    );
    const readOnly = s3ClientFor(credentialsOf(reader)).client;
    expect(await getBytes("acl/kept.txt", readOnly)).toEqual(new Uint8Array(Buffer.from("kept")));
    await readOnly.send(new ListObjectsV2Command({ Bucket: repoId, Prefix: "acl/" }));
    expect(
      await s3ErrorOf(
        readOnly.send(new PutObjectCommand({ Bucket: repoId, Key: "acl/new.txt", Body: "x" })),
      ),
    ).toEqual({ code: "AccessDenied", status: 403 });
    expect(
      await s3ErrorOf(
        readOnly.send(new DeleteObjectCommand({ Bucket: repoId, Key: "acl/kept.txt" })),
      ),
    ).toEqual({ code: "AccessDenied", status: 403 });
    expect(await exists("acl/new.txt")).toBe(false);
    expect(await exists("acl/kept.txt")).toBe(true);
  });

  it("another repository's key is AccessDenied on this bucket, for reads and writes", async () => {
    const other = s3ClientFor(credentialsOf(otherWriter)).client;
    expect(
      await s3ErrorOf(other.send(new GetObjectCommand({ Bucket: repoId, Key: "acl/kept.txt" }))),
    ).toEqual({
      code: "AccessDenied",
      status: 403,
    });
    expect(
      await s3ErrorOf(
        other.send(new PutObjectCommand({ Bucket: repoId, Key: "acl/intruder.txt", Body: "x" })),
      ),
    ).toEqual({ code: "AccessDenied", status: 403 });
    // Its own bucket works.
    await other.send(new PutObjectCommand({ Bucket: otherRepoId, Key: "mine.txt", Body: "x" }));
  });

  it("a wrong secret is SignatureDoesNotMatch; an access key id nobody issued is InvalidAccessKeyId", async () => {
    const wrongSecret = s3ClientFor({
      accessKeyId: writer.key,
      secretAccessKey: `${writer.secret.slice(0, -1)}${writer.secret.endsWith("A") ? "B" : "A"}`,
    }).client;
    expect(await s3ErrorOf(getBytes("acl/kept.txt", wrongSecret))).toEqual({
      code: "SignatureDoesNotMatch",
      status: 403,
    });
    const unknown = s3ClientFor({
      accessKeyId: "FBAKNOBODYISSUEDTHIS",
      secretAccessKey: writer.secret,
    }).client;
    expect(await s3ErrorOf(getBytes("acl/kept.txt", unknown))).toEqual({
      code: "InvalidAccessKeyId",
      status: 403,
    });
  });

  it("a bucket that is not a repository id is NoSuchBucket", async () => {
    expect(
      await s3ErrorOf(s3.client.send(new GetObjectCommand({ Bucket: "not-a-repo", Key: "a" }))),
    ).toEqual({ code: "NoSuchBucket", status: 404 });
  });

  it("a deleted key is refused (InvalidAccessKeyId) within the verifier's 10 s cache bound", async () => {
    const doomed = await owner.newKey(repoId, "WRITE");
    const client = s3ClientFor(credentialsOf(doomed)).client;
    await client.send(
      new PutObjectCommand({ Bucket: repoId, Key: "revoked/before.txt", Body: "ok" }),
    );
    await owner.deleteKey(repoId, doomed);
    const deadline = Date.now() + 11_000;
    let refusal: { code: string; status: number } | undefined;
    while (!refusal && Date.now() < deadline) {
      try {
        await client.send(new GetObjectCommand({ Bucket: repoId, Key: "revoked/before.txt" }));
        await new Promise((resolve) => setTimeout(resolve, 250));
      } catch (error: any) {
        refusal = { code: error.name, status: error.$metadata?.httpStatusCode };
      }
    }
    expect(refusal).toEqual({ code: "InvalidAccessKeyId", status: 403 });
  }, 20_000);
});

describe("a body that does not match its hashes is refused and nothing is stored", () => {
  const signer = () =>
    new AwsClient({
      accessKeyId: writer.key,
      secretAccessKey: writer.secret,
      service: "s3",
      region: "auto",
    });
  const urlOf = (key: string) => `${gatewayUrl}/${repoId}/${key}`;

  it("a PUT signed for one body and sent with another is XAmzContentSHA256Mismatch", async () => {
    const signed = Buffer.from("the body that was signed");
    const sent = Buffer.from("the body that was SENT!!");
    const request = await signer().sign(urlOf("tampered.txt"), {
      method: "PUT",
      headers: { "x-amz-content-sha256": sha256(signed) },
    });
    const response = await fetch(request.url, {
      method: "PUT",
      headers: request.headers,
      body: sent,
    });
    expect(await xmlErrorOf(response)).toEqual({ code: "XAmzContentSHA256Mismatch", status: 400 });
    expect(await exists("tampered.txt")).toBe(false);
  });

  it("a 3 MiB PUT over an existing object with a wrong SHA-256 leaves the old object whole", async () => {
    await s3.client.send(
      new PutObjectCommand({ Bucket: repoId, Key: "precious.bin", Body: "original" }),
    );
    const body = randomBytes(3 * MiB);
    const request = await signer().sign(urlOf("precious.bin"), {
      method: "PUT",
      headers: { "x-amz-content-sha256": sha256(randomBytes(16)) },
    });
    const response = await fetch(request.url, { method: "PUT", headers: request.headers, body });
    expect(await xmlErrorOf(response)).toEqual({ code: "XAmzContentSHA256Mismatch", status: 400 });
    expect(Buffer.from(await getBytes("precious.bin")).toString()).toBe("original");
  });

  it("a wrong x-amz-checksum-crc32 header is BadDigest", async () => {
    const request = await signer().sign(urlOf("bad-crc.txt"), {
      method: "PUT",
      headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-checksum-crc32": "AAAAAA==" },
    });
    const response = await fetch(request.url, {
      method: "PUT",
      headers: request.headers,
      body: "not empty",
    });
    expect(await xmlErrorOf(response)).toEqual({ code: "BadDigest", status: 400 });
    expect(await exists("bad-crc.txt")).toBe(false);
  });

  it("a 4 MiB aws-chunked stream whose trailing CRC32 is wrong is BadDigest", async () => {
    const data = randomBytes(4 * MiB);
    const request = await signer().sign(urlOf("bad-trailer.bin"), {
      method: "PUT",
      headers: {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": String(data.length),
        "x-amz-trailer": "x-amz-checksum-crc32",
      },
    });
    const frames = async function* () {
      for (let at = 0; at < data.length; at += 65_536) {
        const piece = data.subarray(at, at + 65_536);
        yield Buffer.concat([
          Buffer.from(`${piece.length.toString(16)}\r\n`),
          piece,
          Buffer.from("\r\n"),
        ]);
      }
      yield Buffer.from("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
    };
    const response = await fetch(request.url, {
      method: "PUT",
      headers: request.headers,
      body: Readable.toWeb(Readable.from(frames())) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    expect(await xmlErrorOf(response)).toEqual({ code: "BadDigest", status: 400 });
    expect(await exists("bad-trailer.bin")).toBe(false);
  });

  it("an UploadPart whose body does not match its hash stores no part, and the upload can be aborted", async () => {
    const created = await s3.client.send(
      new CreateMultipartUploadCommand({ Bucket: repoId, Key: "parts/aborted.bin" }),
    );
    const UploadId = created.UploadId as string;
    const request = await signer().sign(
      `${urlOf("parts/aborted.bin")}?partNumber=1&uploadId=${encodeURIComponent(UploadId)}`,
      { method: "PUT", headers: { "x-amz-content-sha256": sha256(Buffer.from("signed")) } },
    );
    const response = await fetch(request.url, {
      method: "PUT",
      headers: request.headers,
      body: "sent!!",
    });
    expect(await xmlErrorOf(response)).toEqual({ code: "XAmzContentSHA256Mismatch", status: 400 });

    const aborted = await s3.client.send(
      new AbortMultipartUploadCommand({ Bucket: repoId, Key: "parts/aborted.bin", UploadId }),
    );
    expect(aborted.$metadata.httpStatusCode).toBe(204);
    expect(
      await s3ErrorOf(
        s3.client.send(
          new UploadPartCommand({
            Bucket: repoId,
            Key: "parts/aborted.bin",
            UploadId,
            PartNumber: 1,
            Body: "late",
          }),
        ),
      ),
    ).toEqual({ code: "NoSuchUpload", status: 404 });
    expect(await exists("parts/aborted.bin")).toBe(false);
  });
});

describe("what the gateway does not serve", () => {
  it("ListObjectVersions and PutObjectTagging are NotImplemented (501)", async () => {
    expect(
      await s3ErrorOf(s3.client.send(new ListObjectVersionsCommand({ Bucket: repoId }))),
    ).toEqual({ code: "NotImplemented", status: 501 });
    expect(
      await s3ErrorOf(
        s3.client.send(
          new PutObjectTaggingCommand({
            Bucket: repoId,
            Key: "acl/kept.txt",
            Tagging: { TagSet: [{ Key: "a", Value: "b" }] },
          }),
        ),
      ),
    ).toEqual({ code: "NotImplemented", status: 501 });
  });

  it("every answer carries x-amz-request-id; errors are S3's XML (an unsigned request: AccessDenied, as S3)", async () => {
    const response = await fetch(`${gatewayUrl}/${repoId}/anything`);
    expect(response.headers.get("x-amz-request-id")).toMatch(/^[0-9A-F]{16}$/);
    expect(response.headers.get("content-type")).toBe("application/xml");
    const text = await response.text();
    expect(text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?><Error><Code>AccessDenied<\/Code><Message>[^<]+<\/Message><RequestId>[0-9A-F]{16}<\/RequestId><\/Error>$/,
    );
  });
});
