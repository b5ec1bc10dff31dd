import { createHash, randomBytes } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import {
  apiAs,
  credentialsOf,
  type StorageKey,
  s3ClientFor,
  s3ErrorOf,
} from "./support/s3-gateway";

/**
 * Copying within a bucket through the gateway, signed with real keys by AWS SDK v3 against
 * `npm run dev`: CopyObject (metadata COPY and REPLACE, copy-source conditions) and
 * UploadPartCopy with byte ranges. A key reads only its own repository: a source in another
 * bucket is AccessDenied.
 */

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

let repoId: string;
let otherRepoId: string;
let writer: StorageKey;
let reader: StorageKey;
let s3: ReturnType<typeof s3ClientFor>["client"];
let other: ReturnType<typeof s3ClientFor>["client"];

beforeAll(async () => {
  const owner = await apiAs("s3-copy");
  repoId = await owner.newRepo("copies");
  otherRepoId = await owner.newRepo("elsewhere");
  writer = await owner.newKey(repoId, "WRITE");
  reader = await owner.newKey(repoId, "READ");
  s3 = s3ClientFor(credentialsOf(writer)).client;
  other = s3ClientFor(credentialsOf(await owner.newKey(otherRepoId, "WRITE"))).client;
});

const bytesOf = async (key: string): Promise<Uint8Array> =>
  (
    (await s3.send(new GetObjectCommand({ Bucket: repoId, Key: key }))).Body as any
  ).transformToByteArray();

describe("CopyObject", () => {
  it("copies an object with its metadata to a key with spaces and non-ASCII; REPLACE sets new metadata", async () => {
    const body = randomBytes(3 * MiB);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: repoId,
        Key: "src/photo café.jpg",
        Body: body,
        ContentType: "image/jpeg",
        Metadata: { colour: "blue" },
      }),
    );
    const copied = await s3.send(
      new CopyObjectCommand({
        Bucket: repoId,
        Key: "dst/photo copy é+1.jpg",
        CopySource: `${repoId}/${encodeURIComponent("src/photo café.jpg")}`,
      }),
    );
    expect(copied.CopyObjectResult?.ETag).toBe(put.ETag);
    expect(copied.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
    expect(sha256(await bytesOf("dst/photo copy é+1.jpg"))).toBe(sha256(body));
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: repoId, Key: "dst/photo copy é+1.jpg" }),
    );
    expect([head.ContentType, head.Metadata]).toEqual(["image/jpeg", { colour: "blue" }]);

    await s3.send(
      new CopyObjectCommand({
        Bucket: repoId,
        Key: "dst/replaced.jpg",
        CopySource: `/${repoId}/src/photo%20caf%C3%A9.jpg?versionId=null`,
        MetadataDirective: "REPLACE",
        ContentType: "image/x-test",
        Metadata: { shape: "round" },
      }),
    );
    const replaced = await s3.send(
      new HeadObjectCommand({ Bucket: repoId, Key: "dst/replaced.jpg" }),
    );
    expect([replaced.ContentType, replaced.Metadata]).toEqual(["image/x-test", { shape: "round" }]);
  });

  it("a source in another repository is AccessDenied, even one the owner has; nothing is written", async () => {
    await other.send(new PutObjectCommand({ Bucket: otherRepoId, Key: "secret.txt", Body: "no" }));
    expect(
      await s3ErrorOf(
        s3.send(
          new CopyObjectCommand({
            Bucket: repoId,
            Key: "dst/stolen.txt",
            CopySource: `${otherRepoId}/secret.txt`,
          }),
        ),
      ),
    ).toEqual({ code: "AccessDenied", status: 403 });
    expect(
      await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: repoId, Key: "dst/stolen.txt" }))),
    ).toMatchObject({ status: 404 });
  });

  it("a READ key may read the source but not write the target: AccessDenied", async () => {
    await s3.send(new PutObjectCommand({ Bucket: repoId, Key: "src/r.txt", Body: "r" }));
    const readOnly = s3ClientFor(credentialsOf(reader)).client;
    expect(
      await s3ErrorOf(
        readOnly.send(
          new CopyObjectCommand({
            Bucket: repoId,
            Key: "dst/r.txt",
            CopySource: `${repoId}/src/r.txt`,
          }),
        ),
      ),
    ).toEqual({ code: "AccessDenied", status: 403 });
  });

  it("the copy-source conditions: a failing one is 412 PreconditionFailed, a holding one copies", async () => {
    const { ETag } = await s3.send(
      new PutObjectCommand({ Bucket: repoId, Key: "src/c.txt", Body: "conditional" }),
    );
    const copyIf = (conditions: Partial<ConstructorParameters<typeof CopyObjectCommand>[0]>) =>
      s3.send(
        new CopyObjectCommand({
          Bucket: repoId,
          Key: "dst/c.txt",
          CopySource: `${repoId}/src/c.txt`,
          ...conditions,
        }),
      );
    expect(await s3ErrorOf(copyIf({ CopySourceIfMatch: '"0000"' }))).toEqual({
      code: "PreconditionFailed",
      status: 412,
    });
    expect(await s3ErrorOf(copyIf({ CopySourceIfNoneMatch: ETag }))).toEqual({
      code: "PreconditionFailed",
      status: 412,
    });
    expect(
      await s3ErrorOf(copyIf({ CopySourceIfUnmodifiedSince: new Date(Date.now() - 3600_000) })),
    ).toEqual({ code: "PreconditionFailed", status: 412 });
    const held = await copyIf({ CopySourceIfMatch: ETag });
    expect(held.CopyObjectResult?.ETag).toBe(ETag);
  });
});

describe("UploadPartCopy", () => {
  it("copies a 12 MiB object in two byte ranges that complete into the same bytes", async () => {
    const body = randomBytes(12 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: repoId, Key: "big/source.bin", Body: body }));
    const target = { Bucket: repoId, Key: "big/copied.bin" };
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand(target));
    const ranges = [`bytes=0-${6 * MiB - 1}`, `bytes=${6 * MiB}-${12 * MiB - 1}`];
    const parts = [];
    for (const [i, range] of ranges.entries()) {
      const part = await s3.send(
        new UploadPartCopyCommand({
          ...target,
          UploadId,
          PartNumber: i + 1,
          CopySource: `${repoId}/big/source.bin`,
          CopySourceRange: range,
        }),
      );
      parts.push({ ETag: part.CopyPartResult?.ETag, PartNumber: i + 1 });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        ...target,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    expect(sha256(await bytesOf(target.Key))).toBe(sha256(body));
  }, 60_000);
});
