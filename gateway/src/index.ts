import {
  createBucket,
  getAcl,
  getBucketLocation,
  getBucketRequestPayment,
  getBucketVersioning,
  getObjectTagging,
  headBucket,
  listBuckets,
  noBucketCors,
  noBucketLifecycle,
  noBucketPolicy,
} from "./buckets";
import { copyObject, uploadPartCopy } from "./copy";
import { deleteObjects } from "./delete-objects";
import type { Env } from "./env";
import { errorResponse, S3Error } from "./errors";
import { listObjects, listObjectsV2 } from "./list";
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  uploadPart,
} from "./multipart";
import { deleteObject, getObject, putObject } from "./objects";
import { type OperationName, type Route, routeOf } from "./route";
import { requireInScope } from "./scope";
import { listMultipartUploads, listParts } from "./uploads";
import { authorize, type VerifiedKey } from "./verify";

/**
 * The S3 gateway: path-style S3 over R2, one bucket per repository. Every request is routed,
 * then verified through the API's KeyVerifier, then served; errors are S3's XML.
 */

/** `verified` is the verifier's answer: whose key, and what the request's signature covered. */
type Handler = (
  env: Env,
  route: Route,
  request: Request,
  verified: VerifiedKey,
) => Promise<Response>;

const HANDLERS: Record<OperationName, Handler> = {
  ListObjectsV2: listObjectsV2,
  ListObjects: listObjects,
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  HeadBucket: headBucket,
  GetBucketLocation: getBucketLocation,
  GetBucketVersioning: getBucketVersioning,
  GetBucketAcl: getAcl,
  GetBucketPolicy: noBucketPolicy,
  GetBucketCors: noBucketCors,
  GetBucketLifecycleConfiguration: noBucketLifecycle,
  GetBucketRequestPayment: getBucketRequestPayment,
  GetObjectTagging: getObjectTagging,
  GetObjectAcl: getAcl,
  DeleteObjects: deleteObjects,
  ListMultipartUploads: listMultipartUploads,
  ListParts: listParts,
  GetObject: getObject,
  HeadObject: getObject,
  PutObject: putObject,
  DeleteObject: deleteObject,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  CopyObject: copyObject,
  UploadPartCopy: uploadPartCopy,
};

/** S3's request ids are 16 upper-case hex digits. */
const newRequestId = () =>
  [...crypto.getRandomValues(new Uint8Array(8))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();

async function serve(request: Request, env: Env): Promise<Response> {
  const url = new URL(request.url);
  const route = routeOf(request.method, url, request.headers, env.S3_VIRTUAL_HOST_SUFFIX);
  const verified = await authorize(env, request, route);
  requireInScope(route, request, verified);
  return HANDLERS[route.operation](env, route, request, verified);
}

export default {
  async fetch(request, env): Promise<Response> {
    const requestId = newRequestId();
    let response: Response;
    try {
      response = await serve(request, env);
    } catch (error) {
      if (!(error instanceof S3Error)) {
        console.error(
          JSON.stringify({
            level: "error",
            message: "unhandled error",
            requestId,
            method: request.method,
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          }),
        );
      }
      const s3Error =
        error instanceof S3Error
          ? error
          : new S3Error("InternalError", "We encountered an internal error. Please try again.");
      response = errorResponse(s3Error, request.method, requestId);
    }
    response.headers.set("x-amz-request-id", requestId);
    // A stored object is served as the type it was stored with, never as a browser's guess.
    response.headers.set("X-Content-Type-Options", "nosniff");
    return response;
  },
} satisfies ExportedHandler<Env>;
