import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { headerSigned, send } from "./support/requests";

/** ListObjects (v1): GET /{bucket} without list-type, as s3cmd and rclone (provider Other) ask. */

const KEYS = ["a/1", "a/2", "b", "c d/1", "café", "e/x/1", "f"];

/** A repository of this file's own: every file shares one R2 bucket, and these lists see it all. */
const BUCKET = "0b5a3c2e-7777-4222-8333-0000000000f1";
const KEY = `WRITE.${BUCKET}`;

beforeAll(async () => {
  for (const key of KEYS) await env.BUCKET.put(`${BUCKET}/${key}`, key);
});

async function listV1(query: string) {
  const response = await send(headerSigned("GET", `/${BUCKET}${query}`, { key: KEY }));
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("application/xml");
  return response.text();
}

const all = (xml: string, element: string) =>
  [...xml.matchAll(new RegExp(`<${element}>([^<]*)</${element}>`, "g"))].map((m) => m[1]);
const one = (xml: string, element: string) => all(xml, element)[0];
const keysOf = (xml: string) => all(xml, "Key");
const prefixesOf = (xml: string) =>
  [...xml.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix><\/CommonPrefixes>/g)].map(
    (m) => m[1],
  );

describe("ListObjects (v1)", () => {
  it("is S3's v1 document: Marker, MaxKeys, IsTruncated, no v2 elements", async () => {
    const xml = await listV1("?prefix=a%2F");
    expect(xml).toMatch(
      new RegExp(
        '^<\\?xml version="1.0" encoding="UTF-8"\\?>' +
          '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
          `<Name>${BUCKET}</Name><Prefix>a/</Prefix><Marker></Marker><MaxKeys>1000</MaxKeys>` +
          "<IsTruncated>false</IsTruncated>" +
          "<Contents><Key>a/1</Key><LastModified>[^<]+</LastModified><ETag>&quot;[0-9a-f]{32}&quot;</ETag>" +
          "<Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>" +
          "<Contents><Key>a/2</Key>.*</Contents></ListBucketResult>$",
      ),
    );
    expect(xml).not.toMatch(/KeyCount|ContinuationToken|StartAfter|NextMarker/);
  });

  it("without a delimiter, pages follow the last key as the marker; no NextMarker", async () => {
    const seen: string[] = [];
    let marker = "";
    for (let page = 0; page < 10; page++) {
      const xml = await listV1(`?max-keys=3&marker=${encodeURIComponent(marker)}`);
      expect(one(xml, "Marker")).toBe(marker);
      expect(xml).not.toContain("<NextMarker>");
      const keys = keysOf(xml) as string[];
      seen.push(...keys);
      if (one(xml, "IsTruncated") === "false") break;
      expect(keys).toHaveLength(3);
      marker = keys.at(-1) as string;
    }
    expect(seen).toEqual(KEYS);
  });

  it("with a delimiter, NextMarker names the last key or prefix, and a prefix is not listed twice", async () => {
    const pages: string[][] = [];
    let marker = "";
    for (let page = 0; page < 10; page++) {
      const xml = await listV1(`?delimiter=%2F&max-keys=2&marker=${encodeURIComponent(marker)}`);
      const entries = [...(keysOf(xml) as string[]), ...(prefixesOf(xml) as string[])].sort();
      pages.push(entries);
      if (one(xml, "IsTruncated") === "false") {
        expect(xml).not.toContain("<NextMarker>");
        break;
      }
      expect(one(xml, "NextMarker")).toBe(entries.at(-1));
      marker = one(xml, "NextMarker") as string;
    }
    expect(pages).toEqual([
      ["a/", "b"],
      ["c d/", "café"],
      ["e/", "f"],
    ]);
  });

  it("a marker inside a common prefix skips the rest of that prefix", async () => {
    const xml = await listV1("?delimiter=%2F&marker=a%2F1");
    expect(prefixesOf(xml)).toEqual(["c d/", "e/"]);
    expect(keysOf(xml)).toEqual(["b", "café", "f"]);
  });

  it("an empty delimiter= means no delimiter", async () => {
    const xml = await listV1("?delimiter=&prefix=e%2F");
    expect(keysOf(xml)).toEqual(["e/x/1"]);
    expect(xml).not.toContain("<CommonPrefixes>");
    expect(xml).not.toContain("<Delimiter>");
  });

  it("encoding-type=url percent-encodes keys, prefixes, Marker and NextMarker", async () => {
    const xml = await listV1("?delimiter=%2F&max-keys=1&marker=b&encoding-type=url");
    expect(one(xml, "Marker")).toBe("b");
    expect(prefixesOf(xml)).toEqual(["c%20d/"]);
    expect(one(xml, "NextMarker")).toBe("c%20d/");
    expect(one(xml, "EncodingType")).toBe("url");
    const next = await listV1("?delimiter=%2F&max-keys=1&marker=c%20d%2F&encoding-type=url");
    expect(keysOf(next)).toEqual(["caf%C3%A9"]);
    expect(one(next, "NextMarker")).toBe("caf%C3%A9");
  });

  it("max-keys=0 lists nothing; a max-keys that is not a number is InvalidArgument", async () => {
    const xml = await listV1("?max-keys=0");
    expect(keysOf(xml)).toEqual([]);
    expect(one(xml, "IsTruncated")).toBe("false");
    const bad = await send(headerSigned("GET", `/${BUCKET}?max-keys=ten`, { key: KEY }));
    expect(bad.status).toBe(400);
  });

  it("is a READ: a READ key lists, another repository's key is AccessDenied", async () => {
    const read = await send(headerSigned("GET", `/${BUCKET}`, { key: `READ.${BUCKET}` }));
    expect(read.status).toBe(200);
    const other = await send(
      headerSigned("GET", `/${BUCKET}`, { key: "READ.7d1e9f00-aaaa-4bbb-8ccc-ddddeeeeffff" }),
    );
    expect(other.status).toBe(403);
  });
});
