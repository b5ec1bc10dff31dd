import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { routeOf } from "../src/route";
import { BUCKET, headerSigned } from "./support/requests";

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
