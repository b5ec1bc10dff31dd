import type { Bindings } from "../env";
import { log } from "../http/log";

/** A key's lastUsedAt is written at most this often. */
export const USE_RECORDED_EVERY_MS = 60_000;
/** Uses are gathered this long before one batched write. */
const FLUSH_AFTER_MS = 1_000;
const MAX_TRACKED = 10_000;

type KeyTableName = "storage_keys" | "ai_keys";

const lastRecorded = new Map<string, number>();
let pending: { table: KeyTableName; keyId: string; at: string }[] = [];
let flushing: Promise<void> | undefined;

async function flush(env: Bindings): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS));
  const uses = pending;
  pending = [];
  flushing = undefined;
  if (uses.length === 0) return;
  try {
    await env.DB.batch(
      uses.map(({ table, keyId, at }) =>
        // Never moves lastUsedAt backwards (another isolate may have written a later use).
        env.DB.prepare(
          `UPDATE ${table} SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)`,
        ).bind(at, keyId),
      ),
    );
  } catch (error) {
    // A lost lastUsedAt is not worth failing anything for; the next minute writes it again.
    for (const { table, keyId } of uses) lastRecorded.delete(`${table}:${keyId}`);
    log.error("recording key use failed", { keys: uses.length, reason: error });
  }
}

/**
 * Records that a gateway verified `keyId` now: at most once a minute per key and isolate, off
 * the request path (waitUntil), gathered for a second into one D1 batch.
 */
export function recordUse(
  env: Bindings,
  waitUntil: (promise: Promise<unknown>) => void,
  table: KeyTableName,
  keyId: string,
  now: number,
): void {
  const id = `${table}:${keyId}`;
  const last = lastRecorded.get(id);
  if (last !== undefined && now - last < USE_RECORDED_EVERY_MS) return;
  lastRecorded.delete(id);
  if (lastRecorded.size >= MAX_TRACKED) {
    const oldest = lastRecorded.keys().next().value;
    if (oldest !== undefined) lastRecorded.delete(oldest);
  }
  lastRecorded.set(id, now);
  pending.push({ table, keyId, at: new Date(now).toISOString() });
  if (!flushing) {
    flushing = flush(env);
    waitUntil(flushing);
  }
}
