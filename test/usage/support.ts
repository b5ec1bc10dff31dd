import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Bindings } from "../../src/env";
import { flushUsage, usageMemory } from "../../src/usage/recorder";
import { call } from "../support/api";

/** Writes whatever another test scheduled, so a test starts with nothing held (a beforeEach). */
export async function settleUsage(): Promise<void> {
  await usageMemory.settled();
  await flushUsage(env as Bindings);
}

/**
 * A usage endpoint's answer over the last hour, minute by minute (`path` without a query), once
 * what this isolate holds is written.
 */
export async function lastHourOf(path: string, as: string) {
  await flushUsage(env as Bindings);
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const response = await call("GET", `${path}?from=${from}&granularity=minute`, { as });
  expect(response.status, response.text).toBe(200);
  return response.body;
}
