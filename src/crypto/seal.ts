import { base64ToBytes, bytesToBase64Url } from "./base64";

/**
 * Which table a sealed secret belongs to (provider: ai_providers, whose keyId is its type); part
 * of the AAD so ciphertexts cannot swap kinds.
 */
export type SecretKind = "storage" | "ai" | "provider";

/** The row a ciphertext is bound to. */
export interface SealBinding {
  kind: SecretKind;
  repoId: string;
  keyId: string;
  /** A rolled key's previous secret is sealed to its own slot, so the two cannot be swapped. */
  slot?: "previous";
}

export class KeyringError extends Error {
  override name = "KeyringError";
}

const FORMAT = "aesgcm";
const VERSION_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function additionalData({ kind, repoId, keyId, slot }: SealBinding): Uint8Array {
  return encoder.encode(`flashgate/${kind}/${repoId}/${keyId}${slot ? `/${slot}` : ""}`);
}

/**
 * Versioned AES-256-GCM keys. The first entry seals; every entry opens, so a new key can be
 * put first without breaking rows sealed under older ones.
 */
export class Keyring {
  private readonly cryptoKeys = new Map<string, Promise<CryptoKey>>();
  private readonly derivedKeys = new Map<string, Promise<CryptoKey>>();

  private constructor(private readonly keys: ReadonlyMap<string, Uint8Array<ArrayBuffer>>) {}

  /** Parses "v2:<base64>,v1:<base64>"; throws KeyringError rather than accept a weak keyring. */
  static parse(text: string | undefined): Keyring {
    if (!text?.trim()) throw new KeyringError("ENCRYPTION_KEYS is not set");
    const keys = new Map<string, Uint8Array<ArrayBuffer>>();
    for (const entry of text.split(",")) {
      const separator = entry.indexOf(":");
      const version = entry.slice(0, separator).trim();
      if (separator < 0 || !VERSION_PATTERN.test(version)) {
        throw new KeyringError(
          "ENCRYPTION_KEYS entries must look like <version>:<base64 key>, version from [A-Za-z0-9_-]",
        );
      }
      if (keys.has(version)) throw new KeyringError(`ENCRYPTION_KEYS repeats version "${version}"`);
      let raw: Uint8Array<ArrayBuffer>;
      try {
        raw = base64ToBytes(entry.slice(separator + 1).trim());
      } catch {
        throw new KeyringError(`ENCRYPTION_KEYS key "${version}" is not valid base64`);
      }
      if (raw.length !== 32) {
        throw new KeyringError(
          `ENCRYPTION_KEYS key "${version}" must be 32 bytes (AES-256), got ${raw.length}`,
        );
      }
      // A random 32-byte key has ~28 distinct bytes; few distinct bytes means a placeholder.
      if (new Set(raw).size < 16) {
        throw new KeyringError(`ENCRYPTION_KEYS key "${version}" is not random enough`);
      }
      keys.set(version, raw);
    }
    return new Keyring(keys);
  }

  get sealingVersion(): string {
    return this.keys.keys().next().value as string;
  }

  private cryptoKey(version: string): Promise<CryptoKey> | undefined {
    let key = this.cryptoKeys.get(version);
    if (!key) {
      const raw = this.keys.get(version);
      if (!raw) return undefined;
      key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
      this.cryptoKeys.set(version, key);
    }
    return key;
  }

  /** Every version in the ring, the sealing one first. */
  get versions(): string[] {
    return [...this.keys.keys()];
  }

  /**
   * A key derived (HKDF) from the version's AES key for one purpose only (`info`), so what it
   * makes reveals nothing about the encryption key or the other purposes, and it rotates with
   * the ring.
   */
  private derivedKey(
    version: string,
    info: string,
    algorithm: Parameters<SubtleCrypto["deriveKey"]>[2],
    usages: string[],
  ): Promise<CryptoKey> | undefined {
    const id = `${version}\n${info}`;
    let key = this.derivedKeys.get(id);
    if (!key) {
      const raw = this.keys.get(version);
      if (!raw) return undefined;
      key = crypto.subtle
        .importKey("raw", raw, "HKDF", false, ["deriveKey"])
        .then((material) =>
          crypto.subtle.deriveKey(
            { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(info) },
            material,
            algorithm,
            false,
            usages,
          ),
        );
      this.derivedKeys.set(id, key);
    }
    return key;
  }

  /** The HMAC-SHA-256 key of the secret digests. */
  private digestKey(version: string): Promise<CryptoKey> | undefined {
    return this.derivedKey(
      version,
      "flashgate/secret-digest/v1",
      { name: "HMAC", hash: "SHA-256", length: 256 },
      ["sign"],
    );
  }

  /**
   * The keyed digest of a secret under `version` (default: the sealing one),
   * "<version>.<base64url HMAC>": what a row stores so that the secret finds its row in one
   * indexed read, without the secret or anything that opens it being stored.
   */
  async digest(secret: string, version = this.sealingVersion): Promise<string> {
    const key = this.digestKey(version);
    if (!key) throw new KeyringError(`no key "${version}" in ENCRYPTION_KEYS`);
    const mac = await crypto.subtle.sign("HMAC", await key, encoder.encode(secret));
    return `${version}.${bytesToBase64Url(new Uint8Array(mac))}`;
  }

  /** The secret's digest under every version in the ring, the sealing one first. */
  digests(secret: string): Promise<string[]> {
    return Promise.all(this.versions.map((version) => this.digest(secret, version)));
  }

  /**
   * HMAC-SHA-256 of `data` under `version`'s key for `purpose` ("temporary-secret", …), a key
   * derived for that purpose alone: what the service can recompute and nobody else can.
   */
  async mac(purpose: string, data: string, version: string): Promise<Uint8Array> {
    const key = this.derivedKey(
      version,
      `flashgate/${purpose}/v1`,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      ["sign"],
    );
    if (!key) throw new KeyringError(`no key "${version}" in ENCRYPTION_KEYS`);
    return new Uint8Array(await crypto.subtle.sign("HMAC", await key, encoder.encode(data)));
  }

  /**
   * Seals a token (not a row's secret) with the sealing version's AES-GCM key derived for
   * tokens, bound to `context`: "<version>.<iv>.<ciphertext>". It opens while its version is
   * in the ring.
   */
  async sealToken(plaintext: string, context: string): Promise<string> {
    const version = this.sealingVersion;
    const key = (await this.tokenKey(version)) as CryptoKey;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
      key,
      encoder.encode(plaintext),
    );
    return [version, bytesToBase64Url(iv), bytesToBase64Url(new Uint8Array(ciphertext))].join(".");
  }

  /**
   * Opens a sealed token: its plaintext and the version that sealed it, or undefined when it is
   * malformed, tampered with, bound to another context, or its version has left the ring.
   */
  async openToken(
    sealed: string,
    context: string,
  ): Promise<{ plaintext: string; version: string } | undefined> {
    const [version, iv, ciphertext, extra] = sealed.split(".");
    if (!version || !iv || !ciphertext || extra !== undefined) return undefined;
    const key = this.tokenKey(version);
    if (!key) return undefined;
    try {
      const ivBytes = base64ToBytes(iv);
      const ciphertextBytes = base64ToBytes(ciphertext);
      // One spelling per token: base64's spare trailing bits must not make a second one.
      if (bytesToBase64Url(ivBytes) !== iv || bytesToBase64Url(ciphertextBytes) !== ciphertext) {
        return undefined;
      }
      const plaintext = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: ivBytes, additionalData: encoder.encode(context) },
        await key,
        ciphertextBytes,
      );
      return { plaintext: decoder.decode(plaintext), version };
    } catch {
      return undefined;
    }
  }

  private tokenKey(version: string): Promise<CryptoKey> | undefined {
    return this.derivedKey(
      version,
      "flashgate/session-token/v1",
      { name: "AES-GCM", length: 256 },
      ["encrypt", "decrypt"],
    );
  }

  /** Seals with the first key and a fresh 96-bit IV: "aesgcm.<version>.<iv>.<ciphertext>". */
  async seal(plaintext: string, binding: SealBinding): Promise<string> {
    const version = this.sealingVersion;
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const key = (await this.cryptoKey(version)) as CryptoKey;
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: additionalData(binding) },
      key,
      encoder.encode(plaintext),
    );
    return [
      FORMAT,
      version,
      bytesToBase64Url(iv),
      bytesToBase64Url(new Uint8Array(ciphertext)),
    ].join(".");
  }

  /** Opens a sealed secret; throws if it was tampered with, moved to another row, or its key is gone. */
  async open(sealed: string, binding: SealBinding): Promise<string> {
    const [format, version, iv, ciphertext, extra] = sealed.split(".");
    if (format !== FORMAT || !version || !iv || !ciphertext || extra !== undefined) {
      throw new KeyringError("sealed secret is malformed");
    }
    const key = this.cryptoKey(version);
    if (!key) throw new KeyringError(`no key "${version}" in ENCRYPTION_KEYS`);
    let ivBytes: Uint8Array<ArrayBuffer>;
    let ciphertextBytes: Uint8Array<ArrayBuffer>;
    try {
      ivBytes = base64ToBytes(iv);
      ciphertextBytes = base64ToBytes(ciphertext);
    } catch {
      throw new KeyringError("sealed secret is malformed");
    }
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: ivBytes, additionalData: additionalData(binding) },
      await key,
      ciphertextBytes,
    );
    return decoder.decode(plaintext);
  }
}

let cached: { text: string | undefined; keyring: Keyring } | undefined;

/** The keyring for this isolate: parsed once, its CryptoKeys imported once, re-read if the setting changes. */
export function keyringFrom(text: string | undefined): Keyring {
  if (!cached || cached.text !== text) cached = { text, keyring: Keyring.parse(text) };
  return cached.keyring;
}
