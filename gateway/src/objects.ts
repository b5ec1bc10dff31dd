import { CONDITIONAL_HEADERS, precondition } from "./conditions";
import type { Env } from "./env";
import { fromR2Error, S3Error } from "./errors";
import { metadataOf, objectHeaders } from "./metadata";
import { contentRange, parseRange, resolveRange } from "./range";
import type { Route } from "./route";
import { bodyPlanOf, storeVerified } from "./upload-body";
import type { SignedParts } from "./verify";

/** Where a route's object lives in the one R2 bucket. */
export const storageKey = (route: Route) => `${route.bucket}/${route.key}`;

const noSuchKey = () => new S3Error("NoSuchKey", "The specified key does not exist.");

/**
 * GetObject and HeadObject. With a satisfiable Range, 206 and Content-Range; a range that
 * selects nothing is 416. Conditional headers answer 304 or 412. A plain GET is one R2 read;
 * with a range or a condition, the object's head decides first, and its body is read only if
 * it is still that version (else the whole decision is made again).
 */
export async function getObject(env: Env, route: Route, request: Request): Promise<Response> {
  const key = storageKey(route);
  const range = parseRange(request.headers.get("Range"));
  const conditional = CONDITIONAL_HEADERS.some((name) => request.headers.has(name));
  const withBody = route.operation === "GetObject";
  if (!range && !conditional) {
    const object = withBody ? await env.BUCKET.get(key) : await env.BUCKET.head(key);
    if (!object) throw noSuchKey();
    const headers = objectHeaders(object, route.query);
    headers.set("Content-Length", String(object.size));
    const body = "body" in object ? (object as R2ObjectBody).body : null;
    // The bytes are sent as stored (a gzip object stays gzip): no re-encoding.
    return new Response(body, { headers, encodeBody: "manual" });
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const head = await env.BUCKET.head(key);
    if (!head) throw noSuchKey();
    const headers = objectHeaders(head, route.query);
    const decision = precondition(request.headers, head.etag, head.uploaded);
    if (decision === "failed") {
      throw new S3Error(
        "PreconditionFailed",
        "At least one of the preconditions you specified did not hold.",
      );
    }
    if (decision === "not-modified") {
      return new Response(null, { status: 304, headers: notModifiedHeaders(headers) });
    }
    const slice = range ? resolveRange(range, head.size) : { offset: 0, length: head.size };
    if (!slice) {
      throw new S3Error("InvalidRange", "The requested range is not satisfiable", {
        "Content-Range": `bytes */${head.size}`,
      });
    }
    const status = range ? 206 : 200;
    headers.set("Content-Length", String(slice.length));
    if (range) headers.set("Content-Range", contentRange(slice, head.size));
    if (!withBody) return new Response(null, { status, headers });
    const object = await env.BUCKET.get(key, {
      ...(range ? { range: slice } : {}),
      onlyIf: { etagMatches: head.etag },
    });
    if (!object) throw noSuchKey();
    if ("body" in object) {
      const body = (object as R2ObjectBody).body;
      return new Response(body, { status, headers, encodeBody: "manual" });
    }
    // Replaced between the head and the read: decide again.
  }
  throw new S3Error("InternalError", "The object kept changing; try again.");
}

/** A 304 carries the validators and caching headers only. */
function notModifiedHeaders(headers: Headers): Headers {
  const kept = new Headers();
  for (const name of ["ETag", "Last-Modified", "Cache-Control", "Expires"]) {
    const value = headers.get(name);
    if (value !== null) kept.set(name, value);
  }
  return kept;
}

/** PutObject: the body streamed into R2, verified against its hashes before it is committed. */
export async function putObject(
  env: Env,
  route: Route,
  request: Request,
  signed: SignedParts,
): Promise<Response> {
  const plan = bodyPlanOf(request, signed);
  const metadata = metadataOf(request, signed);
  let object: R2Object | null;
  try {
    object = await storeVerified(request, plan, (value) =>
      env.BUCKET.put(storageKey(route), value, metadata),
    );
  } catch (error) {
    throw fromR2Error(error);
  }
  if (!object) throw new S3Error("InternalError", "The object was not stored; try again.");
  return new Response(null, { headers: { ETag: object.httpEtag } });
}

/** DeleteObject: 204 whether or not the object existed, as S3. */
export async function deleteObject(env: Env, route: Route): Promise<Response> {
  await env.BUCKET.delete(storageKey(route));
  return new Response(null, { status: 204 });
}
