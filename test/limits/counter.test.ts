import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import { type KeyRateLimiter, PERSIST_AFTER_MS } from "../../src/limits/counter";

const namespace = (env as Bindings).KEY_RATE_LIMITER as DurableObjectNamespace<KeyRateLimiter>;
/** A counter of its own: one per key id, and no key here is real. */
const counterFor = () => namespace.get(namespace.idFromName(`test-${crypto.randomUUID()}`));

const WINDOW = 1_800_000_000_000; // a multiple of 60 s and of 3600 s

describe("a key's counter (KeyRateLimiter)", () => {
  it("keeps its window in storage (at most PERSIST_AFTER_MS behind), so a restarted instance resumes the count", async () => {
    const counter = counterFor();
    await counter.consume(3, 60, WINDOW + 5);
    await counter.consume(3, 60, WINDOW + 6);
    const stored = () => runInDurableObject(counter, (_, state) => state.storage.get("window"));
    // Written a moment later, once for both counts: polled, not timed.
    await expect
      .poll(stored, { timeout: PERSIST_AFTER_MS + 10_000, interval: 100 })
      .toEqual({ start: WINDOW, periodMs: 60_000, count: 2 });
  });

  it("does not count refusals, and a new period's windows start a new count", async () => {
    const counter = counterFor();
    for (let i = 0; i < 2; i++) await counter.consume(2, 60, WINDOW);
    for (let i = 0; i < 5; i++) {
      expect(await counter.consume(2, 60, WINDOW + 59_999)).toEqual({
        allowed: false,
        limit: 2,
        remaining: 0,
        reset: WINDOW + 60_000,
      });
    }
    // The owner changed the period to an hour: other windows, counted from zero.
    expect(await counter.consume(2, 3600, WINDOW + 59_999)).toEqual({
      allowed: true,
      limit: 2,
      remaining: 1,
      reset: WINDOW + 3_600_000,
    });
  });

  it("answers the same reset to every caller: windows are aligned to the epoch", async () => {
    const counter = counterFor();
    const first = await counter.consume(10, 60, WINDOW + 1_234);
    const second = await counter.consume(10, 60, WINDOW + 45_678);
    expect([first.reset, second.reset]).toEqual([WINDOW + 60_000, WINDOW + 60_000]);
    expect([first.remaining, second.remaining]).toEqual([9, 8]);
  });
});
