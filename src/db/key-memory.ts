/**
 * Per-isolate memory of key rows the verification plane looked up, so a gateway's repeated
 * verifications of the same key need no D1 read. Entries live for a TTL (VERIFY_CACHE_TTL_SECONDS);
 * a lookup that found nothing is remembered too (briefly), so a flood of unknown keys does not
 * reach D1. A write to a key (delete, access change) forgets it here at once: the isolate that
 * made the change never answers from the old row, and every other isolate within the TTL.
 */
export class KeyMemory<Row extends { id: string }> {
  readonly #entries = new Map<string, { row: Row | null; until: number }>();

  constructor(private readonly maxEntries = 10_000) {}

  /** The remembered row (null: known not to exist), or undefined when it must be read. */
  recall(lookup: string, now: number): Row | null | undefined {
    const entry = this.#entries.get(lookup);
    if (!entry) return undefined;
    if (now >= entry.until) {
      this.#entries.delete(lookup);
      return undefined;
    }
    return entry.row;
  }

  remember(lookup: string, row: Row | null, until: number): void {
    if (this.#entries.size >= this.maxEntries && !this.#entries.has(lookup)) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(lookup, { row, until });
  }

  /** Drops every entry for the key `keyId` (a key may be remembered under several lookups). */
  forget(keyId: string): void {
    for (const [lookup, entry] of this.#entries) {
      if (entry.row?.id === keyId) this.#entries.delete(lookup);
    }
  }

  clear(): void {
    this.#entries.clear();
  }
}

const memories = new Set<KeyMemory<{ id: string }>>();

/** A memory that `forgetKey` reaches; one per kind of key. */
export function keyMemory<Row extends { id: string }>(maxEntries?: number): KeyMemory<Row> {
  const memory = new KeyMemory<Row>(maxEntries);
  memories.add(memory as unknown as KeyMemory<{ id: string }>);
  return memory;
}

/**
 * Called by every write that changes what verifying `keyId` answers (src/keys, src/ai-keys), and
 * by a provider key's change (src/providers: its id is `<repoId>:<aiType>`).
 */
export function forgetKey(keyId: string): void {
  for (const memory of memories) memory.forget(keyId);
}
