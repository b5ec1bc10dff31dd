import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BUCKET, codeOf, headerSigned, OTHER_BUCKET, send } from "./support/requests";

/** ListMultipartUploads and ListParts, over the gateway's index of uploads (src/uploads.ts). */

async function createUpload(key: string, bucket = BUCKET) {
  const response = await send(
    headerSigned("POST", `/${bucket}/${key}?uploads`, { key: `WRITE.${bucket}` }),
  );
  expect(response.status).toBe(200);
  return /<UploadId>([^<]+)<\/UploadId>/.exec(await response.text())?.[1] as string;
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: string) {
  const query = `partNumber=${partNumber}&uploadId=${encodeURIComponent(uploadId)}`;
  const response = await send(headerSigned("PUT", `/${BUCKET}/${key}?${query}`, { body }));
  expect(response.status).toBe(200);
  return response.headers.get("etag") as string;
}

async function listUploads(query = "") {
  const response = await send(
    headerSigned("GET", `/${BUCKET}?uploads${query}`, { key: `READ.${BUCKET}` }),
  );
  expect(response.status).toBe(200);
  return response.text();
}

const all = (xml: string, element: string) =>
  [...xml.matchAll(new RegExp(`<${element}>([^<]*)</${element}>`, "g"))].map((m) => m[1]);

describe("ListMultipartUploads", () => {
  it("lists the bucket's unfinished uploads by key, and forgets completed and aborted ones", async () => {
    const b = await createUpload("up/b.bin");
    const a = await createUpload("up/a b.bin");
    const aborted = await createUpload("up/aborted.bin");
    const done = await createUpload("up/done.bin");
    await createUpload("elsewhere/c.bin", OTHER_BUCKET);
    const etag = await uploadPart("up/done.bin", done, 1, "last part");
    const complete = await send(
      headerSigned("POST", `/${BUCKET}/up/done.bin?uploadId=${encodeURIComponent(done)}`, {
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`,
      }),
    );
    expect(complete.status).toBe(200);
    const abort = await send(
      headerSigned("DELETE", `/${BUCKET}/up/aborted.bin?uploadId=${encodeURIComponent(aborted)}`),
    );
    expect(abort.status).toBe(204);

    const xml = await listUploads("&prefix=up%2F");
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><ListMultipartUploadsResult /);
    expect(all(xml, "Key")).toEqual(["up/a b.bin", "up/b.bin"]);
    expect(all(xml, "UploadId")).toEqual([a, b]);
    expect(xml).toContain("<IsTruncated>false</IsTruncated>");
    expect(xml).toMatch(/<Initiated>\d{4}-\d\d-\d\dT[^<]+Z<\/Initiated>/);
    expect(xml).not.toContain("elsewhere");
  });

  it("pages with max-uploads, key-marker and upload-id-marker; groups by delimiter", async () => {
    await createUpload("page/1");
    await createUpload("page/2");
    await createUpload("page/dir/3");
    const first = await listUploads("&prefix=page%2F&max-uploads=1");
    expect(all(first, "Key")).toEqual(["page/1"]);
    expect(first).toContain("<IsTruncated>true</IsTruncated>");
    const nextKey = all(first, "NextKeyMarker")[0] as string;
    const nextId = all(first, "NextUploadIdMarker")[0] as string;
    const second = await listUploads(
      `&prefix=page%2F&key-marker=${encodeURIComponent(nextKey)}&upload-id-marker=${encodeURIComponent(nextId)}`,
    );
    expect(all(second, "Key")).toEqual(["page/2", "page/dir/3"]);
    const grouped = await listUploads("&prefix=page%2F&delimiter=%2F");
    expect(all(grouped, "Key")).toEqual(["page/1", "page/2"]);
    expect(grouped).toContain("<CommonPrefixes><Prefix>page/dir/</Prefix></CommonPrefixes>");
  });

  it("the index never shows in an object listing", async () => {
    await createUpload("hidden.bin");
    const listed = await send(headerSigned("GET", `/${BUCKET}?list-type=2`));
    expect(await listed.text()).not.toContain(".uploads");
  });
});

describe("ListParts", () => {
  it("lists the parts uploaded so far with their ETags and sizes, paged by part-number-marker", async () => {
    const id = await createUpload("parts.bin");
    const e1 = await uploadPart("parts.bin", id, 1, "one");
    const e3 = await uploadPart("parts.bin", id, 3, "three");
    const path = `/${BUCKET}/parts.bin?uploadId=${encodeURIComponent(id)}`;
    const response = await send(headerSigned("GET", path, { key: `READ.${BUCKET}` }));
    expect(response.status).toBe(200);
    const xml = await response.text();
    expect(all(xml, "PartNumber")).toEqual(["1", "3"]);
    expect(all(xml, "ETag")).toEqual([e1, e3].map((e) => e.replace(/"/g, "&quot;")));
    expect(all(xml, "Size")).toEqual(["3", "5"]);
    const paged = await (await send(headerSigned("GET", `${path}&max-parts=1`))).text();
    expect(all(paged, "PartNumber")).toEqual(["1"]);
    expect(paged).toContain("<IsTruncated>true</IsTruncated><Part>");
    expect(all(paged, "NextPartNumberMarker")).toEqual(["1"]);
    const rest = await (await send(headerSigned("GET", `${path}&part-number-marker=1`))).text();
    expect(all(rest, "PartNumber")).toEqual(["3"]);
  });

  it("an unknown upload, or one of another key, is NoSuchUpload", async () => {
    const id = await createUpload("mine.bin");
    for (const path of [
      `/${BUCKET}/mine.bin?uploadId=nonsense`,
      `/${BUCKET}/other.bin?uploadId=${encodeURIComponent(id)}`,
    ]) {
      const response = await send(headerSigned("GET", path));
      expect([response.status, await codeOf(response)], path).toEqual([404, "NoSuchUpload"]);
    }
  });
});

it("R2 keeps the index under .uploads/, outside every repository", async () => {
  await createUpload("where.bin");
  const index = await env.BUCKET.list({ prefix: `.uploads/${BUCKET}/` });
  expect(index.objects.length).toBeGreaterThan(0);
});
