import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { gatewayUrl } from "./support/http";
import { apiAs, credentialsOf, s3ClientFor, s3ErrorOf } from "./support/s3-gateway";

/**
 * Through `npm run dev`, with real keys and AWS's JavaScript SDK: what tools ask before and
 * around their real work (issue 23). ListObjects v1 paging, ListBuckets and CreateBucket,
 * GetBucketLocation, DeleteObjects, ListMultipartUploads and ListParts.
 */

let repoId: string;
let repoCreatedAt: string;
let otherRepo: string;
let s3: S3Client;

beforeAll(async () => {
  const owner = await apiAs("buckets");
  repoId = await owner.newRepo("tools");
  repoCreatedAt = await owner.repoCreatedAt(repoId);
  otherRepo = await owner.newRepo("elsewhere");
  s3 = s3ClientFor(credentialsOf(await owner.newKey(repoId, "WRITE"))).client;
});

const put = (key: string) => s3.send(new PutObjectCommand({ Bucket: repoId, Key: key, Body: key }));

describe("bucket questions and listings through npm run dev", () => {
  it("ListObjects (v1) pages by NextMarker with a delimiter, each prefix once", async () => {
    for (const key of ["v1/a/1", "v1/a/2", "v1/b", "v1/c/1", "v1/d"]) await put(key);
    const seen: string[] = [];
    let Marker: string | undefined;
    for (let page = 0; page < 10; page++) {
      const listed = await s3.send(
        new ListObjectsCommand({
          Bucket: repoId,
          Prefix: "v1/",
          Delimiter: "/",
          MaxKeys: 2,
          Marker,
        }),
      );
      seen.push(
        ...(listed.Contents ?? []).map((o) => o.Key as string),
        ...(listed.CommonPrefixes ?? []).map((p) => p.Prefix as string),
      );
      if (!listed.IsTruncated) break;
      Marker = listed.NextMarker;
    }
    expect(seen.sort()).toEqual(["v1/a/", "v1/b", "v1/c/", "v1/d"]);
  });

  it("ListBuckets shows the key's one bucket; CreateBucket of it succeeds, of another is AccessDenied", async () => {
    const buckets = await s3.send(new ListBucketsCommand({}));
    expect(buckets.Buckets?.map((b) => [b.Name, b.CreationDate?.toISOString()])).toEqual([
      [repoId, repoCreatedAt],
    ]);
    expect(buckets.Owner?.ID).toMatch(/\S/);
    await s3.send(new CreateBucketCommand({ Bucket: repoId }));
    expect(await s3ErrorOf(s3.send(new CreateBucketCommand({ Bucket: otherRepo })))).toEqual({
      code: "AccessDenied",
      status: 403,
    });
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: repoId }));
    expect(location.LocationConstraint ?? "").toBe("");
  });

  it("DeleteObjects deletes a batch with the SDK's checksum, and says which", async () => {
    for (const key of ["del/1", "del/2 &<x>"]) await put(key);
    const deleted = await s3.send(
      new DeleteObjectsCommand({
        Bucket: repoId,
        Delete: { Objects: [{ Key: "del/1" }, { Key: "del/2 &<x>" }, { Key: "del/absent" }] },
      }),
    );
    expect(deleted.Deleted?.map((d) => d.Key).sort()).toEqual([
      "del/1",
      "del/2 &<x>",
      "del/absent",
    ]);
    expect(deleted.Errors ?? []).toEqual([]);
    const head = await s3ErrorOf(s3.send(new HeadObjectCommand({ Bucket: repoId, Key: "del/1" })));
    expect(head.status).toBe(404);
  });

  it("ListMultipartUploads and ListParts show an upload in progress", async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: repoId, Key: "mp/big.bin" }),
    );
    await s3.send(
      new UploadPartCommand({
        Bucket: repoId,
        Key: "mp/big.bin",
        UploadId,
        PartNumber: 1,
        Body: "first part",
      }),
    );
    const uploads = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: repoId, Prefix: "mp/" }),
    );
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([["mp/big.bin", UploadId]]);
    const parts = await s3.send(
      new ListPartsCommand({ Bucket: repoId, Key: "mp/big.bin", UploadId }),
    );
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 10]]);
  });

  it("CompleteMultipartUpload answers the object's path-style URL as its Location", async () => {
    const Key = "completed/done file é.txt";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: repoId, Key }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: repoId, Key, UploadId, PartNumber: 1, Body: "one part" }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: repoId,
        Key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    expect(done.Location).toBe(`${gatewayUrl}/${repoId}/completed/done%20file%20%C3%A9.txt`);
  });
});
