import type { AiProxy, KeyVerifier } from "./api";

/** The AI gateway's bindings (wrangler.toml). */
export interface Env {
  /** The API's KeyVerifier entrypoint: who holds a secret, cached per API isolate. */
  KEY_VERIFIER: KeyVerifier;
  /** The API's AiProxy entrypoint: makes the upstream call with the repository's provider key. */
  AI_PROXY: AiProxy;
}
