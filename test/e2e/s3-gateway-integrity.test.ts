import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { AwsClient } from "aws4fetch";
import { beforeAll, describe, expect, it } from "vitest";
import { xmlCharacterProblems } from "../../gateway/test/support/xml-characters";
import { gatewayUrl } from "./support/http";
import {
  apiAs,
  credentialsOf,
  presignedUrl,
  type StorageKey,
  s3ClientFor,
  s3ErrorOf,
  xmlErrorOf,
} from "./support/s3-gateway";

/**
 * Signed means signed, through `npm run dev` (issue 21: 1, 2, 6): a presigned URL binds the
 * body to the payload hash and checksums it signed; headers it did not sign do not decide how
 * the object is served; and what a client gets wrong is a 4xx, never a 500.
 */

const sha256 = (body: string | Uint8Array) => createHash("sha256").update(body).digest("hex");
const crc32Base64 = (body: string) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc32(body));
  return bytes.toString("base64");
};
const intended = "intended";
const other = "<html>something else entirely</html>";

let repoId: string;
let otherRepoId: string;
let writer: StorageKey;
let otherWriter: StorageKey;
let s3: S3Client;
let theirs: S3Client;

beforeAll(async () => {
  const owner = await apiAs("integrity");
  repoId = await owner.newRepo("integrity");
  otherRepoId = await owner.newRepo("integrity-other");
  writer = await owner.newKey(repoId, "WRITE");
  otherWriter = await owner.newKey(otherRepoId, "WRITE");
  s3 = s3ClientFor(credentialsOf(writer)).client;
  theirs = s3ClientFor(credentialsOf(otherWriter)).client;
});

const urlOf = (key: string, query = "") => `${gatewayUrl}/${repoId}/${key}${query}`;

async function exists(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: repoId, Key: key }));
    return true;
  } catch (error: any) {
    expect(error.$metadata?.httpStatusCode).toBe(404);
    return false;
  }
}

async function text(key: string): Promise<string | undefined> {
  const got = await s3.send(new GetObjectCommand({ Bucket: repoId, Key: key }));
  return got.Body?.transformToString();
}

describe("a presigned PUT keeps the promises its URL signed", () => {
  it("X-Amz-Content-Sha256 of one body in the signed query: another body is 400 XAmzContentSHA256Mismatch and nothing is stored", async () => {
    const url = await presignedUrl(credentialsOf(writer), "PUT", urlOf("pinned.txt"), {
      "x-amz-content-sha256": sha256(intended),
    });
    expect(new URL(url).searchParams.get("x-amz-content-sha256")).toBe(sha256(intended));
    const refused = await fetch(url, { method: "PUT", body: other });
    expect(await xmlErrorOf(refused)).toEqual({ code: "XAmzContentSHA256Mismatch", status: 400 });
    expect(await exists("pinned.txt")).toBe(false);

    const accepted = await fetch(url, { method: "PUT", body: intended });
    expect(accepted.status).toBe(200);
    expect(await text("pinned.txt")).toBe(intended);
  });

  it("the same for UploadPart: another body stores no part, the intended one completes the upload", async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: repoId, Key: "pinned-parts.txt" }),
    );
    const url = await presignedUrl(
      credentialsOf(writer),
      "PUT",
      urlOf("pinned-parts.txt", `?partNumber=1&uploadId=${encodeURIComponent(UploadId as string)}`),
      { "x-amz-content-sha256": sha256(intended) },
    );
    const refused = await fetch(url, { method: "PUT", body: other });
    expect(await xmlErrorOf(refused)).toEqual({ code: "XAmzContentSHA256Mismatch", status: 400 });
    const accepted = await fetch(url, { method: "PUT", body: intended });
    expect(accepted.status).toBe(200);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: repoId,
        Key: "pinned-parts.txt",
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: accepted.headers.get("etag") ?? "" }] },
      }),
    );
    expect(await text("pinned-parts.txt")).toBe(intended);
  });

  it("an x-amz-checksum-crc32 the presigner signed into the query is enforced: another body is 400 BadDigest", async () => {
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({
        Bucket: repoId,
        Key: "crc.txt",
        ChecksumCRC32: crc32Base64(intended),
      }),
      { expiresIn: 300 },
    );
    expect(new URL(url).searchParams.get("x-amz-checksum-crc32")).toBe(crc32Base64(intended));
    const refused = await fetch(url, { method: "PUT", body: other });
    expect(await xmlErrorOf(refused)).toEqual({ code: "BadDigest", status: 400 });
    expect(await exists("crc.txt")).toBe(false);
    expect((await fetch(url, { method: "PUT", body: intended })).status).toBe(200);
  });

  it("AWS SDK v3 signs the empty body's CRC32 into every presigned PutObject by default: a real body is BadDigest, as on R2; requestChecksumCalculation WHEN_REQUIRED (AWS's setting) leaves it out", async () => {
    const byDefault = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: repoId, Key: "d.bin" }),
    );
    expect(new URL(byDefault).searchParams.get("x-amz-checksum-crc32")).toBe("AAAAAA==");
    const refused = await fetch(byDefault, { method: "PUT", body: intended });
    expect(await xmlErrorOf(refused)).toEqual({ code: "BadDigest", status: 400 });

    const whenRequired = new S3Client({
      endpoint: gatewayUrl,
      region: "auto",
      forcePathStyle: true,
      credentials: credentialsOf(writer),
      requestChecksumCalculation: "WHEN_REQUIRED",
    });
    const url = await getSignedUrl(
      whenRequired,
      new PutObjectCommand({ Bucket: repoId, Key: "d.bin" }),
    );
    expect([...new URL(url).searchParams.keys()].filter((k) => /checksum/i.test(k))).toEqual([]);
    expect((await fetch(url, { method: "PUT", body: intended })).status).toBe(200);
    expect(await text("d.bin")).toBe(intended);
  });
});

describe("headers a presigned URL did not sign do not change how the object is served", () => {
  const client = () =>
    new S3Client({
      endpoint: gatewayUrl,
      region: "auto",
      forcePathStyle: true,
      credentials: credentialsOf(writer),
      requestChecksumCalculation: "WHEN_REQUIRED",
    });

  it("a presigned PUT sent with an unsigned Content-Type: text/html and friends is stored and served as binary/octet-stream, with nosniff", async () => {
    const url = await getSignedUrl(
      client(),
      new PutObjectCommand({ Bucket: repoId, Key: "up.html" }),
    );
    const put = await fetch(url, {
      method: "PUT",
      headers: {
        "Content-Type": "text/html",
        "Content-Disposition": "inline",
        "Cache-Control": "public, max-age=31536000",
        "Content-Language": "en",
      },
      body: other,
    });
    expect(put.status).toBe(200);
    const got = await fetch(
      await getSignedUrl(client(), new GetObjectCommand({ Bucket: repoId, Key: "up.html" })),
    );
    expect(await got.text()).toBe(other);
    expect(got.headers.get("content-type")).toBe("binary/octet-stream");
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");
    for (const name of ["content-disposition", "cache-control", "content-language"]) {
      expect(got.headers.get(name), name).toBeNull();
    }
  });

  it("the same URL with an added x-amz-meta-injected header is 403 AccessDenied, and nothing is stored", async () => {
    const url = await getSignedUrl(
      client(),
      new PutObjectCommand({ Bucket: repoId, Key: "inj.html" }),
    );
    const put = await fetch(url, {
      method: "PUT",
      headers: { "Content-Type": "text/html", "x-amz-meta-injected": "yes" },
      body: other,
    });
    expect(await xmlErrorOf(put)).toEqual({ code: "AccessDenied", status: 403 });
    expect(await exists("inj.html")).toBe(false);
  });

  it("a Content-Type the URL signed is kept (the presigner signs it only when asked: signableHeaders)", async () => {
    const url = await getSignedUrl(
      client(),
      new PutObjectCommand({ Bucket: repoId, Key: "typed.txt", ContentType: "text/plain" }),
      { signableHeaders: new Set(["content-type"]) },
    );
    expect(new URL(url).searchParams.get("X-Amz-SignedHeaders")).toBe("content-type;host");
    const wrongType = await fetch(url, {
      method: "PUT",
      headers: { "Content-Type": "text/html" },
      body: intended,
    });
    expect(await xmlErrorOf(wrongType)).toEqual({ code: "SignatureDoesNotMatch", status: 403 });
    const put = await fetch(url, {
      method: "PUT",
      headers: { "Content-Type": "text/plain" },
      body: intended,
    });
    expect(put.status).toBe(200);
    const head = await s3.send(new HeadObjectCommand({ Bucket: repoId, Key: "typed.txt" }));
    expect(head.ContentType).toBe("text/plain");
  });

  it("Metadata the presigner signed into the URL's query is kept, as on S3", async () => {
    const url = await getSignedUrl(
      client(),
      new PutObjectCommand({ Bucket: repoId, Key: "meta.txt", Metadata: { author: "ada" } }),
    );
    expect(new URL(url).searchParams.get("x-amz-meta-author")).toBe("ada");
    expect((await fetch(url, { method: "PUT", body: intended })).status).toBe(200);
    const head = await s3.send(new HeadObjectCommand({ Bucket: repoId, Key: "meta.txt" }));
    expect(head.Metadata).toEqual({ author: "ada" });
  });

  it("a header-signed PutObject from the SDK keeps its Content-Type and Cache-Control (the SDK never signs Cache-Control)", async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: repoId,
        Key: "sdk.txt",
        Body: intended,
        ContentType: "text/plain",
        CacheControl: "max-age=60",
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: repoId, Key: "sdk.txt" }));
    expect(head).toMatchObject({ ContentType: "text/plain", CacheControl: "max-age=60" });
  });
});

describe("what a client gets wrong is a 4xx, never a 500", () => {
  it.each([
    ["ResponseContentDisposition", "a\r\nSet-Cookie: session=evil"],
    ["ResponseContentType", "text/html\u0000x"],
  ])("a signed GET with %s %j is 400 InvalidArgument", async (parameter, value) => {
    await s3.send(new PutObjectCommand({ Bucket: repoId, Key: "doc.txt", Body: "doc" }));
    expect(
      await s3ErrorOf(
        s3.send(new GetObjectCommand({ Bucket: repoId, Key: "doc.txt", [parameter]: value })),
      ),
    ).toEqual({ code: "InvalidArgument", status: 400 });
  });

  it("AbortMultipartUpload of an unknown upload id is 404 NoSuchUpload", async () => {
    expect(
      await s3ErrorOf(
        s3.send(
          new AbortMultipartUploadCommand({ Bucket: repoId, Key: "k", UploadId: "nonsense" }),
        ),
      ),
    ).toEqual({ code: "NoSuchUpload", status: 404 });
  });

  it("another repository's upload id is 404 NoSuchUpload for Abort, UploadPart and Complete, and that upload stays whole", async () => {
    const Key = "shared-name.bin";
    const { UploadId } = await theirs.send(
      new CreateMultipartUploadCommand({ Bucket: otherRepoId, Key }),
    );
    const part = await theirs.send(
      new UploadPartCommand({ Bucket: otherRepoId, Key, UploadId, PartNumber: 1, Body: "theirs" }),
    );
    const mine = { Bucket: repoId, Key, UploadId };
    expect(await s3ErrorOf(s3.send(new AbortMultipartUploadCommand(mine)))).toEqual({
      code: "NoSuchUpload",
      status: 404,
    });
    expect(
      await s3ErrorOf(s3.send(new UploadPartCommand({ ...mine, PartNumber: 1, Body: "mine" }))),
    ).toEqual({ code: "NoSuchUpload", status: 404 });
    const Parts = [{ PartNumber: 1, ETag: part.ETag }];
    expect(
      await s3ErrorOf(
        s3.send(new CompleteMultipartUploadCommand({ ...mine, MultipartUpload: { Parts } })),
      ),
    ).toEqual({ code: "NoSuchUpload", status: 404 });
    expect(await exists(Key)).toBe(false);

    await theirs.send(
      new CompleteMultipartUploadCommand({
        Bucket: otherRepoId,
        Key,
        UploadId,
        MultipartUpload: { Parts },
      }),
    );
    const got = await theirs.send(new GetObjectCommand({ Bucket: otherRepoId, Key }));
    expect(await got.Body?.transformToString()).toBe("theirs");
  });

  it("a key with NUL is 400 InvalidArgument at PutObject and CreateMultipartUpload; listings stay well-formed XML", async () => {
    const Key = "nul\u0000key";
    expect(
      await s3ErrorOf(s3.send(new PutObjectCommand({ Bucket: repoId, Key, Body: "x" }))),
    ).toEqual({ code: "InvalidArgument", status: 400 });
    expect(
      await s3ErrorOf(s3.send(new CreateMultipartUploadCommand({ Bucket: repoId, Key }))),
    ).toEqual({ code: "InvalidArgument", status: 400 });
    const signer = new AwsClient({ ...credentialsOf(writer), service: "s3", region: "auto" });
    const listing = await signer.fetch(`${gatewayUrl}/${repoId}?list-type=2&prefix=nul`);
    const xml = await listing.text();
    expect(listing.status).toBe(200);
    expect(xml).toContain("<KeyCount>0</KeyCount>");
    expect(xmlCharacterProblems(xml)).toEqual([]);
  });

  it("an unsigned request is 403 AccessDenied, as on S3", async () => {
    const response = await fetch(urlOf("anything"));
    expect(await xmlErrorOf(response)).toEqual({ code: "AccessDenied", status: 403 });
  });
});
