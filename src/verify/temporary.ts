import { openSessionToken, type SessionToken, temporarySecret } from "../credentials/token";
import { type Keyring, keyringFrom } from "../crypto/seal";
import type { Bindings } from "../env";
import { signingKey } from "./sigv4";

/**
 * A temporary credential's session token, opened: what it allows, and the signing keys of its
 * secret per credential scope (derived once, verify-only).
 */
export interface OpenedToken {
  token: SessionToken;
  version: string;
  keyring: Keyring;
  signingKeys: Map<string, Promise<CryptoKey>>;
}

/**
 * Tokens opened in this isolate, by access key id and token: a credential's repeated requests
 * cost a map lookup, not an AES-GCM open and four HMACs. Only tokens that opened are kept; a
 * token's content never changes, so nothing but the keyring (checked on recall) can stale it.
 */
const opened = new Map<string, OpenedToken>();
const MAX_OPENED = 10_000;

/** The token sealed for `accessKeyId`, or undefined when it is not one this service sealed for it. */
export async function openedToken(
  env: Bindings,
  accessKeyId: string,
  sessionToken: string,
): Promise<OpenedToken | undefined> {
  const keyring = keyringFrom(env.ENCRYPTION_KEYS);
  const id = `${accessKeyId}\n${sessionToken}`;
  const known = opened.get(id);
  if (known && known.keyring === keyring) return known;
  const open = await openSessionToken(keyring, accessKeyId, sessionToken);
  if (!open) return undefined;
  const entry = { ...open, keyring, signingKeys: new Map<string, Promise<CryptoKey>>() };
  if (opened.size >= MAX_OPENED) opened.delete(opened.keys().next().value as string);
  opened.set(id, entry);
  return entry;
}

/** The temporary secret's signing key for one day, region and service. */
export function temporarySigningKey(
  entry: OpenedToken,
  accessKeyId: string,
  scope: { date: string; region: string; service: string },
): Promise<CryptoKey> {
  const id = `${scope.date}/${scope.region}/${scope.service}`;
  let key = entry.signingKeys.get(id);
  if (!key) {
    key = temporarySecret(entry.keyring, entry.version, accessKeyId, entry.token.id).then(
      (secret) => signingKey(secret, scope),
    );
    if (entry.signingKeys.size >= 8) entry.signingKeys.clear();
    entry.signingKeys.set(id, key);
    key.catch(() => entry.signingKeys.delete(id));
  }
  return key;
}

/** For tests: forget every opened token. */
export function forgetOpenedTokens(): void {
  opened.clear();
}
