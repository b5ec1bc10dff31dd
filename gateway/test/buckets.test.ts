import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listBuckets } from "../src/buckets";
import type { Route } from "../src/route";
import type { VerifiedKey } from "../src/verify";
import { modelRepoCreatedAt } from "./support/key-verifier-model.mjs";
import { BUCKET, codeOf, headerSigned, OTHER_BUCKET, send } from "./support/requests";

/** The bucket questions tools ask before their real work (buckets.ts). */

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

async function ok(request: Request) {
  const response = await send(request);
  expect(response.status, await response.clone().text()).toBe(200);
  return response;
}

describe("ListBuckets", () => {
  it("lists the key's own bucket, owned by its workspace, made when its repo was", async () => {
    const response = await ok(headerSigned("GET", "/", { key: `READ.${BUCKET}` }));
    expect(response.headers.get("content-type")).toBe("application/xml");
    expect(await response.text()).toBe(
      `${DECLARATION}<ListAllMyBucketsResult ${XMLNS}>` +
        "<Owner><ID>model-workspace</ID><DisplayName>model-workspace</DisplayName></Owner>" +
        `<Buckets><Bucket><Name>${BUCKET}</Name>` +
        `<CreationDate>${modelRepoCreatedAt()}</CreationDate></Bucket></Buckets>` +
        "</ListAllMyBucketsResult>",
    );
  });

  it("shows the Unix epoch, a fixed date, when the verifier does not say when the repo was made", async () => {
    const older: VerifiedKey = {
      success: true,
      valid: true,
      code: "VALID",
      keyId: "key-id",
      key: `READ.${BUCKET}`,
      repoId: BUCKET,
      workspaceId: "model-workspace",
      accessType: "READ",
      payloadHash: "UNSIGNED-PAYLOAD",
      signedHeaders: ["host"],
      checksums: {},
    };
    const route = { bucket: "", key: "", query: new URLSearchParams() } as Route;
    const text = await (
      await listBuckets(env, route, new Request("https://s3.example/"), older)
    ).text();
    expect(text).toContain("<CreationDate>1970-01-01T00:00:00.000Z</CreationDate>");
  });

  it("a prefix the repo id does not start with lists nothing; paging parameters are accepted", async () => {
    const none = await ok(
      headerSigned("GET", "/?prefix=zz&max-buckets=10", { key: `READ.${BUCKET}` }),
    );
    expect(await none.text()).toContain("<Buckets></Buckets><Prefix>zz</Prefix>");
    const mine = await ok(headerSigned("GET", `/?prefix=${BUCKET.slice(0, 4)}`));
    expect(await mine.text()).toContain(`<Name>${BUCKET}</Name>`);
  });

  it("an unsigned or unknown key is refused", async () => {
    const unsigned = await send(new Request("https://s3.example/"));
    expect([unsigned.status, await codeOf(unsigned)]).toEqual([403, "AccessDenied"]);
    const unknown = await send(headerSigned("GET", "/", { key: "READ.nobody" }));
    expect([unknown.status, await codeOf(unknown)]).toEqual([403, "InvalidAccessKeyId"]);
  });
});

describe("CreateBucket", () => {
  it("of the key's own bucket is 200 with its Location, as in us-east-1", async () => {
    const body =
      `<CreateBucketConfiguration ${XMLNS}><LocationConstraint>auto</LocationConstraint>` +
      "</CreateBucketConfiguration>";
    const response = await ok(headerSigned("PUT", `/${BUCKET}`, { body }));
    expect(response.headers.get("location")).toBe(`/${BUCKET}`);
  });

  it("of any other name is 403 AccessDenied, and needs WRITE", async () => {
    for (const name of [OTHER_BUCKET, "my-new-bucket"]) {
      const response = await send(headerSigned("PUT", `/${name}`));
      expect([response.status, await codeOf(response)], name).toEqual([403, "AccessDenied"]);
    }
    const reader = await send(headerSigned("PUT", `/${BUCKET}`, { key: `READ.${BUCKET}` }));
    expect([reader.status, await codeOf(reader)]).toEqual([403, "AccessDenied"]);
  });
});

describe("bucket settings", () => {
  it("HeadBucket is 200 with the bucket's region", async () => {
    const response = await ok(headerSigned("HEAD", `/${BUCKET}`, { key: `READ.${BUCKET}` }));
    expect(response.headers.get("x-amz-bucket-region")).toBe("us-east-1");
    const other = await send(headerSigned("HEAD", `/${OTHER_BUCKET}`, { key: `READ.${BUCKET}` }));
    expect(other.status).toBe(403);
  });

  it("GetBucketLocation is an empty LocationConstraint (us-east-1) without S3_REGION", async () => {
    const response = await ok(
      headerSigned("GET", `/${BUCKET}?location`, { key: `READ.${BUCKET}` }),
    );
    expect(await response.text()).toBe(
      `${DECLARATION}<LocationConstraint ${XMLNS}></LocationConstraint>`,
    );
  });

  it("GetBucketLocation names S3_REGION when it is set", async () => {
    const { getBucketLocation } = await import("../src/buckets");
    const response = await getBucketLocation({ ...env, S3_REGION: "eu-west-3" });
    expect(await response.text()).toContain(">eu-west-3</LocationConstraint>");
  });

  it("GetBucketVersioning says versioning was never enabled (no Status)", async () => {
    const response = await ok(headerSigned("GET", `/${BUCKET}?versioning`));
    expect(await response.text()).toBe(`${DECLARATION}<VersioningConfiguration ${XMLNS}/>`);
  });

  it("GetBucketAcl and GetObjectAcl: the workspace has FULL_CONTROL", async () => {
    await env.BUCKET.put(`${BUCKET}/acl.txt`, "x");
    for (const path of [`/${BUCKET}?acl`, `/${BUCKET}/acl.txt?acl`]) {
      const text = await (await ok(headerSigned("GET", path))).text();
      expect(text).toContain("<Owner><ID>model-workspace</ID>");
      expect(text).toContain(
        "<ID>model-workspace</ID><DisplayName>model-workspace</DisplayName></Grantee><Permission>FULL_CONTROL</Permission>",
      );
    }
    const missing = await send(headerSigned("GET", `/${BUCKET}/absent?acl`));
    expect(await codeOf(missing)).toBe("NoSuchKey");
  });

  it("policy, CORS and lifecycle are S3's 404s; the payer is the owner", async () => {
    for (const [query, code] of [
      ["policy", "NoSuchBucketPolicy"],
      ["cors", "NoSuchCORSConfiguration"],
      ["lifecycle", "NoSuchLifecycleConfiguration"],
    ]) {
      const response = await send(headerSigned("GET", `/${BUCKET}?${query}`));
      expect([response.status, await codeOf(response)], query).toEqual([404, code]);
    }
    const payer = await ok(headerSigned("GET", `/${BUCKET}?requestPayment`));
    expect(await payer.text()).toContain("<Payer>BucketOwner</Payer>");
  });
});

describe("GetObjectTagging", () => {
  it("an object's TagSet is empty; an absent object is NoSuchKey", async () => {
    await env.BUCKET.put(`${BUCKET}/tagged.txt`, "x");
    const response = await ok(
      headerSigned("GET", `/${BUCKET}/tagged.txt?tagging`, { key: `READ.${BUCKET}` }),
    );
    expect(await response.text()).toBe(
      `${DECLARATION}<Tagging ${XMLNS}><TagSet></TagSet></Tagging>`,
    );
    const missing = await send(headerSigned("GET", `/${BUCKET}/absent.txt?tagging`));
    expect([missing.status, await codeOf(missing)]).toEqual([404, "NoSuchKey"]);
  });

  it("is not GetObject: the object's bytes are not served", async () => {
    await env.BUCKET.put(`${BUCKET}/secret-bytes.txt`, "bytes");
    const response = await ok(headerSigned("GET", `/${BUCKET}/secret-bytes.txt?tagging`));
    expect(await response.text()).not.toContain("bytes");
  });
});
