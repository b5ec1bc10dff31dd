import { keyMemory } from "../db/key-memory";
import type { Bindings } from "../env";
import { type ProviderCredential, providerFor, providerMemoryId } from "../providers/store";
import { cacheTtlMs } from "../verify/settings";

type Remembered = ProviderCredential & { id: string };

// The opened provider keys this isolate used lately: a gateway's calls for one repo then need no
// D1 read and no AES-GCM open each (~5 ms locally). Only in this Worker's memory, where the
// key is opened anyway; held for VERIFY_CACHE_TTL_SECONDS, the bound a revoked AI key already
// has, so a replaced or removed provider key is used at most that long after the change in other
// isolates; the isolate that made the change forgets it at once (providerMemoryId, forgetKey).
const remembered = keyMemory<Remembered>(1_000);

/** The repo's provider credential for `aiType` (providerFor), remembered briefly when found. */
export async function rememberedProvider(
  env: Bindings,
  repoId: string,
  aiType: ProviderCredential["aiType"],
  now = Date.now(),
): Promise<ProviderCredential | null> {
  const lookup = providerMemoryId(repoId, aiType);
  const known = remembered.recall(lookup, now);
  if (known) return known;
  const credential = await providerFor(env, repoId, aiType);
  const ttl = cacheTtlMs(env).found;
  if (credential && ttl > 0) remembered.remember(lookup, { ...credential, id: lookup }, now + ttl);
  return credential;
}
