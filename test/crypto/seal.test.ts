import { afterEach, describe, expect, it, vi } from "vitest";
import { base64ToBytes, bytesToBase64Url } from "../../src/crypto/base64";
import { Keyring, KeyringError, keyringFrom, type SealBinding } from "../../src/crypto/seal";
import { TEST_BINDINGS } from "../support/bindings";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A fresh random 256-bit key, base64. */
function randomKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

const T1 = randomKey();
const T2 = randomKey();
const binding: SealBinding = {
  kind: "storage",
  repoId: "6f1c1b5e-2d4e-4a8b-9c0d-1e2f3a4b5c6d",
  keyId: "0a9b8c7d-6e5f-4a3b-8c1d-0e9f8a7b6c5d",
};
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/** Flips one bit of one base64url part ("iv" or "ciphertext") of a sealed secret. */
function flipBit(sealed: string, part: "iv" | "ciphertext", byte = 0): string {
  const parts = sealed.split(".");
  const index = part === "iv" ? 2 : 3;
  const bytes = base64ToBytes(parts[index] as string);
  bytes[byte] = (bytes[byte] as number) ^ 0x01;
  parts[index] = bytesToBase64Url(bytes);
  return parts.join(".");
}

describe("Keyring.seal and open", () => {
  it("round-trips a secret", async () => {
    const keyring = Keyring.parse(`t1:${T1}`);
    const sealed = await keyring.seal(SECRET, binding);
    expect(await keyring.open(sealed, binding)).toBe(SECRET);
  });

  it("records the format and key version and never contains the plaintext", async () => {
    const sealed = await Keyring.parse(`t1:${T1}`).seal(SECRET, binding);
    expect(sealed).toMatch(/^aesgcm\.t1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(SECRET);
  });

  it("uses a fresh 96-bit IV for every seal", async () => {
    const keyring = Keyring.parse(`t1:${T1}`);
    const a = await keyring.seal(SECRET, binding);
    const b = await keyring.seal(SECRET, binding);
    expect(a).not.toBe(b);
    const iv = (sealed: string) => base64ToBytes(sealed.split(".")[2] as string);
    expect(iv(a)).toHaveLength(12);
    expect(iv(a)).not.toEqual(iv(b));
  });

  it("fails to open when one bit of the ciphertext is flipped", async () => {
    const keyring = Keyring.parse(`t1:${T1}`);
    const sealed = await keyring.seal(SECRET, binding);
    await expect(keyring.open(flipBit(sealed, "ciphertext", 0), binding)).rejects.toThrow();
    // The last byte belongs to the GCM tag.
    const tagByte = base64ToBytes(sealed.split(".")[3] as string).length - 1;
    await expect(keyring.open(flipBit(sealed, "ciphertext", tagByte), binding)).rejects.toThrow();
  });

  it("fails to open when one bit of the IV is flipped", async () => {
    const keyring = Keyring.parse(`t1:${T1}`);
    const sealed = await keyring.seal(SECRET, binding);
    await expect(keyring.open(flipBit(sealed, "iv"), binding)).rejects.toThrow();
  });

  it("fails to open under other additional data: another kind, repo or key id", async () => {
    const keyring = Keyring.parse(`t1:${T1}`);
    const sealed = await keyring.seal(SECRET, binding);
    const oneCharOff = `${binding.keyId.slice(0, -1)}e`;
    for (const other of [
      { ...binding, kind: "ai" as const },
      { ...binding, repoId: crypto.randomUUID() },
      { ...binding, keyId: oneCharOff },
    ]) {
      await expect(keyring.open(sealed, other)).rejects.toThrow();
    }
  });

  it("fails to open with a different key under the same version name", async () => {
    const sealed = await Keyring.parse(`t1:${T1}`).seal(SECRET, binding);
    await expect(Keyring.parse(`t1:${T2}`).open(sealed, binding)).rejects.toThrow();
  });

  it("fails to open, with a clear error, when the sealing key's version is not in the keyring", async () => {
    const sealed = await Keyring.parse(`t1:${T1}`).seal(SECRET, binding);
    await expect(Keyring.parse(`t2:${T2}`).open(sealed, binding)).rejects.toThrow(
      new KeyringError('no key "t1" in ENCRYPTION_KEYS'),
    );
  });

  it("refuses a malformed sealed value", async () => {
    const keyring = Keyring.parse(`t1:${T1}`);
    const sealed = await keyring.seal(SECRET, binding);
    const [, version, , ciphertext] = sealed.split(".");
    for (const bad of [
      "",
      SECRET,
      sealed.replace(/^aesgcm/, "plain"),
      `${sealed}.extra`,
      `aesgcm.${version}.not*base64.${ciphertext}`,
      `aesgcm.${version}.AAAAAAAAAAAAAAAA.%%%`,
    ]) {
      await expect(keyring.open(bad, binding)).rejects.toThrow(KeyringError);
    }
  });
});

describe("key rotation", () => {
  it("keeps secrets sealed under the old key readable once a new key is put first", async () => {
    const before = Keyring.parse(`t1:${T1}`);
    const sealedBefore = await before.seal(SECRET, binding);

    const after = Keyring.parse(`t2:${T2},t1:${T1}`);
    expect(await after.open(sealedBefore, binding)).toBe(SECRET);

    const sealedAfter = await after.seal(SECRET, binding);
    expect(sealedAfter).toMatch(/^aesgcm\.t2\./);
    expect(after.sealingVersion).toBe("t2");
    expect(await after.open(sealedAfter, binding)).toBe(SECRET);
    // The old keyring cannot read what the new key sealed.
    await expect(before.open(sealedAfter, binding)).rejects.toThrow(KeyringError);
  });

  it("seals with t2 and opens t1 under the test configuration", async () => {
    const keyring = Keyring.parse(TEST_BINDINGS.ENCRYPTION_KEYS);
    expect(keyring.sealingVersion).toBe("t2");
    const t1Only = TEST_BINDINGS.ENCRYPTION_KEYS.split(",")[1] as string;
    const sealedUnderT1 = await Keyring.parse(t1Only).seal(SECRET, binding);
    expect(await keyring.open(sealedUnderT1, binding)).toBe(SECRET);
  });
});

describe("Keyring.parse refuses a malformed keyring with a clear message", () => {
  const zeroKey = btoa(String.fromCharCode(...new Uint8Array(32)));
  const shortKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const cases: [string, string | undefined, RegExp][] = [
    ["unset", undefined, /ENCRYPTION_KEYS is not set/],
    ["empty", "", /ENCRYPTION_KEYS is not set/],
    ["blank", "   ", /ENCRYPTION_KEYS is not set/],
    ["a key without a version", T1, /<version>:<base64 key>/],
    ["an empty version", `:${T1}`, /<version>:<base64 key>/],
    ["a trailing comma", `t1:${T1},`, /<version>:<base64 key>/],
    ["a key that is not base64", "t1:not*base64!", /key "t1" is not valid base64/],
    ["a 16-byte (AES-128) key", `t1:${shortKey}`, /key "t1" must be 32 bytes \(AES-256\), got 16/],
    ["a repeated version", `t1:${T1},t1:${T2}`, /repeats version "t1"/],
    ["an all-zero key", `t1:${zeroKey}`, /key "t1" is not random enough/],
  ];

  for (const [what, text, message] of cases) {
    it(`such as ${what}`, () => {
      expect(() => Keyring.parse(text)).toThrow(KeyringError);
      expect(() => Keyring.parse(text)).toThrow(message);
    });
  }

  it("and never puts the key material in the message", () => {
    try {
      Keyring.parse(`t1:${shortKey}`);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(shortKey);
    }
  });

  it("accepts URL-safe and unpadded base64 keys", () => {
    const urlSafe = T1.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(Keyring.parse(`t1:${urlSafe}`).sealingVersion).toBe("t1");
  });
});

describe("CryptoKey caching", () => {
  it("imports each key once per keyring, not once per seal or open", async () => {
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    const keyring = Keyring.parse(`t2:${T2},t1:${T1}`);
    const sealedUnderT1 = await Keyring.parse(`t1:${T1}`).seal(SECRET, binding);
    importKey.mockClear();

    for (let i = 0; i < 5; i++) {
      await keyring.open(await keyring.seal(SECRET, binding), binding);
      await keyring.open(sealedUnderT1, binding);
    }
    expect(importKey).toHaveBeenCalledTimes(2);
  });

  it("parses a configuration once per isolate: keyringFrom returns the same keyring", async () => {
    const text = `t9:${randomKey()}`;
    expect(keyringFrom(text)).toBe(keyringFrom(text));

    const importKey = vi.spyOn(crypto.subtle, "importKey");
    for (let i = 0; i < 3; i++) await keyringFrom(text).seal(SECRET, binding);
    expect(importKey).toHaveBeenCalledTimes(1);
  });

  it("re-reads a changed configuration", () => {
    const first = keyringFrom(`a:${T1}`);
    const second = keyringFrom(`b:${T2},a:${T1}`);
    expect(second).not.toBe(first);
    expect(second.sealingVersion).toBe("b");
  });

  it("throws KeyringError from keyringFrom for a malformed configuration", () => {
    expect(() => keyringFrom("t1:short")).toThrow(KeyringError);
  });
});
