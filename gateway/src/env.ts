import type { KeyVerifier } from "./verify";

/** The gateway's bindings (wrangler.toml). */
export interface Env {
  /** Every repository's objects, under "<repoId>/". */
  BUCKET: R2Bucket;
  /** The API's KeyVerifier entrypoint: the only way this Worker learns who signed a request. */
  KEY_VERIFIER: KeyVerifier;
  /**
   * The region GetBucketLocation and HeadBucket answer; set it to the API's S3_REGION when that
   * pins signatures to one. Unset: us-east-1, S3's empty LocationConstraint.
   */
  S3_REGION?: string;
  /**
   * The gateway's domain for virtual-hosted–style requests (`<repo id>.<domain>/<key>`), as R2
   * and MinIO serve them; unset, path-style only. Path-style works on every host either way.
   */
  S3_VIRTUAL_HOST_SUFFIX?: string;
}
