import type { Env } from "./env";
import { escapeXml, S3Error, XML_DECLARATION } from "./errors";
import { storageKey } from "./objects";
import type { Route } from "./route";
import type { VerifiedKey } from "./verify";

/**
 * The bucket questions tools ask before their real work. A bucket is a repository: it exists
 * for as long as the key that asks is valid (the verifier said so), is made and removed through
 * the API, and has no versioning, tags, policy, CORS or lifecycle rules of its own.
 */

const XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const xml = (body: string, status = 200) =>
  new Response(`${XML_DECLARATION}${body}`, {
    status,
    headers: { "Content-Type": "application/xml" },
  });

/**
 * When the verifier does not say when the repository was made, ListBuckets answers the Unix
 * epoch: a fixed date, plainly not a real one, rather than a different "now" on every call.
 */
const UNKNOWN_CREATION_DATE = new Date(0).toISOString();

/** The region clients should sign with: S3_REGION, else us-east-1 (S3's "no constraint"). */
const regionOf = (env: Env) => env.S3_REGION || "us-east-1";

const owner = (verified: VerifiedKey) =>
  `<Owner><ID>${escapeXml(verified.workspaceId)}</ID>` +
  `<DisplayName>${escapeXml(verified.workspaceId)}</DisplayName></Owner>`;

/** ListBuckets: the one bucket the key may see, its repository; Owner is the workspace. */
export async function listBuckets(
  _env: Env,
  route: Route,
  _request: Request,
  verified: VerifiedKey,
): Promise<Response> {
  const prefix = route.query.get("prefix") ?? "";
  const created = verified.repoCreatedAt ?? UNKNOWN_CREATION_DATE;
  const bucket = verified.repoId.startsWith(prefix)
    ? `<Bucket><Name>${verified.repoId}</Name>` +
      `<CreationDate>${escapeXml(created)}</CreationDate></Bucket>`
    : "";
  return xml(
    `<ListAllMyBucketsResult ${XMLNS}>${owner(verified)}<Buckets>${bucket}</Buckets>` +
      `${prefix === "" ? "" : `<Prefix>${escapeXml(prefix)}</Prefix>`}</ListAllMyBucketsResult>`,
  );
}

/**
 * CreateBucket of the key's own bucket (verified before this runs): it exists, so 200 with its
 * Location, as S3 answers in us-east-1. Buckets are made through the API; any other name was
 * refused as AccessDenied already.
 */
export async function createBucket(_env: Env, route: Route): Promise<Response> {
  return new Response(null, { headers: { Location: `/${route.bucket}` } });
}

/** HeadBucket: the key was verified for this bucket, which is all it asks; and the region. */
export async function headBucket(env: Env): Promise<Response> {
  return new Response(null, { headers: { "x-amz-bucket-region": regionOf(env) } });
}

/** GetBucketLocation: empty for us-east-1, as S3 writes it, else the configured region. */
export async function getBucketLocation(env: Env): Promise<Response> {
  const region = regionOf(env);
  const constraint = region === "us-east-1" ? "" : escapeXml(region);
  return xml(`<LocationConstraint ${XMLNS}>${constraint}</LocationConstraint>`);
}

/** GetBucketVersioning: never enabled, which S3 writes as a configuration without a Status. */
export async function getBucketVersioning(): Promise<Response> {
  return xml(`<VersioningConfiguration ${XMLNS}/>`);
}

/** GetObjectTagging: objects carry no tags here; an object that does not exist is NoSuchKey. */
export async function getObjectTagging(env: Env, route: Route): Promise<Response> {
  if (!(await env.BUCKET.head(storageKey(route)))) {
    throw new S3Error("NoSuchKey", "The specified key does not exist.");
  }
  return xml(`<Tagging ${XMLNS}><TagSet></TagSet></Tagging>`);
}

/** GetBucketAcl and GetObjectAcl: the workspace owns everything, with FULL_CONTROL. */
export async function getAcl(
  env: Env,
  route: Route,
  _request: Request,
  verified: VerifiedKey,
): Promise<Response> {
  if (route.key !== "" && !(await env.BUCKET.head(storageKey(route)))) {
    throw new S3Error("NoSuchKey", "The specified key does not exist.");
  }
  const grantee =
    `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">` +
    `<ID>${escapeXml(verified.workspaceId)}</ID>` +
    `<DisplayName>${escapeXml(verified.workspaceId)}</DisplayName></Grantee>`;
  return xml(
    `<AccessControlPolicy ${XMLNS}>${owner(verified)}<AccessControlList>` +
      `<Grant>${grantee}<Permission>FULL_CONTROL</Permission></Grant>` +
      "</AccessControlList></AccessControlPolicy>",
  );
}

/** GetBucketRequestPayment: the owner pays. */
export async function getBucketRequestPayment(): Promise<Response> {
  return xml(
    `<RequestPaymentConfiguration ${XMLNS}><Payer>BucketOwner</Payer></RequestPaymentConfiguration>`,
  );
}

/** Bucket settings a repository never has: S3's 404 for each. */
export const noBucketPolicy = async () => {
  throw new S3Error("NoSuchBucketPolicy", "The bucket policy does not exist");
};
export const noBucketCors = async () => {
  throw new S3Error("NoSuchCORSConfiguration", "The CORS configuration does not exist");
};
export const noBucketLifecycle = async () => {
  throw new S3Error("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist");
};
