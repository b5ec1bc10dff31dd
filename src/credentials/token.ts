import { bytesToBase64Url } from "../crypto/base64";
import type { Keyring } from "../crypto/seal";

/**
 * A temporary credential is stateless: its session token carries the scope, sealed (AES-GCM,
 * a key derived from the keyring for tokens alone) and bound to its access key id, and its
 * secret is an HMAC of the token's id under another keyring-derived key. Only this service can
 * make or read either; nothing is stored but the audit event.
 */
export interface SessionToken {
  /** Random: the temporary secret is derived from it. */
  id: string;
  repoId: string;
  parentKeyId: string;
  /** The parent's access key id (FBAK…): verification finds the parent (and its cache) by it. */
  parentKey: string;
  permission: "READ" | "WRITE";
  prefixes: string[];
  objects: string[];
  /** Unix seconds; the credential works while now < expiresAt. */
  expiresAt: number;
  /** A keyed tag of the parent's secret when issued: once the parent is rolled (past its grace) it no longer matches. */
  generation: string;
}

/** Session tokens say what they are; the rest is the keyring's "<version>.<iv>.<ciphertext>". */
const TOKEN_PREFIX = "FBST1.";
/** Ties a token to the access key id it was issued with: another id cannot present it. */
const contextOf = (accessKeyId: string) => `flashgate/session-token/${accessKeyId}`;

export async function sealSessionToken(
  keyring: Keyring,
  accessKeyId: string,
  token: SessionToken,
): Promise<string> {
  return TOKEN_PREFIX + (await keyring.sealToken(JSON.stringify(token), contextOf(accessKeyId)));
}

/**
 * The token's content and the keyring version that sealed it, or undefined when it is not a
 * token this service sealed for `accessKeyId` (tampered, another credential's, or sealed under
 * a version no longer in ENCRYPTION_KEYS).
 */
export async function openSessionToken(
  keyring: Keyring,
  accessKeyId: string,
  sessionToken: string,
): Promise<{ token: SessionToken; version: string } | undefined> {
  if (!sessionToken.startsWith(TOKEN_PREFIX)) return undefined;
  const opened = await keyring.openToken(
    sessionToken.slice(TOKEN_PREFIX.length),
    contextOf(accessKeyId),
  );
  if (!opened) return undefined;
  // Authenticated: only this service wrote it, so its shape is the one above.
  return { token: JSON.parse(opened.plaintext) as SessionToken, version: opened.version };
}

/**
 * The temporary secret: 40 characters of S3's secret alphabet (30 bytes of HMAC, 240 bits),
 * recomputed by the service from the token alone.
 */
export async function temporarySecret(
  keyring: Keyring,
  version: string,
  accessKeyId: string,
  tokenId: string,
): Promise<string> {
  const mac = await keyring.mac("temporary-secret", `${accessKeyId}/${tokenId}`, version);
  let binary = "";
  for (const byte of mac.subarray(0, 30)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Which of the parent's secrets a token was issued under, without revealing it. */
export async function secretGeneration(
  keyring: Keyring,
  version: string,
  parentSecret: string,
): Promise<string> {
  const mac = await keyring.mac("parent-secret-generation", parentSecret, version);
  return bytesToBase64Url(mac.subarray(0, 16));
}
