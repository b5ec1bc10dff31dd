import type { KeyVerifier } from "./verify";

/** The gateway's bindings (wrangler.toml). */
export interface Env {
  /** Every repository's objects, under "<repoId>/". */
  BUCKET: R2Bucket;
  /** The API's KeyVerifier entrypoint: the only way this Worker learns who signed a request. */
  KEY_VERIFIER: KeyVerifier;
}
