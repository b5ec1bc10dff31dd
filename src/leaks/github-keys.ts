import * as z from "zod";
import { base64ToBytes } from "../crypto/base64";
import { ApiError } from "../http/error";
import { log } from "../http/log";

/** How long a fetched key set is used before it is fetched again. */
export const KEYS_FRESH_MS = 3_600_000;
/** At most one refresh per this long for an identifier the set does not have. */
export const UNKNOWN_KEY_REFRESH_MS = 60_000;

// GitHub's https://api.github.com/meta/public_keys/secret_scanning; other fields are ignored.
const PublicKeysSchema = z.object({
  public_keys: z.array(
    z.object({
      key_identifier: z.string().min(1),
      key: z.string().min(1),
      is_current: z.boolean(),
    }),
  ),
});

interface KeySet {
  keys: Map<string, CryptoKey>;
  fetchedAt: number;
}

/** Per isolate and per URL: the last good set, and when a fetch was last tried. */
const state = new Map<string, { good?: KeySet; triedAt: number }>();

/** Forgets every fetched key set (tests). */
export function forgetGithubKeys(): void {
  state.clear();
}

async function importPem(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  return crypto.subtle.importKey(
    "spki",
    base64ToBytes(body),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
}

/** Fetches and imports the key set; undefined (logged) when the endpoint or its answer fails. */
async function fetchKeySet(url: string, now: number): Promise<KeySet | undefined> {
  try {
    const response = await fetch(url, {
      headers: { Accept: "application/json", "User-Agent": "flashgate-secret-scanning" },
    });
    if (!response.ok) throw new Error(`key set answered ${response.status}`);
    const { public_keys } = PublicKeysSchema.parse(await response.json());
    const keys = new Map<string, CryptoKey>();
    for (const entry of public_keys) {
      try {
        keys.set(entry.key_identifier, await importPem(entry.key));
      } catch {
        // One key GitHub publishes in a form we cannot read does not cost us the others.
      }
    }
    if (keys.size === 0) throw new Error("key set has no usable P-256 key");
    return { keys, fetchedAt: now };
  } catch (error) {
    log.warn("secret scanning key set could not be fetched; the last good set is kept", {
      reason: error instanceof Error ? error.message : "unknown",
    });
    return undefined;
  }
}

async function refresh(url: string, now: number): Promise<KeySet | undefined> {
  const entry = state.get(url) ?? { triedAt: 0 };
  entry.triedAt = now;
  state.set(url, entry);
  const fetched = await fetchKeySet(url, now);
  if (fetched) entry.good = fetched;
  return entry.good;
}

/**
 * The public key GitHub signs with under `identifier`: from the set fetched within the hour,
 * else fetched again (the last good set kept if that fails); an identifier the set lacks makes
 * one refresh, at most once a minute, so a stranger's identifiers cannot flood the endpoint.
 */
async function keyFor(
  url: string,
  identifier: string,
  now: number,
): Promise<CryptoKey | undefined> {
  const entry = state.get(url);
  let good = entry?.good;
  const mayFetch = !entry || now - entry.triedAt >= UNKNOWN_KEY_REFRESH_MS;
  const stale = !good || now - good.fetchedAt >= KEYS_FRESH_MS;
  if (mayFetch && (stale || !good?.keys.has(identifier))) good = await refresh(url, now);
  if (!good) throw keysUnavailable();
  return good.keys.get(identifier);
}

const keysUnavailable = () =>
  new ApiError(
    "SERVICE_UNAVAILABLE",
    "GitHub's secret scanning public keys could not be fetched; nothing was changed. Try again later.",
  );

/** A DER ECDSA signature (SEQUENCE of two INTEGERs) as WebCrypto's raw r‖s, 32 bytes each. */
export function derToRawSignature(der: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
  let offset = 0;
  const readLength = (): number | undefined => {
    const first = der[offset++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    if (first !== 0x81) return undefined;
    return der[offset++];
  };
  if (der[offset++] !== 0x30) return undefined;
  const total = readLength();
  if (total === undefined || offset + total !== der.length) return undefined;
  const raw = new Uint8Array(64);
  for (const at of [0, 32]) {
    if (der[offset++] !== 0x02) return undefined;
    const length = readLength();
    if (length === undefined || length < 1 || offset + length > der.length) return undefined;
    let integer = der.subarray(offset, offset + length);
    offset += length;
    while (integer.length > 32 && integer[0] === 0) integer = integer.subarray(1);
    if (integer.length > 32) return undefined;
    raw.set(integer, at + 32 - integer.length);
  }
  return offset === der.length ? raw : undefined;
}

const badSignature = () =>
  new ApiError(
    "UNAUTHORIZED",
    "The report's signature does not verify with GitHub's published secret scanning keys",
  );

/**
 * Throws unless `body` is signed by GitHub: `Github-Public-Key-Signature` (base64 DER ECDSA
 * P-256 / SHA-256 over the raw body) under the key `Github-Public-Key-Identifier` names, from
 * SECRET_SCANNING_KEYS_URL. With no URL set nothing is accepted: reports are never unsigned.
 */
export async function verifyGithubSignature(
  url: string | undefined,
  body: Uint8Array<ArrayBuffer>,
  identifier: string | undefined,
  signature: string | undefined,
  now = Date.now(),
): Promise<void> {
  if (!url) {
    throw new ApiError(
      "SERVICE_UNAVAILABLE",
      "Secret scanning is not configured on this service (SECRET_SCANNING_KEYS_URL); nothing was changed",
    );
  }
  if (!identifier || !signature) {
    throw new ApiError(
      "UNAUTHORIZED",
      "Github-Public-Key-Identifier and Github-Public-Key-Signature headers are required",
    );
  }
  let raw: Uint8Array<ArrayBuffer> | undefined;
  try {
    raw = derToRawSignature(base64ToBytes(signature.trim()));
  } catch {
    raw = undefined;
  }
  if (!raw) throw badSignature();
  const key = await keyFor(url, identifier.trim(), now);
  if (!key) throw badSignature();
  const valid = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, raw, body);
  if (!valid) throw badSignature();
}
