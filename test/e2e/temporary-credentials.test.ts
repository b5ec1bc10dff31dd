import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi, gatewayUrl, newUser, tokenFor } from "./support/http";
import { type StorageKey, s3ClientFor, s3ErrorOf } from "./support/s3-gateway";
import {
  expectSuccess,
  findTool,
  newToolUser,
  runProgram,
  type Tool,
  type ToolUser,
} from "./support/s3-tools";

/**
 * Temporary credentials over `npm run dev`: issued by the API, used at the S3 gateway by the AWS
 * SDK v3 (sessionToken), a presigned URL and the AWS CLI (AWS_SESSION_TOKEN), and ended by their
 * parent's revocation within the verification cache's bound (VERIFY_CACHE_TTL_SECONDS, 10 s).
 */

interface Temporary {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

let token: string;
let bucket: string;
let parent: StorageKey;

const issue = (key: StorageKey, body: Record<string, unknown>): Promise<Temporary> =>
  callApi(token, "POST", `/repo/${bucket}/apikey/${key.id}/temporary-credentials`, body);

const sdkFor = (temporary: Temporary) =>
  s3ClientFor({
    accessKeyId: temporary.accessKeyId,
    secretAccessKey: temporary.secretAccessKey,
    sessionToken: temporary.sessionToken,
  } as { accessKeyId: string; secretAccessKey: string }).client;

beforeAll(async () => {
  token = await tokenFor(newUser("temporary"));
  const workspaceId = (await callApi(token, "POST", "/workspace", { name: "Temporary team" })).id;
  bucket = (await callApi(token, "POST", "/repo", { name: "builds", workspaceId })).id;
  parent = await callApi(token, "POST", `/repo/${bucket}/apikey`, {
    name: "CI parent",
    accessType: "WRITE",
  });
});

describe("a CI job's credential for builds/1234/ with the AWS SDK v3", () => {
  let s3: ReturnType<typeof sdkFor>;
  beforeAll(async () => {
    s3 = sdkFor(await issue(parent, { permission: "WRITE", prefixes: ["builds/1234/"] }));
  });

  it("puts and reads back within its prefix; outside it is AccessDenied and nothing is written", async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "builds/1234/app.js", Body: "ok" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "builds/1234/app.js" }));
    expect(await got.Body?.transformToString()).toBe("ok");
    expect(
      await s3ErrorOf(
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: "builds/9999/app.js", Body: "no" })),
      ),
    ).toEqual({ code: "AccessDenied", status: 403 });
    const parentS3 = s3ClientFor({
      accessKeyId: parent.key,
      secretAccessKey: parent.secret,
    }).client;
    expect(
      await s3ErrorOf(
        parentS3.send(new GetObjectCommand({ Bucket: bucket, Key: "builds/9999/app.js" })),
      ),
    ).toEqual({ code: "NoSuchKey", status: 404 });
  });

  it("lists within its prefix, and not the bucket or another prefix", async () => {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: "builds/1234/" }),
    );
    expect(listed.Contents?.map((object) => object.Key)).toContain("builds/1234/app.js");
    for (const Prefix of [undefined, "builds/", "builds/9999/"]) {
      expect(
        await s3ErrorOf(s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix }))),
      ).toEqual({
        code: "AccessDenied",
        status: 403,
      });
    }
  });

  it("uploads in parts within its prefix", async () => {
    const Key = "builds/1234/bundle.tar";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 1, Body: "one part" }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
    expect(await got.Body?.transformToString()).toBe("one part");
  });
});

describe("a browser upload of one object", () => {
  it("a presigned PUT carries X-Amz-Security-Token and writes that object only", async () => {
    const one = await issue(parent, {
      permission: "WRITE",
      objects: ["uploads/avatar-7.png"],
      ttlSeconds: 300,
    });
    // As docs/s3-gateway.md says to presign a PUT: no checksum of an empty body signed in.
    const s3 = new S3Client({
      endpoint: gatewayUrl,
      region: "auto",
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      credentials: {
        accessKeyId: one.accessKeyId,
        secretAccessKey: one.secretAccessKey,
        sessionToken: one.sessionToken,
      },
    });
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: bucket, Key: "uploads/avatar-7.png" }),
      { expiresIn: 120 },
    );
    expect(new URL(url).searchParams.get("X-Amz-Security-Token")).toBe(one.sessionToken);
    const put = await fetch(url, { method: "PUT", body: "png bytes" });
    expect(put.status, await put.text()).toBe(200);
    const other = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: bucket, Key: "uploads/avatar-8.png" }),
      { expiresIn: 120 },
    );
    const refused = await fetch(other, { method: "PUT", body: "png bytes" });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("<Code>AccessDenied</Code>");
    // A URL carrying a tampered token is InvalidToken, whoever signed it.
    const tampered = new URL(url);
    const flipped = one.sessionToken[20] === "A" ? "B" : "A";
    tampered.searchParams.set(
      "X-Amz-Security-Token",
      `${one.sessionToken.slice(0, 20)}${flipped}${one.sessionToken.slice(21)}`,
    );
    const bad = await fetch(tampered, { method: "PUT", body: "x" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("<Code>InvalidToken</Code>");
  });
});

const aws = await findTool("aws");

describe.skipIf(!aws)(`the AWS CLI (${aws?.version}) with AWS_SESSION_TOKEN`, () => {
  let user: ToolUser;
  beforeAll(async () => {
    if (aws) user = await newToolUser(aws);
  });
  afterAll(() => user?.remove());

  it("copies within its prefix and is refused outside it", async () => {
    const temporary = await issue(parent, { permission: "WRITE", prefixes: ["ci/77/"] });
    // The environment overrides the config files' key, as a CI job's secrets would.
    const env = {
      ...user.env,
      AWS_ACCESS_KEY_ID: temporary.accessKeyId,
      AWS_SECRET_ACCESS_KEY: temporary.secretAccessKey,
      AWS_SESSION_TOKEN: temporary.sessionToken,
    };
    const cli = (...args: string[]) =>
      runProgram((aws as Tool).path, ["--endpoint-url", gatewayUrl, ...args], {
        env,
        cwd: user.work,
        timeoutMs: 60_000,
      });
    await writeFile(join(user.work, "artifact.txt"), "built\n");
    expectSuccess(
      await cli("s3", "cp", "artifact.txt", `s3://${bucket}/ci/77/artifact.txt`, "--no-progress"),
      "aws s3 cp into the prefix",
    );
    const listed = expectSuccess(await cli("s3", "ls", `s3://${bucket}/ci/77/`), "aws s3 ls");
    expect(listed.stdout).toContain("artifact.txt");
    const outside = await cli("s3", "cp", "artifact.txt", `s3://${bucket}/ci/78/artifact.txt`);
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain("AccessDenied");
    const bucketWide = await cli("s3", "ls", `s3://${bucket}/`);
    expect(bucketWide.code).not.toBe(0);
    expect(bucketWide.stderr).toContain("AccessDenied");
  }, 120_000);
});

describe("the parent's revocation", () => {
  it("refuses the child within the verification cache's bound (10 s)", async () => {
    const doomed: StorageKey = await callApi(token, "POST", `/repo/${bucket}/apikey`, {
      name: "doomed",
      accessType: "WRITE",
    });
    const child = sdkFor(await issue(doomed, { permission: "READ" }));
    await sdkFor(await issue(parent, { permission: "WRITE" })).send(
      new PutObjectCommand({ Bucket: bucket, Key: "revocation.txt", Body: "r" }),
    );
    await child.send(new GetObjectCommand({ Bucket: bucket, Key: "revocation.txt" }));
    await callApi(token, "DELETE", `/repo/${bucket}/apikey/${doomed.id}`);
    const deletedAt = Date.now();
    await expect
      .poll(
        async () =>
          (
            await s3ErrorOf(
              child.send(new GetObjectCommand({ Bucket: bucket, Key: "revocation.txt" })),
            )
          ).code,
        { timeout: 15_000, interval: 500 },
      )
      .toBe("InvalidAccessKeyId");
    expect(Date.now() - deletedAt).toBeLessThan(12_000);
  });
});
