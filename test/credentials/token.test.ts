import { describe, expect, it } from "vitest";
import { openSessionToken, type SessionToken, sealSessionToken } from "../../src/credentials/token";
import { Keyring } from "../../src/crypto/seal";
import { TEST_BINDINGS } from "../support/bindings";

const keyring = Keyring.parse(TEST_BINDINGS.ENCRYPTION_KEYS);
const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const token = (objects: string[]): SessionToken => ({
  id: crypto.randomUUID(),
  repoId: crypto.randomUUID(),
  parentKeyId: crypto.randomUUID(),
  parentKey: "FBAKAAAAAAAAAAAAAAAA",
  permission: "READ",
  prefixes: [],
  objects,
  expiresAt: 2_000_000_000,
  generation: "g",
});

describe("session tokens", () => {
  it("open for the access key id they were sealed for, and no other", async () => {
    const content = token(["a.txt"]);
    const sealed = await sealSessionToken(keyring, "FBTKAAAAAAAAAAAAAAAA", content);
    expect(await openSessionToken(keyring, "FBTKAAAAAAAAAAAAAAAA", sealed)).toEqual({
      token: content,
      version: "t2",
    });
    expect(await openSessionToken(keyring, "FBTKAAAAAAAAAAAAAAAB", sealed)).toBeUndefined();
  });

  it("have one spelling: base64's spare trailing bits changed, the token does not open", async () => {
    // Pad the content until the ciphertext's base64 ends with spare bits (its length not a multiple of 3).
    for (let pad = 0; pad < 3; pad++) {
      const sealed = await sealSessionToken(
        keyring,
        "FBTKAAAAAAAAAAAAAAAA",
        token(["x".repeat(pad)]),
      );
      const ciphertext = sealed.slice(sealed.lastIndexOf(".") + 1);
      if (ciphertext.length % 4 === 0) continue;
      const last = BASE64URL.indexOf(sealed.at(-1) as string);
      const respelled = sealed.slice(0, -1) + BASE64URL[last ^ 1];
      expect(await openSessionToken(keyring, "FBTKAAAAAAAAAAAAAAAA", respelled)).toBeUndefined();
      return;
    }
    throw new Error("no ciphertext length left spare bits");
  });
});
