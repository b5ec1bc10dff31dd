import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { crc32, crcBytes } from "../src/crc32";
import { BUCKET, codeOf, headerSigned, presigned, send, sha256Hex } from "./support/requests";

/**
 * A presigned URL's holder is not its signer: the URL's signed promises (payload hash,
 * checksums) bind the body, and headers it did not sign do not decide how the object is served.
 */

const intended = "intended";
const other = "<html>something else entirely</html>";
const crc32Base64 = (text: string) =>
  btoa(String.fromCharCode(...crcBytes(crc32(new TextEncoder().encode(text)))));
const stored = async (key: string) => (await env.BUCKET.get(`${BUCKET}/${key}`))?.text();

async function createUpload(key: string, signing = {}) {
  const response = await send(presigned("POST", `/${BUCKET}/${key}?uploads`, signing));
  expect(response.status).toBe(200);
  return /<UploadId>([^<]+)<\/UploadId>/.exec(await response.text())?.[1] as string;
}

describe("a presigned PUT keeps the promises its URL signed", () => {
  it("X-Amz-Content-Sha256 in the signed query pins the body: another is XAmzContentSHA256Mismatch, nothing stored", async () => {
    const query = { "X-Amz-Content-Sha256": await sha256Hex(intended) };
    const refused = await send(presigned("PUT", `/${BUCKET}/pinned.txt`, { query, body: other }));
    expect([refused.status, await codeOf(refused)]).toEqual([400, "XAmzContentSHA256Mismatch"]);
    expect(await stored("pinned.txt")).toBeUndefined();

    const accepted = await send(
      presigned("PUT", `/${BUCKET}/pinned.txt`, { query, body: intended }),
    );
    expect(accepted.status).toBe(200);
    expect(await stored("pinned.txt")).toBe(intended);
  });

  it("an x-amz-checksum-crc32 in the signed query is enforced: another body is BadDigest", async () => {
    const query = { "x-amz-checksum-crc32": crc32Base64(intended) };
    const refused = await send(presigned("PUT", `/${BUCKET}/crc.txt`, { query, body: other }));
    expect([refused.status, await codeOf(refused)]).toEqual([400, "BadDigest"]);
    expect(await stored("crc.txt")).toBeUndefined();
    const accepted = await send(presigned("PUT", `/${BUCKET}/crc.txt`, { query, body: intended }));
    expect(accepted.status).toBe(200);
  });

  it("an UploadPart URL's signed payload hash pins the part: another body stores no part", async () => {
    const uploadId = await createUpload("parts.bin");
    const path = `/${BUCKET}/parts.bin?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`;
    const query = { "X-Amz-Content-Sha256": await sha256Hex(intended) };
    const refused = await send(presigned("PUT", path, { query, body: other }));
    expect([refused.status, await codeOf(refused)]).toEqual([400, "XAmzContentSHA256Mismatch"]);
    const accepted = await send(presigned("PUT", path, { query, body: intended }));
    expect(accepted.status).toBe(200);
    const etag = accepted.headers.get("etag");
    const complete = await send(
      headerSigned("POST", `/${BUCKET}/parts.bin?uploadId=${encodeURIComponent(uploadId)}`, {
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`,
      }),
    );
    expect(complete.status).toBe(200);
    expect(await stored("parts.bin")).toBe(intended);
  });
});

describe("headers a presigned URL did not sign do not change how the object is served", () => {
  const served = {
    "content-type": "text/html",
    "content-disposition": "inline",
    "content-encoding": "gzip",
    "content-language": "en",
    "cache-control": "public, max-age=31536000",
    expires: "Wed, 21 Oct 2037 07:28:00 GMT",
  };

  it("unsigned Content-Type, -Disposition, -Encoding, -Language, Cache-Control and Expires are ignored", async () => {
    const put = await send(
      presigned("PUT", `/${BUCKET}/page.html`, { headers: served, body: other }),
    );
    expect(put.status).toBe(200);
    const got = await send(headerSigned("GET", `/${BUCKET}/page.html`));
    expect(await got.text()).toBe(other);
    expect(got.headers.get("content-type")).toBe("binary/octet-stream");
    expect(got.headers.get("x-content-type-options")).toBe("nosniff");
    for (const name of Object.keys(served).filter((n) => n !== "content-type")) {
      expect(got.headers.get(name), name).toBeNull();
    }
  });

  it("the same headers, signed, are kept and served", async () => {
    const put = await send(
      presigned("PUT", `/${BUCKET}/signed.html`, {
        headers: served,
        signedHeaders: Object.keys(served),
        body: other,
      }),
    );
    expect(put.status).toBe(200);
    const got = await send(headerSigned("HEAD", `/${BUCKET}/signed.html`));
    for (const [name, value] of Object.entries(served)) {
      expect(got.headers.get(name), name).toBe(value);
    }
  });

  it("x-amz-meta-* a presigned URL signed into its query are kept, as on S3 (the AWS presigner puts them there)", async () => {
    const put = await send(
      presigned("PUT", `/${BUCKET}/meta.txt`, {
        query: { "x-amz-meta-author": "ada", "X-Amz-Meta-Team": "engines" },
        body: intended,
      }),
    );
    expect(put.status).toBe(200);
    const got = await send(headerSigned("HEAD", `/${BUCKET}/meta.txt`));
    expect(got.headers.get("x-amz-meta-author")).toBe("ada");
    expect(got.headers.get("x-amz-meta-team")).toBe("engines");
    const bad = await send(
      presigned("PUT", `/${BUCKET}/meta.txt`, {
        query: { "x-amz-meta-evil": "a\r\nSet-Cookie: x=1" },
        body: intended,
      }),
    );
    expect([bad.status, await codeOf(bad)]).toEqual([400, "InvalidArgument"]);
  });

  it("an unsigned Content-Type on a presigned CreateMultipartUpload is ignored too", async () => {
    const uploadId = await createUpload("multi.html", { headers: { "content-type": "text/html" } });
    const path = `/${BUCKET}/multi.html?uploadId=${encodeURIComponent(uploadId)}`;
    const part = await send(headerSigned("PUT", `${path}&partNumber=1`, { body: other }));
    await send(
      headerSigned("POST", path, {
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.headers.get("etag")}</ETag></Part></CompleteMultipartUpload>`,
      }),
    );
    const got = await send(headerSigned("HEAD", `/${BUCKET}/multi.html`));
    expect(got.headers.get("content-type")).toBe("binary/octet-stream");
  });

  it("an unsigned Content-MD5 is still checked: it can refuse a body, not change its serving", async () => {
    const response = await send(
      presigned("PUT", `/${BUCKET}/md5.txt`, {
        headers: { "content-md5": "kAFQmDzST7DWlj99KOF/cg==" },
        body: other,
      }),
    );
    expect([response.status, await codeOf(response)]).toEqual([400, "BadDigest"]);
    expect(await stored("md5.txt")).toBeUndefined();
  });

  it("a header-signed request is the key holder's: its headers count, signed or not (as on S3)", async () => {
    // AWS SDK v3 never signs Cache-Control; aws4fetch never signs Content-Type.
    const put = await send(
      headerSigned("PUT", `/${BUCKET}/holder.txt`, {
        headers: { "content-type": "text/plain", "cache-control": "max-age=60" },
        unsigned: ["content-type", "cache-control"],
        body: intended,
      }),
    );
    expect(put.status).toBe(200);
    const got = await send(headerSigned("HEAD", `/${BUCKET}/holder.txt`));
    expect(got.headers.get("content-type")).toBe("text/plain");
    expect(got.headers.get("cache-control")).toBe("max-age=60");
  });
});
