import { vi } from "vitest";
import type { Bindings } from "../../src/env";
import type { ApiResponse } from "../support/api";
import { callWith } from "../support/keys";

/** WebCrypto's raw r‖s signature as the DER SEQUENCE GitHub sends. */
export function rawToDer(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    const padded = (trimmed[0] as number) & 0x80 ? [0, ...trimmed] : [...trimmed];
    return [0x02, padded.length, ...padded];
  };
  const body = [...integer(raw.subarray(0, 32)), ...integer(raw.subarray(32))];
  return new Uint8Array([0x30, body.length, ...body]);
}

const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

async function pemOf(key: CryptoKey): Promise<string> {
  const spki = new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
  const lines = base64(spki).match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

const newPair = () =>
  crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as Promise<CryptoKeyPair>;

/**
 * GitHub's public key endpoint, served at a fresh URL from a local key pair (no internet): the
 * JSON GitHub publishes, a switch to take it down, a count of fetches, and key rotation.
 */
export async function githubKeyServer() {
  const url = `https://keys-${crypto.randomUUID()}.test/meta/public_keys/secret_scanning`;
  const keys = new Map<string, CryptoKeyPair>([["github-key-1", await newPair()]]);
  const server = { up: true, fetches: 0 };
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
    const requested = input instanceof Request ? input.url : String(input);
    if (requested !== url) return new Response("not found", { status: 404 });
    server.fetches++;
    if (!server.up) return new Response("upstream down", { status: 502 });
    const public_keys = await Promise.all(
      [...keys].map(async ([key_identifier, pair], i) => ({
        key_identifier,
        key: await pemOf(pair.publicKey),
        is_current: i === keys.size - 1,
      })),
    );
    return Response.json({ public_keys });
  });

  /** The headers GitHub sends with `body`, signed by `identifier`'s key (or `signer`). */
  async function sign(body: string, identifier = "github-key-1", signer?: CryptoKey) {
    const key = signer ?? (keys.get(identifier) as CryptoKeyPair).privateKey;
    const raw = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        new TextEncoder().encode(body),
      ),
    );
    return {
      "Github-Public-Key-Identifier": identifier,
      "Github-Public-Key-Signature": base64(rawToDer(raw)),
    };
  }

  return {
    url,
    server,
    sign,
    /** GitHub publishes a new key (and keeps the old one). */
    async rotate(identifier: string) {
      keys.set(identifier, await newPair());
    },
    stranger: async () => (await newPair()).privateKey,
  };
}

/** POSTs `body` to the partner endpoint with `headers`, through the app with `overrides`. */
export function postReport(
  overrides: Partial<Bindings>,
  body: string,
  headers: Record<string, string>,
): Promise<ApiResponse> {
  return callWith(overrides, "POST", "/secret-scanning/github", { rawBody: body, headers });
}

/** GitHub's finding for `token`. */
export const finding = (token: string, url = "https://github.com/acme/site/blob/main/.env") => ({
  token,
  type: token.startsWith("fbai_sk_") ? "flashgate_ai_secret" : "flashgate_storage_secret",
  url,
  source: "content",
});

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
