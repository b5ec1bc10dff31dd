import type { Bindings } from "../env";
import { ApiError } from "../http/error";
import { FailureLimit } from "../http/failure-limit";

/** Failed authentications per client address (the AUTH_FAILURES binding). */
const failures = new FailureLimit("authentication");

/** Seconds `address` must still wait, or 0 when it is not refused. */
export function waitFor(address: string, now: number): number {
  return failures.waitFor(`ip:${address}`, now);
}

/**
 * Counts a failed authentication against the client's address. Resolves to the seconds the
 * address must now wait, or 0 while it is under the limit.
 */
export async function countAuthFailure(
  env: Bindings,
  address: string,
  now: number,
): Promise<number> {
  const limited = await failures.count(env.AUTH_FAILURES, [`ip:${address}`], now);
  return limited ? failures.periodMs / 1000 : 0;
}

/** The 429 a refused address gets: the JSON envelope and when to try again. */
export function tooManyFailures(seconds: number): ApiError {
  return new ApiError(
    "RATE_LIMITED",
    `Too many failed authentications from this address; try again in ${seconds} seconds`,
    undefined,
    { "Retry-After": String(seconds) },
  );
}
