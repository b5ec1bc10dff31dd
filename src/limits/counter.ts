import { DurableObject } from "cloudflare:workers";
import type { RateLimitState } from "./schemas";

/** How stale the stored count may be (see #persistSoon). */
export const PERSIST_AFTER_MS = 1_000;

/** One fixed window of one key: which one (by its start and length) and how much of it is used. */
interface Window {
  start: number;
  periodMs: number;
  count: number;
}

/** What the counter answers one verification: whether it may pass, and where the key stands. */
export interface Consumed extends RateLimitState {
  allowed: boolean;
}

/**
 * The counter of one limited key (`idFromName(keyId)`): one instance in the world, so every
 * isolate and location counts against the same number, exactly. Windows are fixed and aligned
 * to the epoch (start = floor(now / period) · period), so `reset` is the same for every caller;
 * docs/rate-limits.md states the tolerance (a burst across a boundary may pass 2 × limit within
 * one period's length). The window is kept in storage as well as in memory, so an evicted
 * instance resumes the count instead of forgetting it.
 */
export class KeyRateLimiter extends DurableObject {
  #window: Window | undefined;
  #loaded: Promise<void>;
  #persisting: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.#loaded = ctx.blockConcurrencyWhile(async () => {
      this.#window = await ctx.storage.get<Window>("window");
    });
  }

  /**
   * Counts one verification at `now` (epoch ms, the caller's clock) against `limit` per
   * `periodSeconds`. A refused one is not counted: a client that keeps retrying is refused until
   * the window ends, then served again.
   */
  async consume(limit: number, periodSeconds: number, now: number): Promise<Consumed> {
    await this.#loaded;
    const periodMs = periodSeconds * 1000;
    const start = Math.floor(now / periodMs) * periodMs;
    let window = this.#window;
    // A new window, or a changed period (its windows are other windows): counting starts over.
    if (!window || window.start !== start || window.periodMs !== periodMs) {
      window = { start, periodMs, count: 0 };
    }
    const reset = start + periodMs;
    if (window.count >= limit) {
      this.#window = window;
      return { allowed: false, limit, remaining: 0, reset };
    }
    window.count += 1;
    this.#window = window;
    this.#persistSoon();
    return { allowed: true, limit, remaining: limit - window.count, reset };
  }

  /**
   * Writes the window to storage at most once per PERSIST_AFTER_MS, unconfirmed: a write per
   * verification (each answer held for its commit) cost a limited key ~5× its verification time
   * in the bench. An object that restarts (eviction, deploy, crash) resumes from a count at most
   * that old: the limit errs towards serving, never towards refusing.
   */
  #persistSoon(): void {
    if (this.#persisting !== undefined) return;
    this.#persisting = setTimeout(() => {
      this.#persisting = undefined;
      void this.ctx.storage.put("window", this.#window, { allowUnconfirmed: true });
    }, PERSIST_AFTER_MS);
  }
}
