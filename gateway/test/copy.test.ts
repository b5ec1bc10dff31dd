import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BUCKET, codeOf, headerSigned, OTHER_BUCKET, send } from "./support/requests";

/** CopyObject and UploadPartCopy: PUT with x-amz-copy-source, within the key's own bucket. */

const MiB = 1024 * 1024;
const stored = (key: string) => env.BUCKET.get(`${BUCKET}/${key}`);

async function put(key: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  const response = await send(headerSigned("PUT", `/${BUCKET}/${key}`, { body, headers }));
  expect(response.status).toBe(200);
  return response.headers.get("etag") as string;
}

const copy = (target: string, source: string, headers: Record<string, string> = {}) =>
  send(
    headerSigned("PUT", `/${BUCKET}/${target}`, {
      headers: { "x-amz-copy-source": source, ...headers },
    }),
  );

describe("CopyObject", () => {
  it("copies the bytes and, by default, the metadata; answers CopyObjectResult with the new ETag", async () => {
    const etag = await put("src/a.txt", "copied bytes", {
      "content-type": "text/plain",
      "cache-control": "max-age=60",
      "x-amz-meta-colour": "blue",
    });
    const response = await copy("dst/a.txt", `${BUCKET}/src/a.txt`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/xml");
    const text = await response.text();
    expect(text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?><CopyObjectResult xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><LastModified>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z<\/LastModified><ETag>&quot;[0-9a-f]{32}&quot;<\/ETag><\/CopyObjectResult>$/,
    );
    expect(text).toContain(`<ETag>${etag.replaceAll('"', "&quot;")}</ETag>`);
    const copied = await stored("dst/a.txt");
    expect(await copied?.text()).toBe("copied bytes");
    expect(copied?.httpMetadata).toEqual({ contentType: "text/plain", cacheControl: "max-age=60" });
    expect(copied?.customMetadata).toEqual({ colour: "blue" });
  });

  it("with x-amz-metadata-directive REPLACE, keeps the request's metadata instead", async () => {
    await put("src/b.txt", "b", { "content-type": "text/plain", "x-amz-meta-colour": "blue" });
    const response = await copy("dst/b.json", `/${BUCKET}/src/b.txt`, {
      "x-amz-metadata-directive": "REPLACE",
      "content-type": "application/json",
      "x-amz-meta-shape": "round",
    });
    expect(response.status).toBe(200);
    const copied = await stored("dst/b.json");
    expect(copied?.httpMetadata).toEqual({ contentType: "application/json" });
    expect(copied?.customMetadata).toEqual({ shape: "round" });
    const unknown = await copy("dst/b2", `${BUCKET}/src/b.txt`, {
      "x-amz-metadata-directive": "MERGE",
    });
    expect([unknown.status, await codeOf(unknown)]).toEqual([400, "InvalidArgument"]);
  });

  it("reads the source key URL-decoded, with or without a leading slash; ?versionId=null only", async () => {
    await put("src/caf%C3%A9%20%2B1.txt", "café");
    for (const source of [
      `${BUCKET}/src/caf%C3%A9%20%2B1.txt`,
      `/${BUCKET}/src/caf%C3%A9%20%2B1.txt?versionId=null`,
    ]) {
      await env.BUCKET.delete(`${BUCKET}/dst/café`);
      const response = await copy("dst/caf%C3%A9", source);
      expect(response.status, source).toBe(200);
      expect(await (await stored("dst/café"))?.text()).toBe("café");
    }
    const versioned = await copy("dst/v", `${BUCKET}/src/caf%C3%A9%20%2B1.txt?versionId=3HL4kqt`);
    expect([versioned.status, await codeOf(versioned)]).toEqual([400, "InvalidArgument"]);
    const malformed = await copy("dst/v", `${BUCKET}/src/%E0%A4%A`);
    expect([malformed.status, await codeOf(malformed)]).toEqual([400, "InvalidArgument"]);
    expect(await stored("dst/v")).toBeNull();
  });

  it("another bucket's object is AccessDenied (the key may not read it), an absent one NoSuchKey", async () => {
    await env.BUCKET.put(`${OTHER_BUCKET}/secret.txt`, "not yours");
    const other = await copy("dst/stolen.txt", `${OTHER_BUCKET}/secret.txt`);
    expect([other.status, await codeOf(other)]).toEqual([403, "AccessDenied"]);
    const absent = await copy("dst/absent.txt", `${BUCKET}/src/absent.txt`);
    expect([absent.status, await codeOf(absent)]).toEqual([404, "NoSuchKey"]);
    expect(await stored("dst/stolen.txt")).toBeNull();
    expect(await stored("dst/absent.txt")).toBeNull();
  });

  it("a READ key may not copy: the target is a write", async () => {
    await put("src/r.txt", "r");
    const response = await send(
      headerSigned("PUT", `/${BUCKET}/dst/r.txt`, {
        key: `READ.${BUCKET}`,
        headers: { "x-amz-copy-source": `${BUCKET}/src/r.txt` },
      }),
    );
    expect([response.status, await codeOf(response)]).toEqual([403, "AccessDenied"]);
    expect(await stored("dst/r.txt")).toBeNull();
  });

  it("the x-amz-copy-source-if-* conditions: one that fails is 412 PreconditionFailed, nothing copied", async () => {
    const etag = await put("src/c.txt", "c");
    const past = new Date(Date.now() - 3600_000).toUTCString();
    const future = new Date(Date.now() + 3600_000).toUTCString();
    for (const [name, value] of [
      ["x-amz-copy-source-if-match", '"0123456789abcdef0123456789abcdef"'],
      ["x-amz-copy-source-if-none-match", etag],
      ["x-amz-copy-source-if-unmodified-since", past],
      ["x-amz-copy-source-if-modified-since", future],
    ] as const) {
      const response = await copy("dst/c.txt", `${BUCKET}/src/c.txt`, { [name]: value });
      expect([response.status, await codeOf(response)], name).toEqual([412, "PreconditionFailed"]);
      expect(await stored("dst/c.txt")).toBeNull();
    }
    for (const [name, value] of [
      ["x-amz-copy-source-if-match", etag],
      ["x-amz-copy-source-if-none-match", '"0123456789abcdef0123456789abcdef"'],
      ["x-amz-copy-source-if-unmodified-since", future],
      ["x-amz-copy-source-if-modified-since", past],
    ] as const) {
      const response = await copy("dst/c.txt", `${BUCKET}/src/c.txt`, { [name]: value });
      expect(response.status, name).toBe(200);
    }
  });

  it("onto itself without REPLACE is InvalidRequest, as on S3; with REPLACE it changes the metadata", async () => {
    await put("self.txt", "self", { "content-type": "text/plain" });
    const same = await copy("self.txt", `${BUCKET}/self.txt`);
    expect([same.status, await codeOf(same)]).toEqual([400, "InvalidRequest"]);
    const replaced = await copy("self.txt", `${BUCKET}/self.txt`, {
      "x-amz-metadata-directive": "REPLACE",
      "content-type": "text/markdown",
    });
    expect(replaced.status).toBe(200);
    const object = await stored("self.txt");
    expect([await object?.text(), object?.httpMetadata?.contentType]).toEqual([
      "self",
      "text/markdown",
    ]);
  });

  it("streams a large object (12 MiB) from R2 into R2, every byte kept", async () => {
    const big = crypto.getRandomValues(new Uint8Array(65536));
    const body = new Uint8Array(12 * MiB);
    for (let at = 0; at < body.length; at += big.length) body.set(big, at);
    body[body.length - 1] = 7;
    await env.BUCKET.put(`${BUCKET}/src/big.bin`, body);
    const response = await copy("dst/big.bin", `${BUCKET}/src/big.bin`);
    expect(response.status).toBe(200);
    const copied = new Uint8Array(
      await ((await stored("dst/big.bin")) as R2ObjectBody).arrayBuffer(),
    );
    expect(copied.length).toBe(body.length);
    expect(copied.every((byte, i) => byte === body[i])).toBe(true);
  });
});

describe("UploadPartCopy", () => {
  async function createUpload(key: string) {
    const response = await send(headerSigned("POST", `/${BUCKET}/${key}?uploads`));
    return /<UploadId>([^<]+)<\/UploadId>/.exec(await response.text())?.[1] as string;
  }
  const partCopy = (key: string, uploadId: string, part: number, headers: Record<string, string>) =>
    send(
      headerSigned(
        "PUT",
        `/${BUCKET}/${key}?partNumber=${part}&uploadId=${encodeURIComponent(uploadId)}`,
        {
          headers,
        },
      ),
    );

  it("copies a source's byte range (x-amz-copy-source-range) or whole into parts that complete into the object", async () => {
    const source = new Uint8Array(6 * MiB).map((_, i) => (i * 31) % 251);
    await env.BUCKET.put(`${BUCKET}/src/parts.bin`, source);
    const uploadId = await createUpload("dst/parts.bin");
    const first = await partCopy("dst/parts.bin", uploadId, 1, {
      "x-amz-copy-source": `${BUCKET}/src/parts.bin`,
      "x-amz-copy-source-range": `bytes=0-${5 * MiB - 1}`,
    });
    expect(first.status).toBe(200);
    const text = await first.text();
    expect(text).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?><CopyPartResult xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><LastModified>[^<]+Z<\/LastModified><ETag>&quot;[^&<]+&quot;<\/ETag><\/CopyPartResult>$/,
    );
    const second = await partCopy("dst/parts.bin", uploadId, 2, {
      "x-amz-copy-source": `${BUCKET}/src/parts.bin`,
      "x-amz-copy-source-range": `bytes=${5 * MiB}-${6 * MiB - 1}`,
    });
    expect(second.status).toBe(200);
    const etags = [text, await second.text()].map(
      (xml) => /<ETag>&quot;([^&]+)&quot;<\/ETag>/.exec(xml)?.[1],
    );
    // ListParts shows copied parts as it shows uploaded ones.
    const listed = await send(
      headerSigned("GET", `/${BUCKET}/dst/parts.bin?uploadId=${encodeURIComponent(uploadId)}`),
    );
    expect(listed.status).toBe(200);
    const parts = await listed.text();
    for (const [i, etag] of etags.entries()) {
      expect(parts).toContain(`<PartNumber>${i + 1}</PartNumber>`);
      expect(parts).toContain(`&quot;${etag}&quot;`);
    }
    expect(parts).toContain(`<Size>${5 * MiB}</Size>`);
    const complete = await send(
      headerSigned("POST", `/${BUCKET}/dst/parts.bin?uploadId=${encodeURIComponent(uploadId)}`, {
        body: `<CompleteMultipartUpload>${etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>"${etag}"</ETag></Part>`).join("")}</CompleteMultipartUpload>`,
      }),
    );
    expect(complete.status).toBe(200);
    const copied = new Uint8Array(
      await ((await stored("dst/parts.bin")) as R2ObjectBody).arrayBuffer(),
    );
    expect(copied.length).toBe(source.length);
    expect(copied.every((byte, i) => byte === source[i])).toBe(true);

    const whole = await createUpload("dst/whole.bin");
    await put("src/small.txt", "small");
    const all = await partCopy("dst/whole.bin", whole, 1, {
      "x-amz-copy-source": `${BUCKET}/src/small.txt`,
    });
    expect(all.status).toBe(200);
  });

  it("a malformed range is InvalidArgument, one past the source's end InvalidRange; an unknown upload NoSuchUpload", async () => {
    await put("src/ten.txt", "0123456789");
    const uploadId = await createUpload("dst/ranges.bin");
    const source = { "x-amz-copy-source": `${BUCKET}/src/ten.txt` };
    for (const range of ["bytes=5-", "bytes=-5", "bytes=5-4", "items=0-1"]) {
      const response = await partCopy("dst/ranges.bin", uploadId, 1, {
        ...source,
        "x-amz-copy-source-range": range,
      });
      expect([response.status, await codeOf(response)], range).toEqual([400, "InvalidArgument"]);
    }
    const past = await partCopy("dst/ranges.bin", uploadId, 1, {
      ...source,
      "x-amz-copy-source-range": "bytes=5-10",
    });
    expect([past.status, await codeOf(past)]).toEqual([416, "InvalidRange"]);
    const unknown = await partCopy("dst/ranges.bin", "not-an-upload", 1, source);
    expect([unknown.status, await codeOf(unknown)]).toEqual([404, "NoSuchUpload"]);
    const other = await partCopy("dst/ranges.bin", uploadId, 1, {
      "x-amz-copy-source": `${OTHER_BUCKET}/src/ten.txt`,
    });
    expect([other.status, await codeOf(other)]).toEqual([403, "AccessDenied"]);
  });
});
