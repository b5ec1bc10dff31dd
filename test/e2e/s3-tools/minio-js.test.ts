import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import * as Minio from "minio";
import { beforeAll, describe, expect, it } from "vitest";
import { gatewayUrl } from "../support/http";
import {
  type Bucket,
  keysUnder,
  MiB,
  newBucket,
  notYetServed,
  objectSha256,
  putObject,
  sha256,
} from "../support/s3-tools";

/**
 * MinIO's JavaScript client (`minio` on npm) against the gateway, made as its README says with
 * the gateway's host and port, plain HTTP and path-style, and no region: it asks the bucket's
 * location (`GET ?location`) before its first request. Over HTTP it signs every body's SHA-256;
 * a stream of unknown length goes multipart, after asking for an upload to resume
 * (ListMultipartUploads), with its parts numbered from 2.
 */

let user: Bucket;
let minio: Minio.Client;

beforeAll(async () => {
  user = await newBucket("minio");
  const { hostname, port } = new URL(gatewayUrl);
  minio = new Minio.Client({
    endPoint: hostname,
    port: Number(port),
    useSSL: false,
    pathStyle: true,
    accessKey: user.key.key,
    secretKey: user.key.secret,
  });
});

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A stream that does not say how long it is: 1 MiB pieces, `count` of them. */
function streamOfUnknownLength(count: number): { stream: Readable; sha256: string } {
  const pieces = Array.from({ length: count }, () => randomBytes(MiB));
  return { stream: Readable.from(pieces), sha256: sha256(Buffer.concat(pieces)) };
}

describe("MinIO's JavaScript client", () => {
  it.skipIf(notYetServed("GetBucketLocation", "ListMultipartUploads"))(
    "putObject of a stream of unknown length (multipart), then getObject, byte for byte",
    async () => {
      const { stream, sha256: expected } = streamOfUnknownLength(7);
      const put = await minio.putObject(user.bucket, "stream/unknown length é.bin", stream);
      expect(put.etag).toMatch(/-1$/);

      const got = await collect(await minio.getObject(user.bucket, "stream/unknown length é.bin"));
      expect(sha256(got)).toBe(expected);
      expect(await objectSha256(user, "stream/unknown length é.bin")).toBe(expected);
    },
    60_000,
  );

  it.skipIf(notYetServed("GetBucketLocation"))(
    "bucketExists is true for the key's bucket; putObject of a Buffer keeps its type and metadata, as statObject shows",
    async () => {
      expect(await minio.bucketExists(user.bucket)).toBe(true);
      const body = Buffer.from("hello from minio\n");
      await minio.putObject(user.bucket, "buffer/hello.txt", body, body.length, {
        "Content-Type": "text/plain",
        "X-Amz-Meta-Owner": "alice",
      });
      const stat = await minio.statObject(user.bucket, "buffer/hello.txt");
      expect(stat.size).toBe(body.length);
      expect(stat.etag).toBe(createHash("md5").update(body).digest("hex"));
      expect(stat.metaData).toMatchObject({ "content-type": "text/plain", owner: "alice" });
      expect(await objectSha256(user, "buffer/hello.txt")).toBe(sha256(body));
    },
  );

  it.skipIf(notYetServed("GetBucketLocation", "ListObjects"))(
    "listObjectsV2 and listObjects (v1) stream every key under a prefix, recursively or by folder",
    async () => {
      for (const name of ["a", "b/1", "b/2", "c é"]) await putObject(user, `list/${name}`, name);
      const names = async (listing: Minio.BucketStream<any>) =>
        (await listing.toArray()).map((item: any) => item.name ?? item.prefix);

      const all = ["list/a", "list/b/1", "list/b/2", "list/c é"];
      expect(await names(minio.listObjectsV2(user.bucket, "list/", true))).toEqual(all);
      expect(await names(minio.listObjects(user.bucket, "list/", true))).toEqual(all);
      const folder = ["list/a", "list/b/", "list/c é"];
      expect((await names(minio.listObjectsV2(user.bucket, "list/"))).sort()).toEqual(folder);
      expect((await names(minio.listObjects(user.bucket, "list/"))).sort()).toEqual(folder);
    },
  );

  it.skipIf(notYetServed("GetBucketLocation", "DeleteObjects"))(
    "removeObjects deletes a batch, and nothing beside it",
    async () => {
      const keys = ["remove/a.txt", "remove/b & <c>.txt", "remove/日本.txt"];
      for (const key of keys) await putObject(user, key, key);
      await putObject(user, "remove-kept.txt", "kept");
      await minio.removeObjects(user.bucket, keys);
      expect(await keysUnder(user, "remove")).toEqual(["remove-kept.txt"]);
    },
  );

  it.skipIf(notYetServed("GetBucketLocation"))(
    "presignedPutObject and presignedGetObject make URLs that fetch can PUT to and GET from",
    async () => {
      const body = randomBytes(100 * 1024);
      const putUrl = await minio.presignedPutObject(user.bucket, "presigned/file.bin", 300);
      const put = await fetch(putUrl, { method: "PUT", body });
      expect(put.status, await put.text()).toBe(200);

      const getUrl = await minio.presignedGetObject(user.bucket, "presigned/file.bin", 300);
      const got = await fetch(getUrl);
      expect(got.status).toBe(200);
      expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(body));
    },
  );
});
