import { copySourceOf } from "./copy";
import { S3Error } from "./errors";
import type { OperationName, Route } from "./route";
import type { TemporaryScope, VerifiedKey } from "./verify";

/**
 * A temporary credential's scope, enforced: every object key an operation reads or writes, and
 * every prefix it lists, must lie within it. Keys are compared as this gateway stores them
 * (percent-decoded once, `.`/`..` segments already resolved by the URL parser, no Unicode
 * normalisation), character for character, so no spelling of a key reaches another object.
 */

/** Whether `scope` reaches the object `key`: under one of its prefixes, or one of its objects. */
export function reaches(scope: TemporaryScope | undefined, key: string): boolean {
  if (!scope || (scope.prefixes.length === 0 && scope.objects.length === 0)) return true;
  return scope.prefixes.some((prefix) => key.startsWith(prefix)) || scope.objects.includes(key);
}

/**
 * Whether `scope` may list under `prefix`: only within one of its prefixes (every key listed then
 * lies under it). A credential for named objects only may not list.
 */
export function listsWithin(scope: TemporaryScope | undefined, prefix: string): boolean {
  if (!scope || (scope.prefixes.length === 0 && scope.objects.length === 0)) return true;
  return scope.prefixes.some((allowed) => prefix.startsWith(allowed));
}

const LISTS = new Set<OperationName>(["ListObjects", "ListObjectsV2", "ListMultipartUploads"]);
/** Bucket-level questions that reveal no object (what tools ask before their real work). */
const ABOUT_THE_BUCKET = new Set<OperationName>([
  "ListBuckets",
  "CreateBucket",
  "HeadBucket",
  "GetBucketLocation",
  "GetBucketVersioning",
  "GetBucketAcl",
  "GetBucketPolicy",
  "GetBucketCors",
  "GetBucketLifecycleConfiguration",
  "GetBucketRequestPayment",
]);

const outOfScope = (what: string) =>
  new S3Error("AccessDenied", `The temporary credential's scope does not include ${what}.`);

/**
 * Refuses (AccessDenied) a request whose object key, copy source or list prefix lies outside the
 * credential's scope. DeleteObjects names its keys in its body: deleteObjects checks each with
 * `reaches`. Keys' own credentials have no scope and pass.
 */
export function requireInScope(route: Route, request: Request, verified: VerifiedKey): void {
  const scope = verified.scope;
  if (!scope || ABOUT_THE_BUCKET.has(route.operation) || route.operation === "DeleteObjects") {
    return;
  }
  if (LISTS.has(route.operation)) {
    const prefix = route.query.get("prefix") ?? "";
    if (!listsWithin(scope, prefix)) {
      throw outOfScope(prefix === "" ? "listing the whole bucket" : "listing this prefix");
    }
    return;
  }
  if (!reaches(scope, route.key)) throw outOfScope("this key");
  if (route.operation === "CopyObject" || route.operation === "UploadPartCopy") {
    const source = copySourceOf(request.headers.get("x-amz-copy-source") ?? "", route.bucket);
    if (!reaches(scope, source.key)) throw outOfScope("the copy source");
  }
}
