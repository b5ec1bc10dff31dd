import type { Env } from "./env";
import { escapeXml, S3Error, XML_DECLARATION } from "./errors";
import { MAX_KEY_BYTES, type Route } from "./route";
import { reaches } from "./scope";
import { readSmallBody } from "./upload-body";
import type { SignedParts, VerifiedKey } from "./verify";
import { childrenOf, malformedXml, parseXmlDocument, textOf } from "./xml";

/** DeleteObjects: POST /{bucket}?delete, up to 1000 keys in one R2 call. */

const MAX_KEYS = 1000;
/** 1000 keys of up to 1024 bytes, each escaped (up to 6 bytes a character), and the markup. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

interface ObjectToDelete {
  key: string;
  versionId?: string;
}

export interface DeleteRequest {
  objects: ObjectToDelete[];
  quiet: boolean;
}

/** The Delete document: 1 to 1000 Objects with a Key each, and Quiet; MalformedXML otherwise. */
export function parseDeleteRequest(text: string): DeleteRequest {
  const document = parseXmlDocument(text, "Delete");
  const objects = childrenOf(document, "Object").map((object) => {
    const key = textOf(object, "Key");
    if (key === undefined || key === "") throw malformedXml();
    const versionId = textOf(object, "VersionId");
    return versionId === undefined ? { key } : { key, versionId };
  });
  if (objects.length === 0 || objects.length > MAX_KEYS) throw malformedXml();
  const quiet = textOf(document, "Quiet")?.trim().toLowerCase();
  if (quiet !== undefined && quiet !== "true" && quiet !== "false") throw malformedXml();
  return { objects, quiet: quiet === "true" };
}

/**
 * S3 requires DeleteObjects to carry an integrity check of its body: Content-MD5, or a flexible
 * checksum (a signed x-amz-checksum-* header or presigned parameter, or an aws-chunked trailer).
 * readSmallBody then holds the body to it.
 */
function requireChecksum(request: Request, signed: SignedParts) {
  const checksum = /^x-amz-checksum-(crc32|crc32c|sha1|sha256|crc64nvme)$/;
  const named = [
    ...Object.keys(signed.checksums),
    request.headers.get("x-amz-trailer")?.trim() ?? "",
  ].map((name) => name.toLowerCase());
  if (!request.headers.has("content-md5") && !named.some((name) => checksum.test(name))) {
    throw new S3Error(
      "InvalidRequest",
      "Missing required header for this request: Content-MD5 or x-amz-checksum-*",
    );
  }
}

export async function deleteObjects(
  env: Env,
  route: Route,
  request: Request,
  signed: SignedParts & Pick<VerifiedKey, "scope">,
): Promise<Response> {
  requireChecksum(request, signed);
  const { objects, quiet } = parseDeleteRequest(
    await readSmallBody(request, signed, MAX_BODY_BYTES),
  );
  const errors = new Map<ObjectToDelete, [string, string]>();
  for (const object of objects) {
    if (new TextEncoder().encode(object.key).length > MAX_KEY_BYTES) {
      errors.set(object, ["KeyTooLongError", `Your key is longer than ${MAX_KEY_BYTES} bytes.`]);
    } else if (!reaches(signed.scope, object.key)) {
      // A temporary credential deletes only within its scope; the other keys are kept.
      errors.set(object, [
        "AccessDenied",
        "The temporary credential's scope does not include this key.",
      ]);
    } else if (object.versionId !== undefined && object.versionId !== "null") {
      // Versioning is never enabled: the only version is "null".
      errors.set(object, ["NoSuchVersion", "The specified version does not exist."]);
    }
  }
  const deleting = objects.filter((object) => !errors.has(object));
  if (deleting.length > 0) {
    await env.BUCKET.delete([...new Set(deleting.map((o) => `${route.bucket}/${o.key}`))]);
  }
  const entries = objects.map((object) => {
    const key = `<Key>${escapeXml(object.key)}</Key>`;
    const version =
      object.versionId === undefined ? "" : `<VersionId>${escapeXml(object.versionId)}</VersionId>`;
    const error = errors.get(object);
    if (error) {
      return `<Error>${key}${version}<Code>${error[0]}</Code><Message>${escapeXml(error[1])}</Message></Error>`;
    }
    return quiet ? "" : `<Deleted>${key}${version}</Deleted>`;
  });
  return new Response(
    `${XML_DECLARATION}<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `${entries.join("")}</DeleteResult>`,
    { headers: { "Content-Type": "application/xml" } },
  );
}
