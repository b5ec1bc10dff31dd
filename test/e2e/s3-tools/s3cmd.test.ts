import { mkdir } from "node:fs/promises";
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
 * Debian's s3cmd (2.3) against the gateway, with the ~/.s3cfg `s3cmd --configure` writes for
 * an S3-compatible service: the gateway as host_base and host_bucket (path-style), plain HTTP,
 * SigV4. Everything else is s3cmd's default (region US, 15 MiB multipart chunks, MD5 checks).
 */

const s3cmd = await findTool("s3cmd");

describe.skipIf(!s3cmd)(`s3cmd (${s3cmd?.version})`, () => {
  let user: ToolUser;
  let bucket: string;

  beforeAll(async () => {
    if (!s3cmd) return;
    user = await newToolUser(s3cmd);
    bucket = user.bucket;
  });
  afterAll(() => user?.remove());

  /** `s3cmd …args` in the work directory; its stdout, once it succeeded. */
  const cmd = async (...args: string[]) =>
    expectSuccess(await user.run(args), `s3cmd ${args.join(" ")}`).stdout;
  const local = (name: string) => join(user.work, name);

  it("put and get a small file and a 20 MiB one (multipart, 15 MiB parts), byte for byte", async () => {
    const small = await writeRandomFile(local("small.bin"), 1000);
    const big = await writeRandomFile(local("big.bin"), 20 * MiB);

    await cmd("put", "small.bin", `s3://${bucket}/put/small.bin`);
    await cmd("put", "big.bin", `s3://${bucket}/put/big file.bin`);
    expect(await objectSha256(user, "put/small.bin")).toBe(small);
    expect(await objectSha256(user, "put/big file.bin")).toBe(big);
    expect((await headObject(user, "put/big file.bin")).ETag).toMatch(/^"[0-9a-f]{32}-2"$/);

    await cmd("get", `s3://${bucket}/put/small.bin`, "small.down");
    await cmd("get", `s3://${bucket}/put/big file.bin`, "big.down");
    expect(await sha256OfFile(local("small.down"))).toBe(small);
    expect(await sha256OfFile(local("big.down"))).toBe(big);
  }, 90_000);

  it.skipIf(notYetServed("ListObjects"))(
    "ls lists a folder's objects and subfolders, and --recursive every key under it",
    async () => {
      await putObject(user, "ls/a.txt", "hello");
      await putObject(user, "ls/sub/b.txt", "hi");
      await putObject(user, "ls/sub/deeper/c é.txt", "c");

      const folder = (await cmd("ls", `s3://${bucket}/ls/`)).trimEnd().split("\n");
      expect(folder).toEqual([
        expect.stringMatching(new RegExp(`^\\s+DIR\\s+s3://${bucket}/ls/sub/$`)),
        expect.stringMatching(
          new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\s+5\\s+s3://${bucket}/ls/a\\.txt$`),
        ),
      ]);

      const recursive = await cmd("ls", "--recursive", `s3://${bucket}/ls/`);
      expect(
        recursive
          .trimEnd()
          .split("\n")
          .map((line) => line.slice(line.indexOf("s3://"))),
      ).toEqual([
        `s3://${bucket}/ls/a.txt`,
        `s3://${bucket}/ls/sub/b.txt`,
        `s3://${bucket}/ls/sub/deeper/c é.txt`,
      ]);
    },
    60_000,
  );

  it.skipIf(notYetServed("ListBuckets"))(
    "ls with no bucket lists the key's one bucket",
    async () => {
      const listed = await cmd("ls");
      expect(listed.trimEnd().split("\n")).toEqual([expect.stringMatching(` s3://${bucket}$`)]);
    },
  );

  it.skipIf(notYetServed("ListObjects"))(
    "sync up and down keeps nested names with spaces, symbols and non-ASCII; a second sync sends nothing",
    async () => {
      await writeTree(local("tree"), NESTED_TREE);
      const up = await cmd("sync", "tree/", `s3://${bucket}/sync/`);
      expect(up.match(/^upload: /gm)).toHaveLength(Object.keys(NESTED_TREE).length);
      expect(await objectsUnder(user, "sync/")).toEqual(NESTED_TREE);

      expect(await cmd("sync", "tree/", `s3://${bucket}/sync/`)).not.toMatch(/^upload: /m);

      await cmd("sync", `s3://${bucket}/sync/`, "back/");
      expect(await readTree(local("back"))).toEqual(NESTED_TREE);
    },
    60_000,
  );

  it.skipIf(notYetServed("ListObjects"))(
    "get --recursive downloads everything under a prefix",
    async () => {
      for (const [name, contents] of Object.entries(NESTED_TREE)) {
        await putObject(user, `get-r/${name}`, contents);
      }
      // Into a folder that exists, as s3cmd requires for more than one file.
      await mkdir(local("got"));
      await cmd("get", "--recursive", `s3://${bucket}/get-r/`, "got/");
      expect(await readTree(local("got"))).toEqual(NESTED_TREE);
    },
    60_000,
  );

  it.skipIf(notYetServed("ListObjects", "DeleteObjects"))(
    "del --recursive deletes every object under a prefix, and nothing beside it",
    async () => {
      for (const [name, contents] of Object.entries(NESTED_TREE)) {
        await putObject(user, `del/${name}`, contents);
      }
      await putObject(user, "del-kept.txt", "not under del/\n");

      const deleted = await cmd("del", "--recursive", `s3://${bucket}/del/`);
      expect(deleted.match(/^delete: /gm)).toHaveLength(Object.keys(NESTED_TREE).length);
      expect(await keysUnder(user, "del")).toEqual(["del-kept.txt"]);
    },
    60_000,
  );
});
