import type { Env } from "./env";
import { escapeXml, S3Error, XML_DECLARATION } from "./errors";
import type { Route } from "./route";
import type { VerifiedKey } from "./verify";

/**
 * ListMultipartUploads and ListParts. R2's bindings cannot list uploads or parts, so the gateway
 * keeps a small index in R2 itself, under `.uploads/`, a prefix no repository's listing can
 * reach (every repository's objects are under "<repo id>/"):
 *   .uploads/<repo id>/<upload id>             customMetadata { key, initiated }
 *   .uploads/<repo id>/<upload id>/<part 00001> customMetadata { etag, size, uploaded }
 * (upload ids percent-encoded). CreateMultipartUpload and UploadPart write it,
 * CompleteMultipartUpload and AbortMultipartUpload remove the upload's entries.
 */

const INDEX = ".uploads";
const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const MAX_LISTED = 1000;

const uploadEntry = (repo: string, uploadId: string) =>
  `${INDEX}/${repo}/${encodeURIComponent(uploadId)}`;
const partEntry = (repo: string, uploadId: string, part: number) =>
  `${uploadEntry(repo, uploadId)}/${String(part).padStart(5, "0")}`;

export async function recordUpload(env: Env, repo: string, key: string, uploadId: string) {
  await env.BUCKET.put(uploadEntry(repo, uploadId), "", {
    customMetadata: { key, initiated: new Date().toISOString() },
  });
}

export async function recordPart(
  env: Env,
  repo: string,
  uploadId: string,
  part: { partNumber: number; etag: string; size: number },
) {
  await env.BUCKET.put(partEntry(repo, uploadId, part.partNumber), "", {
    customMetadata: {
      etag: part.etag,
      size: String(part.size),
      uploaded: new Date().toISOString(),
    },
  });
}

async function listAll(env: Env, prefix: string, delimiter?: string): Promise<R2Object[]> {
  const objects: R2Object[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.BUCKET.list({ prefix, delimiter, cursor, include: ["customMetadata"] });
    objects.push(...page.objects);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return objects;
}

/** Forgets an upload that was completed or aborted. */
export async function forgetUpload(env: Env, repo: string, uploadId: string) {
  const entry = uploadEntry(repo, uploadId);
  const parts = await listAll(env, `${entry}/`);
  const keys = [entry, ...parts.map((part) => part.key)];
  for (let i = 0; i < keys.length; i += 1000) await env.BUCKET.delete(keys.slice(i, i + 1000));
}

const owner = (verified: VerifiedKey, element: string) =>
  `<${element}><ID>${escapeXml(verified.workspaceId)}</ID>` +
  `<DisplayName>${escapeXml(verified.workspaceId)}</DisplayName></${element}>`;

function countOf(text: string | null, name: string): number {
  if (text === null) return MAX_LISTED;
  if (!/^\d{1,10}$/.test(text))
    throw new S3Error("InvalidArgument", `${name} must be a whole number.`);
  return Math.min(Number(text), MAX_LISTED);
}

const xml = (body: string) =>
  new Response(`${XML_DECLARATION}${body}`, { headers: { "Content-Type": "application/xml" } });

/** ListMultipartUploads: uploads by key, then by when they began, as S3 orders them. */
export async function listMultipartUploads(
  env: Env,
  route: Route,
  _request: Request,
  verified: VerifiedKey,
): Promise<Response> {
  const q = route.query;
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") || undefined;
  const keyMarker = q.get("key-marker") ?? "";
  const uploadIdMarker = q.get("upload-id-marker") ?? "";
  const maxUploads = countOf(q.get("max-uploads"), "max-uploads");
  const encodingType = q.get("encoding-type");
  if (encodingType !== null && encodingType !== "url") {
    throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request");
  }
  const text = (value: string) =>
    escapeXml(encodingType ? encodeURIComponent(value).replace(/%2F/g, "/") : value);
  const root = `${INDEX}/${route.bucket}/`;
  const uploads = (await listAll(env, root, "/"))
    .map((entry) => ({
      key: entry.customMetadata?.key ?? "",
      uploadId: decodeURIComponent(entry.key.slice(root.length)),
      initiated: entry.customMetadata?.initiated ?? entry.uploaded.toISOString(),
    }))
    .filter((upload) => upload.key.startsWith(prefix))
    .filter((upload) =>
      keyMarker === ""
        ? true
        : upload.key > keyMarker ||
          (upload.key === keyMarker && uploadIdMarker !== "" && upload.uploadId > uploadIdMarker),
    )
    .sort((a, b) =>
      a.key === b.key ? a.initiated.localeCompare(b.initiated) : a.key < b.key ? -1 : 1,
    );
  const entries: string[] = [];
  const prefixes = new Set<string>();
  let truncated = false;
  let last: { key: string; uploadId: string } | undefined;
  for (const upload of uploads) {
    const at = delimiter === undefined ? -1 : upload.key.indexOf(delimiter, prefix.length);
    const common = at < 0 ? undefined : upload.key.slice(0, at + (delimiter as string).length);
    if (common !== undefined && prefixes.has(common)) continue;
    if (entries.length + prefixes.size >= maxUploads) {
      truncated = true;
      break;
    }
    if (common !== undefined) {
      prefixes.add(common);
      last = { key: common, uploadId: "" };
      continue;
    }
    last = upload;
    entries.push(
      `<Upload><Key>${text(upload.key)}</Key><UploadId>${escapeXml(upload.uploadId)}</UploadId>` +
        `${owner(verified, "Initiator")}${owner(verified, "Owner")}` +
        `<StorageClass>STANDARD</StorageClass><Initiated>${upload.initiated}</Initiated></Upload>`,
    );
  }
  const element = (name: string, value: string | undefined) =>
    value === undefined ? "" : `<${name}>${value}</${name}>`;
  return xml(
    `<ListMultipartUploadsResult ${XMLNS}><Bucket>${route.bucket}</Bucket>` +
      element("KeyMarker", text(keyMarker)) +
      element("UploadIdMarker", escapeXml(uploadIdMarker)) +
      element("NextKeyMarker", truncated && last ? text(last.key) : undefined) +
      element("NextUploadIdMarker", truncated && last ? escapeXml(last.uploadId) : undefined) +
      element("Prefix", text(prefix)) +
      element("Delimiter", delimiter === undefined ? undefined : text(delimiter)) +
      `<MaxUploads>${maxUploads}</MaxUploads>` +
      element("EncodingType", encodingType ?? undefined) +
      `<IsTruncated>${truncated}</IsTruncated>${entries.join("")}` +
      [...prefixes]
        .map((p) => `<CommonPrefixes><Prefix>${text(p)}</Prefix></CommonPrefixes>`)
        .join("") +
      "</ListMultipartUploadsResult>",
  );
}

/** ListParts: the parts uploaded so far, by number. */
export async function listParts(
  env: Env,
  route: Route,
  _request: Request,
  verified: VerifiedKey,
): Promise<Response> {
  const uploadId = route.query.get("uploadId") ?? "";
  const maxParts = countOf(route.query.get("max-parts"), "max-parts");
  const markerText = route.query.get("part-number-marker") ?? "0";
  if (!/^\d{1,5}$/.test(markerText)) {
    throw new S3Error("InvalidArgument", "part-number-marker must be a whole number.");
  }
  const marker = Number(markerText);
  const entry = uploadId === "" ? null : await env.BUCKET.head(uploadEntry(route.bucket, uploadId));
  if (!entry || entry.customMetadata?.key !== route.key) {
    throw new S3Error("NoSuchUpload", "The specified multipart upload does not exist.");
  }
  const parts = (await listAll(env, `${uploadEntry(route.bucket, uploadId)}/`))
    .map((part) => ({
      number: Number(part.key.slice(-5)),
      etag: part.customMetadata?.etag ?? "",
      size: part.customMetadata?.size ?? "0",
      uploaded: part.customMetadata?.uploaded ?? part.uploaded.toISOString(),
    }))
    .filter((part) => part.number > marker)
    .sort((a, b) => a.number - b.number);
  const page = parts.slice(0, maxParts);
  const truncated = parts.length > page.length;
  const next = page.at(-1)?.number;
  return xml(
    `<ListPartsResult ${XMLNS}><Bucket>${route.bucket}</Bucket>` +
      `<Key>${escapeXml(route.key)}</Key><UploadId>${escapeXml(uploadId)}</UploadId>` +
      `${owner(verified, "Initiator")}${owner(verified, "Owner")}` +
      `<StorageClass>STANDARD</StorageClass><PartNumberMarker>${marker}</PartNumberMarker>` +
      (next === undefined ? "" : `<NextPartNumberMarker>${next}</NextPartNumberMarker>`) +
      `<MaxParts>${maxParts}</MaxParts><IsTruncated>${truncated}</IsTruncated>` +
      page
        .map(
          (part) =>
            `<Part><PartNumber>${part.number}</PartNumber><LastModified>${part.uploaded}</LastModified>` +
            `<ETag>&quot;${escapeXml(part.etag)}&quot;</ETag><Size>${part.size}</Size></Part>`,
        )
        .join("") +
      "</ListPartsResult>",
  );
}
