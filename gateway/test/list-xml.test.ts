import { describe, expect, it } from "vitest";
import { escapeXml } from "../src/errors";
import { type ListRequest, listBucketResultXml } from "../src/list";

const bucket = "0b5a3c2e-1111-4222-8333-444455556666";
const list: ListRequest = { bucket, prefix: "a&b/", delimiter: "/", maxKeys: 1000 };
const object = (key: string) => ({
  key,
  lastModified: new Date("2026-01-02T03:04:05.678Z"),
  etag: '"0123456789abcdef0123456789abcdef"',
  size: 42,
});

describe("ListBucketResult", () => {
  it("escapes & < > \" ' in keys, prefixes and the ETag's quotes", () => {
    const xml = listBucketResultXml(list, {
      objects: [object(`a&b/<Tom> & "Jerry's".txt`)],
      commonPrefixes: ["a&b/'q'/"],
      truncated: false,
    });
    expect(xml).toContain("<Key>a&amp;b/&lt;Tom&gt; &amp; &quot;Jerry&apos;s&quot;.txt</Key>");
    expect(xml).toContain(
      "<CommonPrefixes><Prefix>a&amp;b/&apos;q&apos;/</Prefix></CommonPrefixes>",
    );
    expect(xml).toContain("<Prefix>a&amp;b/</Prefix>");
    expect(xml).toContain("<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag>");
    expect(xml).not.toMatch(/<Key>[^<]*[<>"'][^<]*<\/Key>/);
  });

  it("is S3's document: counts, truncation and the next token, elements in S3's order", () => {
    const xml = listBucketResultXml(
      { ...list, prefix: "", maxKeys: 2, continuationToken: "abc" },
      {
        objects: [object("x")],
        commonPrefixes: ["y/"],
        truncated: true,
        nextContinuationToken: "n&1",
      },
    );
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>' +
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<Name>${bucket}</Name><Prefix></Prefix><Delimiter>/</Delimiter><MaxKeys>2</MaxKeys>` +
        "<KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>" +
        "<ContinuationToken>abc</ContinuationToken><NextContinuationToken>n&amp;1</NextContinuationToken>" +
        "<Contents><Key>x</Key><LastModified>2026-01-02T03:04:05.678Z</LastModified>" +
        "<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>42</Size>" +
        "<StorageClass>STANDARD</StorageClass></Contents>" +
        "<CommonPrefixes><Prefix>y/</Prefix></CommonPrefixes></ListBucketResult>",
    );
  });

  it("with EncodingType=url, keys are percent-encoded (slashes kept) and the type is echoed", () => {
    const xml = listBucketResultXml(
      { ...list, encodingType: "url" },
      { objects: [object("a&b/sp ace+plus\u0001.txt")], commonPrefixes: [], truncated: false },
    );
    expect(xml).toContain("<Key>a%26b/sp%20ace%2Bplus%01.txt</Key>");
    expect(xml).toContain("<EncodingType>url</EncodingType>");
  });

  it("CR becomes a reference; what XML 1.0 cannot carry at all becomes U+FFFD", () => {
    // Compared as JSON, which writes a lone surrogate as \ud800 (a failure report could not).
    const escaped = escapeXml("a\u0001b\rc\td\ne\u0000f\uffff\ud800g\ud83d\ude00");
    expect(JSON.stringify(escaped)).toBe(
      JSON.stringify("a\ufffdb&#xD;c\td\ne\ufffdf\ufffd\ufffdg\ud83d\ude00"),
    );
  });
});
