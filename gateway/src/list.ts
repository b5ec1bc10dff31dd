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
    delimiter: q.get("delimiter") || undefined,
    maxKeys,
    continuationToken: q.get("continuation-token") ?? undefined,
    startAfter: q.get("start-after") || undefined,
    encodingType: encodingType === "url" ? "url" : undefined,
  };
}

/** One page of the bucket's keys, read from R2 under "<bucket>/" and returned without it. */
export async function listPage(env: Env, list: ListRequest): Promise<ListPage> {
  if (list.maxKeys === 0) return { objects: [], commonPrefixes: [], truncated: false };
  const root = `${list.bucket}/`;
  const page = await env.BUCKET.list({
    prefix: root + list.prefix,
    delimiter: list.delimiter,
    limit: list.maxKeys,
    // A continuation token is R2's cursor; start-after only applies without one, as in S3.
    cursor: list.continuationToken,
    startAfter:
      list.continuationToken === undefined && list.startAfter !== undefined
        ? root + list.startAfter
        : undefined,
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

/** The ListBucketResult document for a page. */
export function listBucketResultXml(list: ListRequest, page: ListPage): string {
  const text = (value: string) => escapeXml(list.encodingType ? urlEncode(value) : value);
  const element = (name: string, value: string | number | boolean | undefined) =>
    value === undefined ? "" : `<${name}>${value}</${name}>`;
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
  return (
    `${XML_DECLARATION}<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
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
    contents +
    prefixes +
    "</ListBucketResult>"
  );
}

/** ListObjectsV2. */
export async function listObjectsV2(env: Env, route: Route): Promise<Response> {
  const list = listRequestOf(route);
  const page = await listPage(env, list);
  return new Response(listBucketResultXml(list, page), {
    headers: { "Content-Type": "application/xml" },
  });
}
