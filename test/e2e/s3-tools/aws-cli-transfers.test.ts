import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  readTree,
  sha256OfFile,
  type ToolUser,
  writeRandomFile,
  writeTree,
} from "../support/s3-tools";

/**
 * Moving files with Debian's AWS CLI (awscli 2.9): `aws s3` cp, ls, sync, rm and mv against the
 * gateway, set up as `aws configure` would (a credentials file, region us-east-1) plus path-style
 * addressing, with --endpoint-url on every command (the CLI reads no endpoint from its config
 * before 2.13). What the gateway stored is read back with another client, byte for byte.
 */

const aws = await findTool("aws");

describe.skipIf(!aws)(`moving files with the AWS CLI (${aws?.version})`, () => {
  let user: ToolUser;
  let bucket: string;

  beforeAll(async () => {
    if (!aws) return;
    user = await newToolUser(aws);
    bucket = user.bucket;
  });
  afterAll(() => user?.remove());

  /** `aws --endpoint-url <gateway> …args` in the work directory; its stdout, once it succeeded. */
  const cli = async (...args: string[]) =>
    expectSuccess(
      await user.run(["--endpoint-url", user.endpoint, ...args]),
      `aws ${args.join(" ")}`,
    ).stdout;
  const local = (name: string) => join(user.work, name);

  it("cp uploads and downloads a small file and a 20 MiB one (multipart up, ranged GETs down), byte for byte", async () => {
    const small = await writeRandomFile(local("small.bin"), 1000);
    const big = await writeRandomFile(local("big.bin"), 20 * MiB);

    expect(await cli("s3", "cp", "small.bin", `s3://${bucket}/cp/small.bin`, "--no-progress")).toBe(
      `upload: ./small.bin to s3://${bucket}/cp/small.bin\n`,
    );
    await cli("s3", "cp", "big.bin", `s3://${bucket}/cp/big.bin`, "--no-progress");
    expect(await objectSha256(user, "cp/small.bin")).toBe(small);
    expect(await objectSha256(user, "cp/big.bin")).toBe(big);
    // Sent in the CLI's 8 MiB parts: a multipart ETag names its part count.
    expect((await headObject(user, "cp/big.bin")).ETag).toMatch(/^"[0-9a-f]{32}-3"$/);

    await cli("s3", "cp", `s3://${bucket}/cp/small.bin`, "small.down", "--no-progress");
    await cli("s3", "cp", `s3://${bucket}/cp/big.bin`, "big.down", "--no-progress");
    expect(await sha256OfFile(local("small.down"))).toBe(small);
    expect(await sha256OfFile(local("big.down"))).toBe(big);
  }, 90_000);

  it("ls lists a folder's objects and subfolders, and --recursive every key under it", async () => {
    await writeTree(local("ls"), { "a.txt": "hello", "sub/b.txt": "hi", "sub/deeper/c.txt": "c" });
    await cli("s3", "cp", "ls", `s3://${bucket}/ls/`, "--recursive", "--no-progress");

    const folder = (await cli("s3", "ls", `s3://${bucket}/ls/`)).trimEnd().split("\n");
    expect(folder).toHaveLength(2);
    expect(folder[0]).toMatch(/^\s+PRE sub\/$/);
    expect(folder[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+5 a\.txt$/);

    expect(await cli("s3", "ls", `s3://${bucket}`)).toMatch(/^\s+PRE ls\/$/m);

    const recursive = await cli("s3", "ls", `s3://${bucket}/ls/`, "--recursive");
    expect(
      recursive
        .trimEnd()
        .split("\n")
        .map((line) => line.split(/\s+/).pop()),
    ).toEqual(["ls/a.txt", "ls/sub/b.txt", "ls/sub/deeper/c.txt"]);
  }, 60_000);

  it.skipIf(notYetServed("ListBuckets"))(
    "ls with no bucket lists the key's one bucket, made when its repo was (minutes ago)",
    async () => {
      const listed = await cli("s3", "ls");
      expect(listed.trimEnd().split("\n")).toEqual([expect.stringMatching(` ${bucket}$`)]);
      // The CLI prints the CreationDate in local time, as "2026-12-02 07:31:51".
      const printed = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) /.exec(listed);
      const created = new Date(`${printed?.[1]}T${printed?.[2]}`).getTime();
      expect(Math.abs(Date.now() - created)).toBeLessThan(10 * 60_000);
    },
  );

  it("sync up and down keeps nested names with spaces, symbols and non-ASCII; a second sync sends nothing, then only the file that changed", async () => {
    await writeTree(local("tree"), NESTED_TREE);
    const up = await cli("s3", "sync", "tree", `s3://${bucket}/sync/`, "--no-progress");
    expect(up.trimEnd().split("\n")).toHaveLength(Object.keys(NESTED_TREE).length);
    // Read with another client: stored under the names exactly as on disk.
    expect(await objectsUnder(user, "sync/")).toEqual(NESTED_TREE);

    expect(await cli("s3", "sync", "tree", `s3://${bucket}/sync/`, "--no-progress")).toBe("");

    await cli("s3", "sync", `s3://${bucket}/sync/`, "back", "--no-progress");
    expect(await readTree(local("back"))).toEqual(NESTED_TREE);

    await writeFile(local("tree/with space/a b+c&d=e.txt"), "changed, and longer than before\n");
    expect(await cli("s3", "sync", "tree", `s3://${bucket}/sync/`, "--no-progress")).toBe(
      `upload: tree/with space/a b+c&d=e.txt to s3://${bucket}/sync/with space/a b+c&d=e.txt\n`,
    );
  }, 60_000);

  it("rm --recursive deletes every object under a prefix, and nothing beside it", async () => {
    await writeTree(local("rm"), NESTED_TREE);
    await cli("s3", "sync", "rm", `s3://${bucket}/rm/`, "--no-progress");
    await putObject(user, "rm-kept.txt", "not under rm/\n");

    const removed = await cli("s3", "rm", "--recursive", `s3://${bucket}/rm/`);
    expect(removed.trimEnd().split("\n")).toHaveLength(Object.keys(NESTED_TREE).length);
    expect(await keysUnder(user, "rm")).toEqual(["rm-kept.txt"]);
  }, 60_000);

  it.skipIf(notYetServed("CopyObject"))(
    "mv moves an object, cp copies one, and sync copies a prefix to another, within the bucket",
    async () => {
      await putObject(user, "mv/a.txt", "moving\n");
      await putObject(user, "mv/b/c.txt", "copied along\n");

      await cli("s3", "mv", `s3://${bucket}/mv/a.txt`, `s3://${bucket}/mv/moved.txt`);
      await cli("s3", "cp", `s3://${bucket}/mv/b/c.txt`, `s3://${bucket}/mv/copy é.txt`);
      expect(await objectsUnder(user, "mv/")).toEqual({
        "moved.txt": "moving\n",
        "b/c.txt": "copied along\n",
        "copy é.txt": "copied along\n",
      });

      await cli("s3", "sync", `s3://${bucket}/mv/`, `s3://${bucket}/mv-synced/`);
      expect(await objectsUnder(user, "mv-synced/")).toEqual(await objectsUnder(user, "mv/"));
    },
    60_000,
  );

  it.skipIf(notYetServed("GetObjectTagging", "UploadPartCopy"))(
    "cp of a 20 MiB object to another key copies it in parts (UploadPartCopy), keeping its type",
    async () => {
      const big = await writeRandomFile(local("to-copy.bin"), 20 * MiB);
      const source = `s3://${bucket}/copy/typed.bin`;
      const type = "application/x-flashgate-test";
      await cli("s3", "cp", "--content-type", type, "to-copy.bin", source, "--no-progress");

      await cli("s3", "cp", source, `s3://${bucket}/copy/copied.bin`, "--no-progress");
      expect(await objectSha256(user, "copy/copied.bin")).toBe(big);
      const copied = await headObject(user, "copy/copied.bin");
      expect(copied.ContentType).toBe(type);
      expect(copied.ETag).toMatch(/-3"$/);
    },
    90_000,
  );
});
