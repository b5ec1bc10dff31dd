import type { Env } from "./env";
import { escapeXml, S3Error, XML_DECLARATION } from "./errors";
import type { Route } from "./route";

const MAX_KEYS = 1000;

export interface ListRequest {
  bucket: string;
  prefix: string;
  delimiter?: string;
  maxKeys: number;
  continuationToken?: string;
  startAfter?: string;
  /** ListObjects (v1): list the keys after this one. */
  marker?: string;
  encodingType?: "url";
}

export interface ListedObject {
  key: string;
  lastModified: Date;
  /** Quoted, as S3 writes it. */
  etag: string;
  size: number;
}

export interface ListPage {
  objects: ListedObject[];
  commonPrefixes: string[];
  truncated: boolean;
  nextContinuationToken?: string;
}

/** ListObjectsV2's query, checked as S3 checks it. */
export function listRequestOf(route: Route): ListRequest {
  const q = route.query;
  if (q.get("list-type") !== "2") throw new S3Error("InvalidArgument", "list-type must be 2.");
  return {
    ...commonListRequestOf(route),
    continuationToken: q.get("continuation-token") ?? undefined,
    startAfter: q.get("start-after") || undefined,
  };
}

/** ListObjects (v1)'s query: a marker where v2 has a continuation token. */
export function listV1RequestOf(route: Route): ListRequest {
  return { ...commonListRequestOf(route), marker: route.query.get("marker") || undefined };
}

function commonListRequestOf(route: Route): ListRequest {
  const q = route.query;
  const maxKeysText = q.get("max-keys");
  let maxKeys = MAX_KEYS;
  if (maxKeysText !== null) {
    if (!/^\d{1,10}$/.test(maxKeysText)) {
      throw new S3Error("InvalidArgument", "max-keys must be a whole number.");
    }
    maxKeys = Math.min(Number(maxKeysText), MAX_KEYS);
  }
  const encodingType = q.get("encoding-type");
  if (encodingType !== null && encodingType !== "url") {
    throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request");
  }
  return {
    bucket: route.bucket,
    prefix: q.get("prefix") ?? "",
    // An empty delimiter is none, as on S3.
    delimiter: q.get("delimiter") || undefined,
    maxKeys,
    encodingType: encodingType === "url" ? "url" : undefined,
  };
}

/**
 * Where a listing starts: after v2's start-after, or after v1's marker. A marker that is (or
 * lies under) a common prefix skips the whole prefix, so a NextMarker naming a common prefix
 * does not list it again: every key under it sorts before that prefix followed by U+10FFFF.
 */
function listStartAfter(list: ListRequest): string | undefined {
  if (list.marker === undefined) return list.startAfter;
  const { marker, prefix, delimiter } = list;
  if (delimiter === undefined || !marker.startsWith(prefix)) return marker;
  const end = marker.indexOf(delimiter, prefix.length);
  if (end < 0) return marker;
  return `${marker.slice(0, end + delimiter.length)}\u{10ffff}`;
}

/** One page of the bucket's keys, read from R2 under "<bucket>/" and returned without it. */
export async function listPage(env: Env, list: ListRequest): Promise<ListPage> {
  if (list.maxKeys === 0) return { objects: [], commonPrefixes: [], truncated: false };
  const root = `${list.bucket}/`;
  // A continuation token is R2's cursor; start-after only applies without one, as in S3.
  const after = list.continuationToken === undefined ? listStartAfter(list) : undefined;
  const page = await env.BUCKET.list({
    prefix: root + list.prefix,
    delimiter: list.delimiter,
    limit: list.maxKeys,
    cursor: list.continuationToken,
    startAfter: after === undefined ? undefined : root + after,
  });
  return {
    objects: page.objects.map((object) => ({
      key: object.key.slice(root.length),
      lastModified: object.uploaded,
      etag: object.httpEtag,
      size: object.size,
    })),
    commonPrefixes: page.delimitedPrefixes.map((prefix) => prefix.slice(root.length)),
    truncated: page.truncated,
    nextContinuationToken: page.truncated ? page.cursor : undefined,
  };
}

/** EncodingType=url: keys percent-encoded, "/" kept, as S3 writes them. */
const urlEncode = (text: string) => encodeURIComponent(text).replace(/%2F/g, "/");

type Element = (name: string, value: string | number | boolean | undefined) => string;

const element: Element = (name, value) =>
  value === undefined ? "" : `<${name}>${value}</${name}>`;

/** A list's text as XML: percent-encoded first with EncodingType=url. */
const listText = (list: ListRequest) => (value: string) =>
  escapeXml(list.encodingType ? urlEncode(value) : value);

/** The Contents and CommonPrefixes of a page, as both versions write them. */
function entriesXml(list: ListRequest, page: ListPage): string {
  const text = listText(list);
  const contents = page.objects
    .map(
      (object) =>
        `<Contents>${element("Key", text(object.key))}` +
        element("LastModified", object.lastModified.toISOString()) +
        element("ETag", escapeXml(object.etag)) +
        element("Size", object.size) +
        "<StorageClass>STANDARD</StorageClass></Contents>",
    )
    .join("");
  const prefixes = page.commonPrefixes
    .map((prefix) => `<CommonPrefixes>${element("Prefix", text(prefix))}</CommonPrefixes>`)
    .join("");
  return contents + prefixes;
}

const LIST_BUCKET_RESULT = `${XML_DECLARATION}<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`;

/** The ListBucketResult document for a ListObjectsV2 page. */
export function listBucketResultXml(list: ListRequest, page: ListPage): string {
  const text = listText(list);
  return (
    LIST_BUCKET_RESULT +
    element("Name", list.bucket) +
    element("Prefix", text(list.prefix)) +
    element("Delimiter", list.delimiter === undefined ? undefined : text(list.delimiter)) +
    element("MaxKeys", list.maxKeys) +
    element("KeyCount", page.objects.length + page.commonPrefixes.length) +
    element("IsTruncated", page.truncated) +
    element(
      "ContinuationToken",
      list.continuationToken === undefined ? undefined : escapeXml(list.continuationToken),
    ) +
    element(
      "NextContinuationToken",
      page.nextContinuationToken === undefined ? undefined : escapeXml(page.nextContinuationToken),
    ) +
    element("StartAfter", list.startAfter === undefined ? undefined : text(list.startAfter)) +
    element("EncodingType", list.encodingType) +
    entriesXml(list, page) +
    "</ListBucketResult>"
  );
}

/** Strings in R2's order: by their UTF-8 bytes (UTF-16 order differs past U+D7FF). */
function compareUtf8(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  }
  return x.length - y.length;
}

/**
 * ListObjects (v1)'s NextMarker: the last key or common prefix of a truncated page, written
 * only when a delimiter was given (without one, clients take the last key, as S3 documents).
 */
export function nextMarkerOf(list: ListRequest, page: ListPage): string | undefined {
  if (!page.truncated || list.delimiter === undefined) return undefined;
  const lastKey = page.objects.at(-1)?.key;
  const lastPrefix = page.commonPrefixes.at(-1);
  if (lastKey === undefined || lastPrefix === undefined) return lastKey ?? lastPrefix;
  return compareUtf8(lastKey, lastPrefix) > 0 ? lastKey : lastPrefix;
}

/** The ListBucketResult document for a ListObjects (v1) page. */
export function listBucketResultV1Xml(list: ListRequest, page: ListPage): string {
  const text = listText(list);
  const nextMarker = nextMarkerOf(list, page);
  return (
    LIST_BUCKET_RESULT +
    element("Name", list.bucket) +
    element("Prefix", text(list.prefix)) +
    element("Marker", text(list.marker ?? "")) +
    element("NextMarker", nextMarker === undefined ? undefined : text(nextMarker)) +
    element("MaxKeys", list.maxKeys) +
    element("Delimiter", list.delimiter === undefined ? undefined : text(list.delimiter)) +
    element("EncodingType", list.encodingType) +
    element("IsTruncated", page.truncated) +
    entriesXml(list, page) +
    "</ListBucketResult>"
  );
}

const xmlResponse = (body: string) =>
  new Response(body, { headers: { "Content-Type": "application/xml" } });

/** ListObjectsV2. */
export async function listObjectsV2(env: Env, route: Route): Promise<Response> {
  const list = listRequestOf(route);
  return xmlResponse(listBucketResultXml(list, await listPage(env, list)));
}

/** ListObjects (v1): s3cmd's and rclone's default listing. */
export async function listObjects(env: Env, route: Route): Promise<Response> {
  const list = listV1RequestOf(route);
  return xmlResponse(listBucketResultV1Xml(list, await listPage(env, list)));
}
