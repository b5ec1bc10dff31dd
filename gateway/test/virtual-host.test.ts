import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { routeOf } from "../src/route";
import { BUCKET, headerSigned, ORIGIN } from "./support/requests";

/** Virtual-hosted–style addressing (<repo id>.<S3_VIRTUAL_HOST_SUFFIX>), path-style beside it. */

const SUFFIX = "s3.example.com";
const route = (url: string) => routeOf("GET", new URL(url), new Headers(), SUFFIX);

describe("virtual-hosted addressing", () => {
  it("takes the bucket from the host and the whole path as the key", () => {
    expect(route(`https://${BUCKET}.${SUFFIX}/photos/a%20b.jpg`)).toMatchObject({
      operation: "GetObject",
      bucket: BUCKET,
      key: "photos/a b.jpg",
    });
    expect(route(`https://${BUCKET}.S3.Example.com/?list-type=2`)).toMatchObject({
      operation: "ListObjectsV2",
      bucket: BUCKET,
    });
    expect(route(`https://${BUCKET}.${SUFFIX}/${BUCKET}/k`).key).toBe(`${BUCKET}/k`);
  });

  it("the domain itself and other hosts stay path-style; unset, the host is never read", () => {
    expect(route(`https://${SUFFIX}/${BUCKET}/k`)).toMatchObject({ bucket: BUCKET, key: "k" });
    expect(route(`https://127.0.0.1:8788/${BUCKET}/k`)).toMatchObject({ bucket: BUCKET, key: "k" });
    expect(route(`https://${SUFFIX}/`).operation).toBe("ListBuckets");
    const unset = routeOf("GET", new URL(`https://${BUCKET}.${SUFFIX}/${BUCKET}/k`), new Headers());
    expect(unset).toMatchObject({
      bucket: BUCKET,
      key: "k",
    });
  });

  it("a host that is no repository is NoSuchBucket", () => {
    expect(() => route(`https://photos.${SUFFIX}/k`)).toThrow(
      expect.objectContaining({ code: "NoSuchBucket" }),
    );
  });

  it("serves an object stored by a path-style PUT at its virtual-hosted address", async () => {
    await env.BUCKET.put(`${BUCKET}/hosted.txt`, "hosted");
    const signed = headerSigned("GET", "/hosted.txt");
    const request = new Request(`https://${BUCKET}.${SUFFIX}/hosted.txt`, signed);
    const response = await worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, {
      ...env,
      S3_VIRTUAL_HOST_SUFFIX: SUFFIX,
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("hosted");
  });
});

describe("CompleteMultipartUpload's Location", () => {
  const hostedEnv = { ...env, S3_VIRTUAL_HOST_SUFFIX: SUFFIX };
  /** Sends a path-style-signed request (the model checks no SigV4) to `origin`, as `path`. */
  const at = (origin: string, method: string, path: string, body?: string) => {
    const signed = headerSigned(method, path, {
      body,
      headers: body === undefined ? {} : { "content-length": String(body.length) },
    });
    const url = new URL(signed.url);
    return worker.fetch(
      new Request(`${origin}${url.pathname}${url.search}`, signed) as Request<
        unknown,
        IncomingRequestCfProperties
      >,
      hostedEnv,
    );
  };
  /** One multipart upload of `key` through `origin` (object paths `prefix` + key); its Location. */
  async function completed(origin: string, prefix: string, key: string) {
    const path = `${prefix}/${key.split("/").map(encodeURIComponent).join("/")}`;
    const created = await (await at(origin, "POST", `${path}?uploads`)).text();
    const uploadId = encodeURIComponent(/<UploadId>([^<]+)</.exec(created)?.[1] as string);
    const part = await at(origin, "PUT", `${path}?partNumber=1&uploadId=${uploadId}`, "one part");
    expect(part.status).toBe(200);
    const etag = part.headers.get("etag");
    const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;
    const done = await at(origin, "POST", `${path}?uploadId=${uploadId}`, body);
    const text = await done.text();
    expect(done.status, text).toBe(200);
    return /<Location>([^<]*)<\/Location>/.exec(text)?.[1];
  }

  it("is the object's virtual-hosted URL on a virtual-hosted request, the key URL-encoded", async () => {
    const location = await completed(`https://${BUCKET}.${SUFFIX}`, "", "dir/a b+c é.txt");
    expect(location).toBe(`https://${BUCKET}.${SUFFIX}/dir/a%20b%2Bc%20%C3%A9.txt`);
    const stored = await env.BUCKET.get(`${BUCKET}/dir/a b+c é.txt`);
    expect(await stored?.text()).toBe("one part");
  });

  it("is the path-style URL on a path-style request, to the domain itself or any other host", async () => {
    for (const origin of [`https://${SUFFIX}`, ORIGIN]) {
      const location = await completed(origin, `/${BUCKET}`, "dir/a b+c é.txt");
      expect(location, origin).toBe(`${origin}/${BUCKET}/dir/a%20b%2Bc%20%C3%A9.txt`);
    }
  });
});
