import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { crc32, crcBytes } from "../src/crc32";
import { parseDeleteRequest } from "../src/delete-objects";
import { BUCKET, codeOf, headerSigned, OTHER_BUCKET, send } from "./support/requests";

/** DeleteObjects: POST /{bucket}?delete with S3's XML body. */

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

async function md5Base64(text: string) {
  const digest = await crypto.subtle.digest("MD5", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

const deleteDocument = (keys: string[], quiet = false) =>
  `<Delete ${XMLNS}>${quiet ? "<Quiet>true</Quiet>" : ""}` +
  keys.map((key) => `<Object><Key>${key}</Key></Object>`).join("") +
  "</Delete>";

async function deleteObjects(
  body: string,
  options: { key?: string; headers?: Record<string, string> } = {},
) {
  return send(
    headerSigned("POST", `/${BUCKET}?delete`, {
      key: options.key,
      body,
      headers: { "content-md5": await md5Base64(body), ...options.headers },
    }),
  );
}

const stored = async (key: string) => (await env.BUCKET.head(`${BUCKET}/${key}`)) !== null;

describe("DeleteObjects", () => {
  it("deletes each key and says so, absent keys included, as S3", async () => {
    await env.BUCKET.put(`${BUCKET}/one`, "1");
    await env.BUCKET.put(`${BUCKET}/dir/two`, "2");
    await env.BUCKET.put(`${BUCKET}/kept`, "3");
    const response = await deleteObjects(deleteDocument(["one", "dir/two", "never-there"]));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/xml");
    expect(await response.text()).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><DeleteResult ${XMLNS}>` +
        "<Deleted><Key>one</Key></Deleted><Deleted><Key>dir/two</Key></Deleted>" +
        "<Deleted><Key>never-there</Key></Deleted></DeleteResult>",
    );
    expect([await stored("one"), await stored("dir/two"), await stored("kept")]).toEqual([
      false,
      false,
      true,
    ]);
  });

  it("keys written with entities and numeric references are the keys they stand for", async () => {
    const keys = ["a&b <c>", "tab\there", "cr\rkey", "emoji 😀", " 007 ", "1e3"];
    for (const key of keys) await env.BUCKET.put(`${BUCKET}/${key}`, "x");
    const written = [
      "a&amp;b &lt;c&#62;",
      "tab&#9;here",
      "cr&#xD;key",
      "emoji &#x1F600;",
      " 007 ",
      "1e3",
    ];
    const response = await deleteObjects(deleteDocument(written));
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const key of keys) expect(await stored(key), key).toBe(false);
    expect(text).toContain("<Key>a&amp;b &lt;c&gt;</Key>");
    expect(text).toContain("<Key>cr&#xD;key</Key>");
    expect(text).toContain("<Key> 007 </Key>");
  });

  it("Quiet answers only the errors", async () => {
    await env.BUCKET.put(`${BUCKET}/quiet`, "x");
    const body =
      `<Delete ${XMLNS}><Quiet>true</Quiet><Object><Key>quiet</Key></Object>` +
      "<Object><Key>versioned</Key><VersionId>3HL4kqtJlcpXroDTDmJ</VersionId></Object></Delete>";
    const response = await deleteObjects(body);
    expect(await response.text()).toBe(
      `<?xml version="1.0" encoding="UTF-8"?><DeleteResult ${XMLNS}>` +
        "<Error><Key>versioned</Key><VersionId>3HL4kqtJlcpXroDTDmJ</VersionId>" +
        "<Code>NoSuchVersion</Code><Message>The specified version does not exist.</Message></Error>" +
        "</DeleteResult>",
    );
    expect(await stored("quiet")).toBe(false);
  });

  it("1000 keys are deleted in one request; 1001 are MalformedXML and delete nothing", async () => {
    const keys = Array.from({ length: 1001 }, (_, i) => `many/${String(i).padStart(4, "0")}`);
    await Promise.all(keys.map((key) => env.BUCKET.put(`${BUCKET}/${key}`, "")));
    const tooMany = await deleteObjects(deleteDocument(keys));
    expect([tooMany.status, await codeOf(tooMany)]).toEqual([400, "MalformedXML"]);
    expect(await stored("many/0000")).toBe(true);
    const response = await deleteObjects(deleteDocument(keys.slice(0, 1000), true));
    expect(response.status).toBe(200);
    expect(await response.text()).not.toContain("<Error>");
    const left = await env.BUCKET.list({ prefix: `${BUCKET}/many/` });
    expect(left.objects.map((o) => o.key)).toEqual([`${BUCKET}/many/1000`]);
  }, 30_000);

  it("without Content-MD5 or a checksum it is InvalidRequest; a checksum will do", async () => {
    await env.BUCKET.put(`${BUCKET}/checked`, "x");
    const body = deleteDocument(["checked"]);
    const bare = await send(headerSigned("POST", `/${BUCKET}?delete`, { body }));
    expect([bare.status, await codeOf(bare)]).toEqual([400, "InvalidRequest"]);
    expect(await stored("checked")).toBe(true);
    const checksum = btoa(String.fromCharCode(...crcBytes(crc32(new TextEncoder().encode(body)))));
    const withCrc = await send(
      headerSigned("POST", `/${BUCKET}?delete`, {
        body,
        headers: { "x-amz-checksum-crc32": checksum, "x-amz-sdk-checksum-algorithm": "CRC32" },
      }),
    );
    expect(withCrc.status).toBe(200);
    expect(await stored("checked")).toBe(false);
  });

  it("a Content-MD5 the body does not match is BadDigest and deletes nothing", async () => {
    await env.BUCKET.put(`${BUCKET}/guarded`, "x");
    const response = await deleteObjects(deleteDocument(["guarded"]), {
      headers: { "content-md5": await md5Base64("another body") },
    });
    expect([response.status, await codeOf(response)]).toEqual([400, "BadDigest"]);
    expect(await stored("guarded")).toBe(true);
  });

  it("needs WRITE, on the key's own bucket", async () => {
    await env.BUCKET.put(`${BUCKET}/protected`, "x");
    const reader = await deleteObjects(deleteDocument(["protected"]), { key: `READ.${BUCKET}` });
    expect([reader.status, await codeOf(reader)]).toEqual([403, "AccessDenied"]);
    const other = await deleteObjects(deleteDocument(["protected"]), {
      key: `WRITE.${OTHER_BUCKET}`,
    });
    expect([other.status, await codeOf(other)]).toEqual([403, "AccessDenied"]);
    expect(await stored("protected")).toBe(true);
  });
});

describe("the Delete document", () => {
  it("reads keys, version ids and Quiet", () => {
    expect(
      parseDeleteRequest(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Delete>\n  <Object>\n    <Key>a&#x26;b</Key>\n' +
          "    <VersionId>null</VersionId>\n  </Object>\n  <Quiet> TRUE </Quiet>\n</Delete>",
      ),
    ).toEqual({ objects: [{ key: "a&b", versionId: "null" }], quiet: true });
  });

  it.each([
    ["not XML", "delete these"],
    ["no objects", "<Delete><Quiet>true</Quiet></Delete>"],
    ["an object without a key", "<Delete><Object><VersionId>null</VersionId></Object></Delete>"],
    ["an empty key", "<Delete><Object><Key></Key></Object></Delete>"],
    ["two keys in one object", "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>"],
    ["markup in a key", "<Delete><Object><Key>a<b/></Key></Object></Delete>"],
    ["a reference to NUL", "<Delete><Object><Key>a&#0;</Key></Object></Delete>"],
    ["an undefined entity", "<Delete><Object><Key>&eacute;</Key></Object></Delete>"],
    ["a bare ampersand", "<Delete><Object><Key>a & b</Key></Object></Delete>"],
    ["a DOCTYPE", '<!DOCTYPE d [<!ENTITY x "k">]><Delete><Object><Key>&x;</Key></Object></Delete>'],
    [
      "Quiet that is not a boolean",
      "<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>",
    ],
    ["another root", "<Remove><Object><Key>a</Key></Object></Remove>"],
    [
      "an element named constructor",
      "<Delete><constructor/><Object><Key>a</Key></Object></Delete>",
    ],
  ])("%s is MalformedXML", (_, xml) => {
    expect(() => parseDeleteRequest(xml)).toThrow(
      expect.objectContaining({ code: "MalformedXML" }),
    );
  });
});
