import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BUCKET, codeOf, headerSigned, OTHER_BUCKET, send } from "./support/requests";
import { xmlCharacterProblems } from "./support/xml-characters";

/** What a client gets wrong is a 4xx with S3's code, never a 500. */

const answerOf = async (response: Response) => [response.status, await codeOf(response)];

describe("response-* overrides that cannot be header values", () => {
  it.each([
    ["response-content-disposition", "a\r\nSet-Cookie: session=evil"],
    ["response-content-type", "text/html\u0000x"],
    ["response-cache-control", "no-store\nX: y"],
    ["response-content-language", "en\u0007"],
  ])("%s=%j is 400 InvalidArgument", async (parameter, value) => {
    await env.BUCKET.put(`${BUCKET}/doc.txt`, "doc");
    const query = new URLSearchParams({ [parameter]: value });
    const response = await send(headerSigned("GET", `/${BUCKET}/doc.txt?${query}`));
    expect(await answerOf(response)).toEqual([400, "InvalidArgument"]);
    expect(response.headers.get("set-cookie")).toBeNull();
  });

  it("a valid override is served; a stored value that cannot be a header is left out, not a 500", async () => {
    await env.BUCKET.put(`${BUCKET}/legacy.txt`, "legacy", {
      httpMetadata: { contentType: "text/plain\nX-Injected: 1", cacheControl: "max-age=5" },
      customMetadata: { ok: "yes", "bad name": "x", evil: "a\r\nb" },
    });
    const query = "response-content-disposition=attachment%3B%20filename%3D%22a.txt%22";
    const response = await send(headerSigned("GET", `/${BUCKET}/legacy.txt?${query}`));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("legacy");
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="a.txt"');
    expect(response.headers.get("content-type")).toBe("binary/octet-stream");
    expect(response.headers.get("cache-control")).toBe("max-age=5");
    expect(response.headers.get("x-amz-meta-ok")).toBe("yes");
    expect(response.headers.get("x-amz-meta-evil")).toBeNull();
    expect(response.headers.get("x-injected")).toBeNull();
  });
});

describe("metadata R2 cannot keep", () => {
  it.each([
    ["10000", null],
    ["Sat, 01 Jan 3000 00:00:00 GMT", null],
    ["Mon, 01 Jan 1600 00:00:00 GMT", null],
    ["not a date", null],
    ["Wed, 21 Oct 2037 07:28:00 GMT", "Wed, 21 Oct 2037 07:28:00 GMT"],
  ])("Expires: %s is stored as %s, never a 500", async (expires, served) => {
    const put = await send(
      headerSigned("PUT", `/${BUCKET}/expires`, { headers: { expires }, body: "x" }),
    );
    expect(put.status).toBe(200);
    const head = await send(headerSigned("HEAD", `/${BUCKET}/expires`));
    expect(head.headers.get("expires")).toBe(served);
  });
});

describe("multipart upload ids that are unknown or another repository's", () => {
  async function createUpload(bucket: string, key: string) {
    const response = await send(
      headerSigned("POST", `/${bucket}/${key}?uploads`, { key: `WRITE.${bucket}` }),
    );
    return /<UploadId>([^<]+)<\/UploadId>/.exec(await response.text())?.[1] as string;
  }
  const complete = (etag: string) =>
    `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;

  it("AbortMultipartUpload of an unknown upload id is 404 NoSuchUpload", async () => {
    const response = await send(headerSigned("DELETE", `/${BUCKET}/k?uploadId=nonsense`));
    expect(await answerOf(response)).toEqual([404, "NoSuchUpload"]);
  });

  it("UploadPart and CompleteMultipartUpload with an unknown id are 404 NoSuchUpload", async () => {
    const part = await send(
      headerSigned("PUT", `/${BUCKET}/k?partNumber=1&uploadId=nonsense`, { body: "x" }),
    );
    expect(await answerOf(part)).toEqual([404, "NoSuchUpload"]);
    const done = await send(
      headerSigned("POST", `/${BUCKET}/k?uploadId=nonsense`, { body: complete('"e"') }),
    );
    expect(await answerOf(done)).toEqual([404, "NoSuchUpload"]);
  });

  it("another repository's upload id is NoSuchUpload here for abort, part and complete, and its upload stays whole", async () => {
    const theirs = await createUpload(OTHER_BUCKET, "shared-name.bin");
    const id = encodeURIComponent(theirs);
    const part = await send(
      headerSigned("PUT", `/${OTHER_BUCKET}/shared-name.bin?partNumber=1&uploadId=${id}`, {
        key: `WRITE.${OTHER_BUCKET}`,
        body: "theirs",
      }),
    );
    const etag = part.headers.get("etag") as string;

    for (const request of [
      headerSigned("DELETE", `/${BUCKET}/shared-name.bin?uploadId=${id}`),
      headerSigned("PUT", `/${BUCKET}/shared-name.bin?partNumber=1&uploadId=${id}`, {
        body: "mine",
      }),
      headerSigned("POST", `/${BUCKET}/shared-name.bin?uploadId=${id}`, { body: complete(etag) }),
    ]) {
      expect(await answerOf(await send(request)), request.method).toEqual([404, "NoSuchUpload"]);
    }
    expect(await env.BUCKET.head(`${BUCKET}/shared-name.bin`)).toBeNull();

    const done = await send(
      headerSigned("POST", `/${OTHER_BUCKET}/shared-name.bin?uploadId=${id}`, {
        key: `WRITE.${OTHER_BUCKET}`,
        body: complete(etag),
      }),
    );
    expect(done.status).toBe(200);
    expect(await (await env.BUCKET.get(`${OTHER_BUCKET}/shared-name.bin`))?.text()).toBe("theirs");
  });

  it("ListParts of an unknown upload id is 404 NoSuchUpload", async () => {
    const response = await send(headerSigned("GET", `/${BUCKET}/k?uploadId=nonsense`));
    expect(await answerOf(response)).toEqual([404, "NoSuchUpload"]);
  });

  it("ListParts of another repository's upload is NoSuchUpload; its key cannot list it", async () => {
    const theirs = await createUpload(OTHER_BUCKET, "k");
    const response = await send(
      headerSigned("GET", `/${BUCKET}/k?uploadId=${encodeURIComponent(theirs)}`),
    );
    expect(await answerOf(response)).toEqual([404, "NoSuchUpload"]);
  });
});

describe("keys XML 1.0 cannot carry", () => {
  it.each([
    ["NUL", "not-xml-a%00b"],
    ["a C0 control", "not-xml-a%01b"],
    ["U+FFFF", "not-xml-a%EF%BF%BFb"],
  ])(
    "a key with %s is 400 InvalidArgument at PutObject and CreateMultipartUpload; nothing is stored",
    async (_, encoded) => {
      const put = await send(headerSigned("PUT", `/${BUCKET}/${encoded}`, { body: "x" }));
      expect(await answerOf(put)).toEqual([400, "InvalidArgument"]);
      const create = await send(headerSigned("POST", `/${BUCKET}/${encoded}?uploads`));
      expect(await answerOf(create)).toEqual([400, "InvalidArgument"]);
      // Only this test writes under not-xml- (every file shares the bucket).
      expect((await env.BUCKET.list({ prefix: `${BUCKET}/not-xml-` })).objects).toEqual([]);
    },
  );

  it("tab, LF and CR are XML characters: such keys are stored and listed back exactly", async () => {
    const put = await send(headerSigned("PUT", `/${BUCKET}/t%09l%0Ac%0D.txt`, { body: "x" }));
    expect(put.status).toBe(200);
    const list = await send(headerSigned("GET", `/${BUCKET}?list-type=2&prefix=t`));
    const xml = await list.text();
    expect(xml).toContain("<Key>t\tl\nc&#xD;.txt</Key>");
    expect(xmlCharacterProblems(xml)).toEqual([]);
  });

  it("a key stored before the rule still lists as well-formed XML (U+FFFD in place), exactly with encoding-type=url", async () => {
    await env.BUCKET.put(`${BUCKET}/old\u0000\u0001\uffffkey`, "x");
    const list = await send(headerSigned("GET", `/${BUCKET}?list-type=2&prefix=old`));
    const xml = await list.text();
    expect(xmlCharacterProblems(xml)).toEqual([]);
    expect(xml).toContain("<Key>old\ufffd\ufffd\ufffdkey</Key>");
    const encoded = await send(
      headerSigned("GET", `/${BUCKET}?list-type=2&prefix=old&encoding-type=url`),
    );
    expect(await encoded.text()).toContain("<Key>old%00%01%EF%BF%BFkey</Key>");
    // It can still be read and deleted.
    const got = await send(headerSigned("GET", `/${BUCKET}/old%00%01%EF%BF%BFkey`));
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("x");
  });

  it("a prefix or an error message with such characters is still well-formed XML", async () => {
    const list = await send(headerSigned("GET", `/${BUCKET}?list-type=2&prefix=%00%EF%BF%BE`));
    expect(xmlCharacterProblems(await list.text())).toEqual([]);
    const refused = await send(headerSigned("GET", `/${BUCKET}/k?%01evil`));
    expect(refused.status).toBe(501);
    expect(xmlCharacterProblems(await refused.text())).toEqual([]);
  });
});
