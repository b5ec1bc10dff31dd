import { BASE62, randomString, UPPER_ALNUM } from "./random";

/**
 * Storage keys follow S3's shape: a 20-character access key id from A-Z0-9 and a 40-character
 * secret, as long as AWS's. The secret is `fbsk_` + 29 base62 characters (~172 bits) + a
 * 6-character base62 CRC-32 of those 29: only letters, digits and one underscore, so no S3
 * client, INI file or URL needs it escaped, and a scanner recognises a real one offline.
 * Secrets issued before this form (40 characters of A-Za-z0-9/+) keep working.
 */
export const STORAGE_KEY_PREFIX = "FBAK";
export const STORAGE_SECRET_PREFIX = "fbsk_";
const STORAGE_KEY_LENGTH = 20;
const STORAGE_SECRET_RANDOM_LENGTH = 29;

export function newStorageCredentials(): { key: string; secret: string } {
  const body = randomString(BASE62, STORAGE_SECRET_RANDOM_LENGTH);
  return {
    key:
      STORAGE_KEY_PREFIX +
      randomString(UPPER_ALNUM, STORAGE_KEY_LENGTH - STORAGE_KEY_PREFIX.length),
    secret: STORAGE_SECRET_PREFIX + body + base62Checksum(body),
  };
}

/**
 * Temporary credentials (src/credentials) have access key ids of the same shape under their own
 * prefix, as AWS's session credentials are ASIA… beside AKIA…: `FBTK` (temporary key) + 16.
 */
export const TEMPORARY_KEY_PREFIX = "FBTK";

export function newTemporaryAccessKeyId(): string {
  return (
    TEMPORARY_KEY_PREFIX +
    randomString(UPPER_ALNUM, STORAGE_KEY_LENGTH - TEMPORARY_KEY_PREFIX.length)
  );
}

/**
 * AI keys: `FB_AI_` + 24 base62 characters (~142 bits).
 * AI secrets: `fbai_sk_` + 44 base62 characters (~262 bits) + a 6-character base62 CRC32 of
 * those 44, so a secret scanner can recognise a real leaked secret offline, as GitHub's tokens allow.
 */
export const AI_KEY_PREFIX = "FB_AI_";
export const AI_SECRET_PREFIX = "fbai_sk_";
const AI_KEY_RANDOM_LENGTH = 24;
const AI_SECRET_RANDOM_LENGTH = 44;
const CHECKSUM_LENGTH = 6;

export function newAiCredentials(): { key: string; secret: string } {
  const body = randomString(BASE62, AI_SECRET_RANDOM_LENGTH);
  return {
    key: AI_KEY_PREFIX + randomString(BASE62, AI_KEY_RANDOM_LENGTH),
    secret: AI_SECRET_PREFIX + body + base62Checksum(body),
  };
}

const AI_SECRET_PATTERN = new RegExp(
  `^${AI_SECRET_PREFIX}([0-9A-Za-z]{${AI_SECRET_RANDOM_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);

const STORAGE_SECRET_PATTERN = new RegExp(
  `^${STORAGE_SECRET_PREFIX}([0-9A-Za-z]{${STORAGE_SECRET_RANDOM_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);

/** True when `secret` has the AI secret format and its checksum matches (what a scanner checks). */
export function isWellFormedAiSecret(secret: string): boolean {
  return checksumMatches(AI_SECRET_PATTERN.exec(secret));
}

/** True when `secret` has the storage secret form (`fbsk_`) and its checksum matches. */
export function isWellFormedStorageSecret(secret: string): boolean {
  return checksumMatches(STORAGE_SECRET_PATTERN.exec(secret));
}

/** A storage secret issued before the `fbsk_` form: 40 characters of A-Za-z0-9/+. */
export function isLegacyStorageSecret(secret: string): boolean {
  return /^[A-Za-z0-9+/]{40}$/.test(secret);
}

function checksumMatches(match: RegExpExecArray | null): boolean {
  return match !== null && base62Checksum(match[1] as string) === match[2];
}

function base62Checksum(text: string): string {
  let value = crc32(text);
  let out = "";
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3) of the text's UTF-8 bytes. */
export function crc32(text: string): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc = (crcTable[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
