import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { CreateMultipartUploadCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentialsOf, s3ClientFor, s3ErrorOf } from "../support/s3-gateway";
import {
  expectSuccess,
  findTool,
  headObject,
  keysUnder,
  MiB,
  NESTED_TREE,
  newToolUser,
  notYetServed,
  objectSha256,
  objectsUnder,
  putObject,
  RCLONE_REMOTE,
  readTree,
  sha256,
  type ToolUser,
  writeRandomFile,
  writeTree,
} from "../support/s3-tools";

/**
 * Debian's rclone (1.60) against the gateway, with the remote `rclone config` makes for an S3
 * service it does not know: provider Other (path-style), env_auth false, the key, the endpoint.
 * Nothing else: no list_version = 2, no no_check_bucket, so rclone lists with ListObjects v1
 * and creates the bucket before it writes, as it does with any S3 service.
 */

const rclone = await findTool("rclone");

describe.skipIf(!rclone)(`rclone (${rclone?.version})`, () => {
  let user: ToolUser;
  let remote: string;

  beforeAll(async () => {
    if (!rclone) return;
    user = await newToolUser(rclone);
    remote = `${RCLONE_REMOTE}:${user.bucket}`;
  });
  afterAll(() => user?.remove());

  /**
   * `rclone …args` in the work directory, once it succeeded. One attempt (`--retries 1
   * --low-level-retries 1`): a journey must not pass by retrying a gateway error, nor take
   * minutes of rclone's back-off to fail.
   */
  const run = async (args: string[], input?: Buffer) =>
    expectSuccess(
      await user.run([...args, "--retries", "1", "--low-level-retries", "1"], { input }),
      `rclone ${args.join(" ")}`,
    );
  const local = (name: string) => join(user.work, name);

  it.skipIf(notYetServed("ListObjects", "CreateBucket"))(
    "copy sends a tree with nested names, spaces, symbols and non-ASCII; check finds no difference",
    async () => {
      await writeTree(local("tree"), NESTED_TREE);
      await run(["copy", "tree", `${remote}/copy`]);
      expect(await objectsUnder(user, "copy/")).toEqual(NESTED_TREE);

      const checked = await run(["check", "tree", `${remote}/copy`]);
      expect(checked.stderr).toMatch(/0 differences found/);
      expect(checked.stderr).toMatch(
        new RegExp(`${Object.keys(NESTED_TREE).length} matching files`),
      );
    },
    60_000,
  );

  it.skipIf(notYetServed("ListObjects"))(
    "copy brings a tree back, byte for byte (each GetObject signs Accept-Encoding: gzip)",
    async () => {
      for (const [name, contents] of Object.entries(NESTED_TREE)) {
        await putObject(user, `copy-back/${name}`, contents);
      }
      await run(["copy", `${remote}/copy-back`, "back"]);
      expect(await readTree(local("back"))).toEqual(NESTED_TREE);
    },
    60_000,
  );

  it.skipIf(notYetServed("CreateBucket"))(
    "copyto sends one file; rcat streams stdin: a small one in one PUT, 12 MiB multipart of unknown length",
    async () => {
      const file = await writeRandomFile(local("one.bin"), 300 * 1024);
      await run(["copyto", "one.bin", `${remote}/copyto/renamed.bin`]);
      expect(await objectSha256(user, "copyto/renamed.bin")).toBe(file);

      await run(["rcat", `${remote}/rcat/small.txt`], Buffer.from("from stdin\n"));
      expect(await objectsUnder(user, "rcat/")).toEqual({ "small.txt": "from stdin\n" });

      const stream = randomBytes(12 * MiB);
      await run(["rcat", `${remote}/rcat/large.bin`], stream);
      expect(await objectSha256(user, "rcat/large.bin")).toBe(sha256(stream));
      // rclone's 5 MiB chunks: 5 + 5 + 2.
      expect((await headObject(user, "rcat/large.bin")).ETag).toMatch(/-3"$/);
    },
    60_000,
  );

  it.skipIf(notYetServed("ListObjects"))(
    "ls lists every object under a path with its size",
    async () => {
      await putObject(user, "ls/a.txt", "hello");
      await putObject(user, "ls/sub/b é.txt", "hi");
      const listed = await run(["ls", `${remote}/ls`]);
      expect(listed.stdout.trimEnd().split("\n")).toEqual([
        expect.stringMatching(/^\s+5 a\.txt$/),
        expect.stringMatching(/^\s+2 sub\/b é\.txt$/),
      ]);
    },
    60_000,
  );

  it.skipIf(notYetServed("CreateBucket"))("mkdir of the key's own bucket succeeds", async () => {
    await run(["mkdir", remote]);
  });

  it.skipIf(notYetServed("ListObjects"))(
    "delete removes every object under a path, and nothing beside it",
    async () => {
      for (const [name, contents] of Object.entries(NESTED_TREE)) {
        await putObject(user, `delete/${name}`, contents);
      }
      await putObject(user, "delete-kept.txt", "not under delete/\n");
      await run(["delete", `${remote}/delete`]);
      expect(await keysUnder(user, "delete")).toEqual(["delete-kept.txt"]);
    },
    60_000,
  );

  it.skipIf(notYetServed("ListMultipartUploads"))(
    "cleanup lists unfinished multipart uploads (keeping a fresh one); backend cleanup with max-age 0 aborts it",
    async () => {
      const { client } = s3ClientFor(credentialsOf(user.key));
      const pending = { Bucket: user.bucket, Key: "cleanup/unfinished.bin" };
      const { UploadId } = await client.send(new CreateMultipartUploadCommand(pending));
      const part = { ...pending, UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) };
      await client.send(new UploadPartCommand(part));

      // rclone cleanup aborts uploads older than 24 hours: this one stays.
      await run(["cleanup", remote]);
      await client.send(new UploadPartCommand({ ...part, PartNumber: 2 }));

      await run(["backend", "cleanup", remote, "-o", "max-age=0s"]);
      expect(await s3ErrorOf(client.send(new UploadPartCommand(part)))).toEqual({
        code: "NoSuchUpload",
        status: 404,
      });
    },
    60_000,
  );
});
