/**
 * The vault key: a random 256-bit secret from which every other key is derived with
 * HKDF-SHA256, one sub-key per purpose.
 *
 * @module
 */

import { fromHex, toHex, utf8 } from "../_encoding.ts";
import { HxError } from "../errors.ts";

const SALT = utf8.encode("hx/v1");
const EXPORT_PREFIX = "hxk1_";

async function hkdfBits(
  ikm: CryptoKey,
  purpose: string,
  bits: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const params = { name: "HKDF", hash: "SHA-256", salt: SALT, info: utf8.encode(purpose) };
  return new Uint8Array(await crypto.subtle.deriveBits(params, ikm, bits));
}

async function checksumOf(vaultHex: string, keyHex: string): Promise<string> {
  const data = utf8.encode(`hx key export ${vaultHex} ${keyHex}`);
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)).subarray(0, 4));
}

/** A parsed key export string. */
export interface KeyExport {
  vaultId: string;
  key: VaultKey;
}

/**
 * A vault key and the sub-keys derived from it. The raw secret never leaves this object
 * except through {@linkcode VaultKey.exportString}.
 *
 * @example Generate, export and re-import
 * ```ts
 * import { VaultKey } from "./vault_key.ts";
 * const key = await VaultKey.generate();
 * const vaultId = crypto.randomUUID();
 * const again = await VaultKey.fromExportString(await key.exportString(vaultId));
 * console.assert(again.key.keyId === key.keyId && again.vaultId === vaultId);
 * ```
 */
export class VaultKey {
  /** Public fingerprint of the key (hex), carried by every object it encrypts. */
  readonly keyId: string;
  readonly #raw: Uint8Array;
  readonly #wrap: CryptoKey;
  readonly #check: CryptoKey;
  readonly #blobId: CryptoKey;
  readonly #digest: CryptoKey;

  private constructor(
    raw: Uint8Array,
    keyId: string,
    keys: { wrap: CryptoKey; check: CryptoKey; blobId: CryptoKey; digest: CryptoKey },
  ) {
    this.#raw = raw;
    this.keyId = keyId;
    this.#wrap = keys.wrap;
    this.#check = keys.check;
    this.#blobId = keys.blobId;
    this.#digest = keys.digest;
  }

  /** A new random vault key. */
  static generate(): Promise<VaultKey> {
    return VaultKey.fromBytes(crypto.getRandomValues(new Uint8Array(32)));
  }

  /**
   * The vault key with the given 32 secret bytes.
   *
   * @param raw Exactly 32 bytes.
   * @returns The key with its sub-keys derived.
   */
  static async fromBytes(raw: Uint8Array): Promise<VaultKey> {
    if (raw.byteLength !== 32) throw new RangeError("Cannot use vault key: it must be 32 bytes");
    const secret = raw.slice();
    const ikm = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
    const hmac = async (purpose: string) =>
      await crypto.subtle.importKey(
        "raw",
        await hkdfBits(ikm, purpose, 256),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
    const wrapBits = await hkdfBits(ikm, "hx/v1/wrap", 256);
    const wrap = await crypto.subtle.importKey("raw", wrapBits, "AES-KW", false, [
      "wrapKey",
      "unwrapKey",
    ]);
    const keyId = toHex(await hkdfBits(ikm, "hx/v1/key-id", 128));
    return new VaultKey(secret, keyId, {
      wrap,
      check: await hmac("hx/v1/key-check"),
      blobId: await hmac("hx/v1/blob-id"),
      digest: await hmac("hx/v1/digest"),
    });
  }

  /**
   * Parses a key export string (`hxk1_<vault id>_<key>_<checksum>`, all hex), as printed
   * by `hx sync key export`. Surrounding whitespace is ignored.
   *
   * @param text The export string.
   * @returns The vault id and its key.
   * @throws {HxError} `invalid_input` when the string is malformed or its checksum is wrong.
   */
  static async fromExportString(text: string): Promise<KeyExport> {
    const match = /^hxk1_([0-9a-f]{32})_([0-9a-f]{64})_([0-9a-f]{8})$/.exec(text.trim());
    if (match === null) {
      throw new HxError(
        "invalid_input",
        "Cannot read the vault key: it is not a key export string (hxk1_…, from hx sync key export)",
      );
    }
    const [, vaultHex, keyHex, sum] = match as unknown as [string, string, string, string];
    if (await checksumOf(vaultHex, keyHex) !== sum) {
      throw new HxError(
        "invalid_input",
        "Cannot read the vault key: its checksum does not match (a character was mistyped?)",
      );
    }
    const vaultId = `${vaultHex.slice(0, 8)}-${vaultHex.slice(8, 12)}-${vaultHex.slice(12, 16)}-${
      vaultHex.slice(16, 20)
    }-${vaultHex.slice(20)}`;
    return { vaultId, key: await VaultKey.fromBytes(fromHex(keyHex)) };
  }

  /**
   * The export string that {@linkcode VaultKey.fromExportString} reads. It is the secret.
   *
   * @param vaultId The vault this key opens.
   * @returns `hxk1_<vault id>_<key>_<checksum>`.
   */
  async exportString(vaultId: string): Promise<string> {
    const vaultHex = vaultId.replaceAll("-", "");
    const keyHex = toHex(this.#raw);
    return `${EXPORT_PREFIX}${vaultHex}_${keyHex}_${await checksumOf(vaultHex, keyHex)}`;
  }

  /** The raw secret, for wrapping into a passphrase key slot. */
  rawBytes(): Uint8Array {
    return this.#raw.slice();
  }

  /** Wraps a per-object AES key (AES-KW under the wrapping sub-key). */
  async wrapObjectKey(objectKey: CryptoKey): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.wrapKey("raw", objectKey, this.#wrap, "AES-KW"));
  }

  /** Unwraps a per-object AES key; rejects if the wrapped bytes were not made by this key. */
  async unwrapObjectKey(wrapped: Uint8Array): Promise<CryptoKey> {
    return await crypto.subtle.unwrapKey(
      "raw",
      wrapped as BufferSource,
      this.#wrap,
      "AES-KW",
      "AES-GCM",
      false,
      ["decrypt"],
    );
  }

  /** The key check stored in a vault descriptor: proves the key without revealing it. */
  async keyCheck(vaultId: string): Promise<string> {
    return await this.#mac(this.#check, `hx vault ${vaultId}`);
  }

  /** The store id of a blob with the given plaintext SHA-256: keyed, so the provider cannot test for known files. */
  async blobId(plainSha256: string): Promise<string> {
    return await this.#mac(this.#blobId, plainSha256);
  }

  /** A keyed digest of `text`, for comparing history across devices without revealing it. */
  async digest(text: string | Uint8Array): Promise<string> {
    return await this.#mac(this.#digest, text);
  }

  async #mac(key: CryptoKey, data: string | Uint8Array): Promise<string> {
    const bytes = typeof data === "string" ? utf8.encode(data) : data;
    return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes as BufferSource)));
  }
}
