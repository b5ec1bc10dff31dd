import type { Bindings } from "../env";
import { ApiError } from "../http/error";
import { log } from "../http/log";

/** How long an address stays refused once its failures hit the limit (the binding's period). */
const BLOCK_MS = 60_000;
const MAX_BLOCKED = 10_000;

/** Client addresses this isolate saw exceed the failure limit, until when (ms). */
const blocked = new Map<string, number>();

/** Seconds `address` must still wait, or 0 when it is not refused. */
export function waitFor(address: string, now: number): number {
  const until = blocked.get(address);
  if (until === undefined) return 0;
  if (now < until) return Math.ceil((until - now) / 1000);
  blocked.delete(address);
  return 0;
}

/**
 * Counts a failed authentication against the client's address with the Workers Rate Limiting
 * binding (AUTH_FAILURES, shared by the isolates of a location). Resolves to the seconds the
 * address must now wait, or 0 while it is under the limit. Successes are never counted.
 */
export async function countAuthFailure(
  env: Bindings,
  address: string,
  now: number,
): Promise<number> {
  const limiter = env.AUTH_FAILURES;
  if (!limiter) return 0;
  const { success } = await limiter.limit({ key: address });
  if (success) return 0;
  if (!blocked.has(address)) {
    if (blocked.size >= MAX_BLOCKED) {
      const oldest = blocked.keys().next().value;
      if (oldest !== undefined) blocked.delete(oldest);
    }
    log.warn("repeated authentication failures: address refused for a minute", {
      subject: `ip:${address}`,
    });
  }
  blocked.set(address, now + BLOCK_MS);
  return BLOCK_MS / 1000;
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

/** For tests: forget every block. */
export function clearAuthBlocks(): void {
  blocked.clear();
}
