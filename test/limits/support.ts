import { expect } from "vitest";
import { call } from "../support/api";

export const DAY = 86_400;

/** Sets (or with null removes) a key's rate limit through PUT, asserting the 200. */
export async function setRateLimit(
  as: string,
  path: string,
  ratelimit: { limit: number; periodSeconds: number } | null,
): Promise<void> {
  const response = await call("PUT", path, { as, body: { ratelimit } });
  expect(response.status, response.text).toBe(200);
}

/** The start of the fixed window of `periodSeconds` that holds `at` (epoch ms). */
export const windowStart = (at: number, periodSeconds: number) =>
  Math.floor(at / (periodSeconds * 1000)) * periodSeconds * 1000;
