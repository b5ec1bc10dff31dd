import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectSuccess,
  findTool,
  headObject,
  keysUnder,
  MiB,
  newToolUser,
  notYetServed,
  objectSha256,
  objectsUnder,
  putObject,
  sha256OfFile,
  type ToolUser,
  writeRandomFile,
} from "../support/s3-tools";

/**
 * Debian's boto3 (1.26) against the gateway: credentials and region from the files `aws
 * configure` writes, the endpoint and path-style addressing given to boto3.client(), nothing
 * else (its default 8 MiB multipart threshold and chunks). Each journey is one python3 process
 * (a slow interpreter start-up is paid once), printing its findings as JSON on its last line.
 */

const boto3 = await findTool("boto3");

/** The start of every journey's script: `s3`, `bucket`, and `args` (JSON from stdin). */
const PRELUDE = `
import json, sys
import boto3
from botocore.config import Config

args = json.load(sys.stdin)
bucket = args["bucket"]
s3 = boto3.client("s3", endpoint_url=args["endpoint"], config=Config(s3={"addressing_style": "path"}))
`;

describe.skipIf(!boto3)(`boto3 (${boto3?.version})`, () => {
  let user: ToolUser;
  let bucket: string;

  beforeAll(async () => {
    if (!boto3) return;
    user = await newToolUser(boto3);
    bucket = user.bucket;
  });
  afterAll(() => user?.remove());

  /** Runs one journey's Python (after PRELUDE) in the work directory; what it printed last, parsed. */
  const python = async (script: string, args: Record<string, unknown> = {}) => {
    const input = JSON.stringify({ bucket, endpoint: user.endpoint, ...args });
    const ran = await user.run(["-c", PRELUDE + script], { input, timeoutMs: 120_000 });
    expectSuccess(ran, "the boto3 journey");
    return JSON.parse(ran.stdout.trimEnd().split("\n").pop() ?? "null");
  };

  it("upload_file and download_file move 20 MiB in 8 MiB parts, byte for byte", async () => {
    const big = await writeRandomFile(join(user.work, "big.bin"), 20 * MiB);
    await python(`
s3.upload_file("big.bin", bucket, "transfer/big file é.bin")
s3.download_file(bucket, "transfer/big file é.bin", "big.down")
print(json.dumps(None))
`);
    expect(await objectSha256(user, "transfer/big file é.bin")).toBe(big);
    expect((await headObject(user, "transfer/big file é.bin")).ETag).toMatch(/-3"$/);
    expect(await sha256OfFile(join(user.work, "big.down"))).toBe(big);
  }, 90_000);

  it("the list_objects_v2 paginator pages through keys two at a time, and groups by delimiter", async () => {
    const found = await python(`
for name in ["a", "b", "c", "d/1", "d/2", "e & é"]:
    s3.put_object(Bucket=bucket, Key="v2/" + name, Body=name.encode())
pages = s3.get_paginator("list_objects_v2").paginate(
    Bucket=bucket, Prefix="v2/", PaginationConfig={"PageSize": 2})
by_folder = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="v2/", Delimiter="/")
print(json.dumps({
    "pages": [[o["Key"] for o in page.get("Contents", [])] for page in pages],
    "keys": [o["Key"] for page in by_folder for o in page.get("Contents", [])],
    "folders": [p["Prefix"] for page in by_folder for p in page.get("CommonPrefixes", [])],
}))
`);
    expect(found).toEqual({
      pages: [
        ["v2/a", "v2/b"],
        ["v2/c", "v2/d/1"],
        ["v2/d/2", "v2/e & é"],
      ],
      keys: ["v2/a", "v2/b", "v2/c", "v2/e & é"],
      folders: ["v2/d/"],
    });
  }, 60_000);

  it.skipIf(notYetServed("ListObjects"))(
    "the list_objects (v1) paginator pages by Marker, and by NextMarker with a delimiter",
    async () => {
      const found = await python(`
for name in ["a", "b", "c", "d/1", "d/2", "e & é"]:
    s3.put_object(Bucket=bucket, Key="v1/" + name, Body=name.encode())
def listing(**extra):
    pages = s3.get_paginator("list_objects").paginate(
        Bucket=bucket, Prefix="v1/", PaginationConfig={"PageSize": 2}, **extra)
    return [{"keys": [o["Key"] for o in page.get("Contents", [])],
             "folders": [p["Prefix"] for p in page.get("CommonPrefixes", [])],
             "truncated": page["IsTruncated"]} for page in pages]
print(json.dumps({"flat": listing(), "by_folder": listing(Delimiter="/")}))
`);
      expect(found.flat).toEqual([
        { keys: ["v1/a", "v1/b"], folders: [], truncated: true },
        { keys: ["v1/c", "v1/d/1"], folders: [], truncated: true },
        { keys: ["v1/d/2", "v1/e & é"], folders: [], truncated: false },
      ]);
      expect(found.by_folder.flatMap((page: any) => page.keys)).toEqual([
        "v1/a",
        "v1/b",
        "v1/c",
        "v1/e & é",
      ]);
      expect(found.by_folder.flatMap((page: any) => page.folders)).toEqual(["v1/d/"]);
    },
    60_000,
  );

  it.skipIf(notYetServed("CopyObject"))(
    "copy_object copies within the bucket, keeping metadata (COPY) or replacing it (REPLACE)",
    async () => {
      const found = await python(`
s3.put_object(Bucket=bucket, Key="copy/source.txt", Body=b"copy me\\n",
              ContentType="text/plain", Metadata={"owner": "alice"})
source = {"Bucket": bucket, "Key": "copy/source.txt"}
s3.copy_object(Bucket=bucket, Key="copy/kept meta.txt", CopySource=source)
s3.copy_object(Bucket=bucket, Key="copy/new meta.txt", CopySource=source,
               MetadataDirective="REPLACE", ContentType="text/markdown", Metadata={"owner": "bob"})
heads = {key: s3.head_object(Bucket=bucket, Key="copy/" + key) for key in ["kept meta.txt", "new meta.txt"]}
print(json.dumps({key: [h["ContentType"], h["Metadata"]] for key, h in heads.items()}))
`);
      expect(found).toEqual({
        "kept meta.txt": ["text/plain", { owner: "alice" }],
        "new meta.txt": ["text/markdown", { owner: "bob" }],
      });
      expect(await objectsUnder(user, "copy/")).toEqual({
        "kept meta.txt": "copy me\n",
        "new meta.txt": "copy me\n",
        "source.txt": "copy me\n",
      });
    },
    60_000,
  );

  it.skipIf(notYetServed("UploadPartCopy"))(
    "the managed copy() of a 20 MiB object copies it in 8 MiB parts (UploadPartCopy)",
    async () => {
      const big = await writeRandomFile(join(user.work, "to-copy.bin"), 20 * MiB);
      await python(`
s3.upload_file("to-copy.bin", bucket, "copy-large/source.bin")
s3.copy({"Bucket": bucket, "Key": "copy-large/source.bin"}, bucket, "copy-large/copied.bin")
print(json.dumps(None))
`);
      expect(await objectSha256(user, "copy-large/copied.bin")).toBe(big);
      expect((await headObject(user, "copy-large/copied.bin")).ETag).toMatch(/-3"$/);
    },
    90_000,
  );

  it.skipIf(notYetServed("DeleteObjects"))(
    "delete_objects deletes a batch, naming each key (an absent one too); Quiet names none",
    async () => {
      const keys = ["batch/a.txt", "batch/b & <c>.txt", "batch/ünï 日本.txt"];
      for (const key of keys) await putObject(user, key, key);
      await putObject(user, "batch-kept.txt", "not in the batch\n");

      const found = await python(
        `
loud = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in args["keys"]]})
s3.put_object(Bucket=bucket, Key="batch/quiet.txt", Body=b"q")
quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "batch/quiet.txt"}], "Quiet": True})
print(json.dumps({
    "deleted": sorted(d["Key"] for d in loud.get("Deleted", [])),
    "errors": loud.get("Errors", []) + quiet.get("Errors", []),
    "quiet": quiet.get("Deleted", []),
}))
`,
        { keys: [...keys, "batch/never-there.txt"] },
      );
      expect(found).toEqual({
        deleted: [...keys, "batch/never-there.txt"].sort(),
        errors: [],
        quiet: [],
      });
      expect(await keysUnder(user, "batch")).toEqual(["batch-kept.txt"]);
    },
    60_000,
  );

  it.skipIf(notYetServed("ListBuckets", "GetBucketLocation", "CreateBucket"))(
    "list_buckets shows the key's one bucket; head_bucket, get_bucket_location and create_bucket of it succeed; another name is AccessDenied",
    async () => {
      const found = await python(`
from botocore.exceptions import ClientError
listed = s3.list_buckets()
s3.head_bucket(Bucket=bucket)
location = s3.get_bucket_location(Bucket=bucket)
s3.create_bucket(Bucket=bucket)
try:
    s3.create_bucket(Bucket="someone-elses-bucket")
    other = None
except ClientError as error:
    other = error.response["Error"]["Code"]
print(json.dumps({
    "buckets": [b["Name"] for b in listed["Buckets"]],
    "has_location": "LocationConstraint" in location,
    "other": other,
}))
`);
      expect(found).toEqual({ buckets: [bucket], has_location: true, other: "AccessDenied" });
    },
    60_000,
  );
});
