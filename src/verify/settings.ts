import type { Bindings } from "../env";

/** Default seconds a looked-up key is remembered per isolate: the bound on revocation elsewhere. */
export const DEFAULT_CACHE_TTL_SECONDS = 10;
/** Unknown keys are remembered for at most this long. */
const NEGATIVE_TTL_SECONDS = 5;

/** VERIFY_CACHE_TTL_SECONDS: 0 (no memory) to 300; anything else falls back to the default. */
export function cacheTtlMs(env: Bindings): { found: number; unknown: number } {
  const value = Number(env.VERIFY_CACHE_TTL_SECONDS);
  const seconds =
    env.VERIFY_CACHE_TTL_SECONDS !== undefined &&
    env.VERIFY_CACHE_TTL_SECONDS.trim() !== "" &&
    Number.isInteger(value) &&
    value >= 0 &&
    value <= 300
      ? value
      : DEFAULT_CACHE_TTL_SECONDS;
  return { found: seconds * 1000, unknown: Math.min(seconds, NEGATIVE_TTL_SECONDS) * 1000 };
}
