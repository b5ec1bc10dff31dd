import type { KeyVerifier } from "./api";

/** The AI gateway's bindings (wrangler.toml). */
export interface Env {
  /**
   * The API's KeyVerifier entrypoint: who holds a secret (cached per API isolate), and for a
   * valid one the stub through which the API calls the key's provider.
   */
  KEY_VERIFIER: KeyVerifier;
}
