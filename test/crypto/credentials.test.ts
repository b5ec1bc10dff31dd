import { describe, expect, it } from "vitest";
import {
  AI_KEY_PREFIX,
  AI_SECRET_PREFIX,
  crc32,
  isWellFormedAiSecret,
  isWellFormedStorageSecret,
  newAiCredentials,
  newStorageCredentials,
  STORAGE_KEY_PREFIX,
} from "../../src/crypto/credentials";
import { BASE62 } from "../../src/crypto/random";

describe("crc32", () => {
  it.each([
    ["123456789", 0xcbf43926],
    ["", 0x00000000],
    ["a", 0xe8b7be43],
    ["The quick brown fox jumps over the lazy dog", 0x414fa339],
  ])("of %j is the IEEE 802.3 value", (text, expected) => {
    expect(crc32(text)).toBe(expected);
  });

  it("hashes the UTF-8 bytes of the text", () => {
    // "é" is C3 A9 in UTF-8.
    expect(crc32("é")).toBe(0x0e048d3e);
  });
});

describe("storage credentials", () => {
  it("are an S3-shaped key id with the documented prefix and a 40-character secret", () => {
    expect(STORAGE_KEY_PREFIX).toBe("FBAK");
    for (let i = 0; i < 50; i++) {
      const { key, secret } = newStorageCredentials();
      expect(key).toMatch(/^FBAK[A-Z0-9]{16}$/);
      expect(secret).toMatch(/^fbsk_[0-9A-Za-z]{35}$/);
      expect(isWellFormedStorageSecret(secret)).toBe(true);
    }
  });

  it("have a checksum a scanner can check offline: one changed character fails it", () => {
    const { secret } = newStorageCredentials();
    expect(secret).toHaveLength(40);
    const body = secret.slice(5, 34);
    const flipped = body[0] === "a" ? "b" : "a";
    expect(isWellFormedStorageSecret(`fbsk_${flipped}${body.slice(1)}${secret.slice(34)}`)).toBe(
      false,
    );
    expect(isWellFormedStorageSecret(`fbsk_${body}000000`)).toBe(false);
    expect(isWellFormedStorageSecret(secret.replace("fbsk_", "fbsx_"))).toBe(false);
    // A secret of the form before fbsk_ is not one a scanner can recognise.
    expect(isWellFormedStorageSecret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")).toBe(false);
  });

  it("are different every time", () => {
    const drawn = Array.from({ length: 200 }, () => newStorageCredentials());
    expect(new Set(drawn.map((c) => c.key)).size).toBe(200);
    expect(new Set(drawn.map((c) => c.secret)).size).toBe(200);
  });
});

describe("AI credentials", () => {
  it("are FB_AI_ keys and recognisable, checksummed secrets", () => {
    expect(AI_KEY_PREFIX).toBe("FB_AI_");
    for (let i = 0; i < 50; i++) {
      const { key, secret } = newAiCredentials();
      expect(key).toMatch(/^FB_AI_[0-9A-Za-z]{16,}$/);
      expect(secret.startsWith(AI_SECRET_PREFIX)).toBe(true);
      // At least 256 bits of randomness: 44 base62 characters carry 44 × log2(62) ≈ 262.
      expect(secret.length - AI_SECRET_PREFIX.length - 6).toBeGreaterThanOrEqual(
        Math.ceil(256 / Math.log2(62)),
      );
      expect(isWellFormedAiSecret(secret)).toBe(true);
    }
  });

  it("are different every time", () => {
    const drawn = Array.from({ length: 200 }, () => newAiCredentials());
    expect(new Set(drawn.map((c) => c.key)).size).toBe(200);
    expect(new Set(drawn.map((c) => c.secret)).size).toBe(200);
  });
});

describe("isWellFormedAiSecret", () => {
  const { secret } = newAiCredentials();

  it("rejects the secret with any single character changed", () => {
    for (let i = 0; i < secret.length; i++) {
      const original = secret[i] as string;
      const replacement = BASE62[(BASE62.indexOf(original) + 1) % 62] as string;
      const changed = secret.slice(0, i) + replacement + secret.slice(i + 1);
      expect(isWellFormedAiSecret(changed), `changed at ${i}`).toBe(false);
    }
  });

  it("rejects a secret with two characters swapped", () => {
    const at = AI_SECRET_PREFIX.length;
    let swapped = secret;
    for (let i = at; i < secret.length - 7; i++) {
      if (secret[i] !== secret[i + 1]) {
        swapped = secret.slice(0, i) + secret[i + 1] + secret[i] + secret.slice(i + 2);
        break;
      }
    }
    expect(swapped).not.toBe(secret);
    expect(isWellFormedAiSecret(swapped)).toBe(false);
  });

  it("rejects truncated, extended, re-prefixed and storage secrets", () => {
    expect(isWellFormedAiSecret(secret.slice(0, -1))).toBe(false);
    expect(isWellFormedAiSecret(`${secret}0`)).toBe(false);
    expect(isWellFormedAiSecret(secret.replace(AI_SECRET_PREFIX, "sk_"))).toBe(false);
    expect(isWellFormedAiSecret(newStorageCredentials().secret)).toBe(false);
    expect(isWellFormedAiSecret("")).toBe(false);
  });
});
