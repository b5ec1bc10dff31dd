export const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
export const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export const BASE64_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * `length` characters drawn uniformly from `alphabet` with crypto.getRandomValues.
 * Bytes at or above the largest multiple of the alphabet size are rejected, so no
 * character is more likely than another (no modulo bias).
 */
export function randomString(alphabet: string, length: number): string {
  const size = alphabet.length;
  if (size < 2 || size > 256) throw new RangeError("alphabet must have 2 to 256 characters");
  const limit = 256 - (256 % size);
  let out = "";
  // Draw a little more than needed so one call usually suffices, within getRandomValues's
  // 65,536-byte limit per call.
  const buffer = new Uint8Array(Math.min(Math.ceil(length * 1.25) + 8, 65_536));
  while (out.length < length) {
    crypto.getRandomValues(buffer);
    for (let i = 0; i < buffer.length && out.length < length; i++) {
      const byte = buffer[i] as number;
      if (byte < limit) out += alphabet[byte % size];
    }
  }
  return out;
}
