import { describe, expect, it } from "vitest";
import { parseCompleteMultipartUpload } from "../src/multipart";

describe("CompleteMultipartUpload's part list", () => {
  it("reads part numbers and ETags as the SDK sends them (quoted, escaped, with checksums)", () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      "<Part><ChecksumCRC32>AAAAAA==</ChecksumCRC32><ETag>&quot;abc&quot;</ETag><PartNumber>1</PartNumber></Part>" +
      '<Part><ETag>"def"</ETag><PartNumber>2</PartNumber></Part>' +
      "<Part>\n  <PartNumber>3</PartNumber>\n  <ETag>ghi</ETag>\n</Part></CompleteMultipartUpload>";
    expect(parseCompleteMultipartUpload(xml)).toEqual([
      { partNumber: 1, etag: "abc" },
      { partNumber: 2, etag: "def" },
      { partNumber: 3, etag: "ghi" },
    ]);
  });

  it("reads ETags written with numeric character references, decimal or hex", () => {
    const xml =
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#x22;a&#38;b&#34;</ETag>" +
      "</Part></CompleteMultipartUpload>";
    expect(parseCompleteMultipartUpload(xml)).toEqual([{ partNumber: 1, etag: "a&b" }]);
  });

  it("parts out of order are InvalidPartOrder", () => {
    const xml =
      "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</ETag></Part>" +
      "<Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>";
    expect(() => parseCompleteMultipartUpload(xml)).toThrow(
      expect.objectContaining({ code: "InvalidPartOrder" }),
    );
  });

  it.each([
    ["not XML", "hello"],
    ["no parts", "<CompleteMultipartUpload></CompleteMultipartUpload>"],
    [
      "a part without an ETag",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
    ],
    ["another document", "<Delete><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></Delete>"],
    [
      "an element left open",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part><Part></CompleteMultipartUpload>",
    ],
    [
      "a DOCTYPE with its own entity",
      '<!DOCTYPE x [<!ENTITY e "zz">]><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&e;</ETag></Part></CompleteMultipartUpload>',
    ],
    [
      "an entity XML does not define",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&nbsp;</ETag></Part></CompleteMultipartUpload>",
    ],
    [
      "two part numbers in one part",
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
    ],
  ])("%s is MalformedXML", (_, xml) => {
    expect(() => parseCompleteMultipartUpload(xml)).toThrow(
      expect.objectContaining({ code: "MalformedXML" }),
    );
  });
});
