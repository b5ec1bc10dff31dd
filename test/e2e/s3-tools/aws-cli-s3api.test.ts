import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectSuccess,
  findTool,
  MiB,
  newToolUser,
  notYetServed,
  putObject,
  runProgram,
  sha256,
  sha256OfFile,
  type ToolUser,
  writeRandomFile,
} from "../support/s3-tools";

/**
 * Single requests with Debian's AWS CLI (awscli 2.9): presigned URLs, `aws s3api` ranged reads,
 * head-object, multipart uploads in progress and questions about the bucket, set up as
 * `aws configure` would plus path-style addressing, with --endpoint-url on every command.
 */

const aws = await findTool("aws");

describe.skipIf(!aws)(`single requests with the AWS CLI (${aws?.version})`, () => {
  let user: ToolUser;
  let bucket: string;

  beforeAll(async () => {
    if (!aws) return;
    user = await newToolUser(aws);
    bucket = user.bucket;
  });
  afterAll(() => user?.remove());

  const attempt = (...args: string[]) => user.run(["--endpoint-url", user.endpoint, ...args]);
  /** `aws --endpoint-url <gateway> …args` in the work directory; its stdout, once it succeeded. */
  const cli = async (...args: string[]) =>
    expectSuccess(await attempt(...args), `aws ${args.join(" ")}`).stdout;
  /** An `aws s3api` command's JSON answer ({} when it prints nothing). */
  const s3api = async (...args: string[]) => JSON.parse((await cli("s3api", ...args)) || "{}");
  const local = (name: string) => join(user.work, name);

  it("presign makes a URL that curl can GET, byte for byte", async () => {
    const expected = await writeRandomFile(local("shared.bin"), 64 * 1024);
    const target = `s3://${bucket}/presign/shared file é.bin`;
    await cli("s3", "cp", "shared.bin", target, "--no-progress");

    const url = (await cli("s3", "presign", target, "--expires-in", "300")).trim();
    expect(url).toMatch(/[?&]X-Amz-Signature=[0-9a-f]{64}(&|$)/);
    const got = await runProgram("curl", ["-sS", "-f", "-o", local("shared.down"), url], {
      env: user.env,
      timeoutMs: 30_000,
    });
    expectSuccess(got, "curl of the presigned URL");
    expect(await sha256OfFile(local("shared.down"))).toBe(expected);
  }, 60_000);

  it("s3api get-object --range returns exactly those bytes (Content-Range), and a suffix range the last ones", async () => {
    const bytes = randomBytes(MiB);
    await putObject(user, "range/ranged.bin", bytes);
    const key = ["--bucket", bucket, "--key", "range/ranged.bin"];

    const middle = await s3api("get-object", ...key, "--range", "bytes=1000-1999", "middle.bin");
    expect(middle.ContentRange).toBe(`bytes 1000-1999/${MiB}`);
    expect(middle.ContentLength).toBe(1000);
    expect(await sha256OfFile(local("middle.bin"))).toBe(sha256(bytes.subarray(1000, 2000)));

    const tail = await s3api("get-object", ...key, "--range", "bytes=-100", "tail.bin");
    expect(tail.ContentRange).toBe(`bytes ${MiB - 100}-${MiB - 1}/${MiB}`);
    expect(await sha256OfFile(local("tail.bin"))).toBe(sha256(bytes.subarray(MiB - 100)));
  }, 60_000);

  it("s3api head-object gives the length, MD5 ETag, type, cache control and metadata the upload set; a missing key is 404", async () => {
    const body = '{"hello":"gateway"}\n';
    await writeFile(local("doc.json"), body);
    await cli(
      "s3",
      "cp",
      "doc.json",
      `s3://${bucket}/head/doc.json`,
      "--no-progress",
      ...["--content-type", "application/json", "--cache-control", "max-age=60"],
      ...["--metadata", "owner=alice,purpose=e2e"],
    );

    expect(await s3api("head-object", "--bucket", bucket, "--key", "head/doc.json")).toMatchObject({
      ContentLength: body.length,
      ETag: `"${createHash("md5").update(body).digest("hex")}"`,
      ContentType: "application/json",
      CacheControl: "max-age=60",
      Metadata: { owner: "alice", purpose: "e2e" },
    });

    const missing = await attempt("s3api", "head-object", "--bucket", bucket, "--key", "head/no");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/\(404\)/);
  }, 60_000);

  it.skipIf(notYetServed("ListMultipartUploads", "ListParts"))(
    "s3api list-multipart-uploads and list-parts show an upload in progress; once aborted it is gone",
    async () => {
      await writeRandomFile(local("part.bin"), 5 * MiB);
      const key = ["--bucket", bucket, "--key", "mpu/pending.bin"];
      const { UploadId } = await s3api("create-multipart-upload", ...key);
      const upload = ["--upload-id", UploadId];
      const { ETag } = await s3api(
        "upload-part",
        ...key,
        ...upload,
        ...["--part-number", "1", "--body", "part.bin"],
      );

      const uploads = await s3api("list-multipart-uploads", "--bucket", bucket);
      expect(uploads.Uploads).toEqual([
        expect.objectContaining({ Key: "mpu/pending.bin", UploadId }),
      ]);
      const parts = await s3api("list-parts", ...key, ...upload);
      expect(parts.Parts).toEqual([
        expect.objectContaining({ PartNumber: 1, ETag, Size: 5 * MiB }),
      ]);

      await cli("s3api", "abort-multipart-upload", ...key, ...upload);
      expect((await s3api("list-multipart-uploads", "--bucket", bucket)).Uploads ?? []).toEqual([]);
    },
    60_000,
  );

  it.skipIf(
    notYetServed("CreateBucket", "GetBucketLocation", "GetBucketVersioning", "GetObjectTagging"),
  )(
    "mb of the key's own bucket succeeds and of another name is AccessDenied; head-bucket, location, versioning and tags answer as S3 does",
    async () => {
      expect(await cli("s3", "mb", `s3://${bucket}`)).toBe(`make_bucket: ${bucket}\n`);
      const other = await attempt("s3", "mb", "s3://someone-elses-bucket");
      expect(other.code).not.toBe(0);
      expect(other.stderr).toMatch(/AccessDenied/);

      await cli("s3api", "head-bucket", "--bucket", bucket);
      expect(await s3api("get-bucket-location", "--bucket", bucket)).toHaveProperty(
        "LocationConstraint",
      );
      // Versioning never enabled: S3 answers an empty configuration.
      expect(await s3api("get-bucket-versioning", "--bucket", bucket)).toEqual({});

      await putObject(user, "tags/tagged.txt", "tags\n");
      const tags = await s3api(
        "get-object-tagging",
        "--bucket",
        bucket,
        "--key",
        "tags/tagged.txt",
      );
      expect(tags.TagSet).toEqual([]);
    },
    60_000,
  );
});
