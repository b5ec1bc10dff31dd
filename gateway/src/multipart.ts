import type { Env } from "./env";
import { escapeXml, fromR2Error, S3Error, type S3ErrorCode, XML_DECLARATION } from "./errors";
import { metadataOf } from "./metadata";
import { storageKey } from "./objects";
import type { Route } from "./route";
import { bodyPlanOf, readSmallBody, storeVerified } from "./upload-body";
import { forgetUpload, recordPart, recordUpload } from "./uploads";
import type { SignedParts } from "./verify";
import { childrenOf, malformedXml, parseXmlDocument, textOf } from "./xml";

/** Multipart uploads, mapped one to one onto R2's multipart API. */

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const xml = (body: string, headers: Record<string, string> = {}) =>
  new Response(`${XML_DECLARATION}${body}`, {
    headers: { "Content-Type": "application/xml", ...headers },
  });

/** 10,000 parts of ~100 bytes of XML each. */
const MAX_COMPLETE_BYTES = 1024 * 1024;

const NO_SUCH_UPLOAD: [S3ErrorCode, string] = [
  "NoSuchUpload",
  "The specified multipart upload does not exist.",
];

/**
 * R2 answers an abort or complete of an upload it does not know under this key (an unknown id,
 * or another repository's: the key names the repository) with 10001, its internal error.
 */
const UNKNOWN_UPLOAD = { "10001": NO_SUCH_UPLOAD };

function uploadOf(env: Env, route: Route): R2MultipartUpload {
  const uploadId = route.query.get("uploadId") ?? "";
  if (uploadId === "") throw new S3Error(...NO_SUCH_UPLOAD);
  return env.BUCKET.resumeMultipartUpload(storageKey(route), uploadId);
}

export async function createMultipartUpload(
  env: Env,
  route: Route,
  request: Request,
  signed: SignedParts,
) {
  const upload = await env.BUCKET.createMultipartUpload(
    storageKey(route),
    metadataOf(request, signed),
  ).catch((error) => Promise.reject(fromR2Error(error)));
  await recordUpload(env, route.bucket, route.key, upload.uploadId);
  // The client's checksum algorithm is echoed, as S3 does; each part's checksum is verified.
  const algorithm = request.headers.get("x-amz-checksum-algorithm");
  return xml(
    `<InitiateMultipartUploadResult ${XMLNS}><Bucket>${route.bucket}</Bucket>` +
      `<Key>${escapeXml(route.key)}</Key><UploadId>${escapeXml(upload.uploadId)}</UploadId>` +
      "</InitiateMultipartUploadResult>",
    algorithm ? { "x-amz-checksum-algorithm": algorithm } : {},
  );
}

export async function uploadPart(env: Env, route: Route, request: Request, signed: SignedParts) {
  const partNumber = Number(route.query.get("partNumber"));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
    throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000.");
  }
  const plan = bodyPlanOf(request, signed);
  const upload = uploadOf(env, route);
  let part: R2UploadedPart;
  try {
    part = await storeVerified(request, plan, (value) => upload.uploadPart(partNumber, value));
  } catch (error) {
    throw fromR2Error(error);
  }
  await recordPart(env, route.bucket, upload.uploadId, {
    partNumber,
    etag: part.etag,
    size: plan.length,
  });
  return new Response(null, { headers: { ETag: `"${part.etag}"` } });
}

/** The parts a CompleteMultipartUpload document lists, in order; MalformedXML otherwise. */
export function parseCompleteMultipartUpload(text: string): R2UploadedPart[] {
  const document = parseXmlDocument(text, "CompleteMultipartUpload");
  const parts = childrenOf(document, "Part").map((part) => {
    const number = textOf(part, "PartNumber")?.trim();
    const etag = textOf(part, "ETag")?.trim();
    if (number === undefined || !/^\d{1,5}$/.test(number) || etag === undefined) {
      throw malformedXml();
    }
    return { partNumber: Number(number), etag: etag.replace(/^"(.*)"$/, "$1") };
  });
  if (parts.length === 0) throw malformedXml();
  for (let i = 1; i < parts.length; i++) {
    if ((parts[i] as R2UploadedPart).partNumber <= (parts[i - 1] as R2UploadedPart).partNumber) {
      throw new S3Error("InvalidPartOrder", "The list of parts was not in ascending order.");
    }
  }
  return parts;
}

/**
 * The object's URL, as S3's Location: addressed as the request was, virtual-hosted
 * (`https://<bucket>.<domain>/<key>`) or path-style (`https://<host>/<bucket>/<key>`), the key
 * URL-encoded.
 */
function objectUrl(request: Request, route: Route): string {
  const key = route.key.split("/").map(encodeURIComponent).join("/");
  const origin = new URL(request.url).origin;
  return route.virtualHosted ? `${origin}/${key}` : `${origin}/${route.bucket}/${key}`;
}

export async function completeMultipartUpload(
  env: Env,
  route: Route,
  request: Request,
  signed: SignedParts,
) {
  const parts = parseCompleteMultipartUpload(
    await readSmallBody(request, signed, MAX_COMPLETE_BYTES),
  );
  let object: R2Object;
  try {
    object = await uploadOf(env, route).complete(parts);
  } catch (error) {
    throw fromR2Error(error, UNKNOWN_UPLOAD);
  }
  await forgetUpload(env, route.bucket, route.query.get("uploadId") ?? "");
  const location = objectUrl(request, route);
  return xml(
    `<CompleteMultipartUploadResult ${XMLNS}><Location>${escapeXml(location)}</Location>` +
      `<Bucket>${route.bucket}</Bucket><Key>${escapeXml(route.key)}</Key>` +
      `<ETag>${escapeXml(object.httpEtag)}</ETag></CompleteMultipartUploadResult>`,
  );
}

export async function abortMultipartUpload(env: Env, route: Route) {
  try {
    await uploadOf(env, route).abort();
  } catch (error) {
    throw fromR2Error(error, UNKNOWN_UPLOAD);
  }
  await forgetUpload(env, route.bucket, route.query.get("uploadId") ?? "");
  return new Response(null, { status: 204 });
}
