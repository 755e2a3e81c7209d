/**
 * Passphrase key slots: the vault key encrypted under a key derived from a passphrase,
 * stored in the vault so a device can join with the passphrase alone. New slots use scrypt
 * (memory-hard, from the audited `@noble/hashes`); slots made with PBKDF2-SHA256 by earlier
 * versions stay readable. The KDF and its parameters live in the slot, so they can be raised
 * later; a reader refuses parameters beyond its bounds, so a slot planted in the store cannot
 * make a join take minutes or gigabytes.
 *
 * @module
 */

// A full npm: specifier, not a bare one: hx is imported by path or URL from projects that do
// not have hx's deno.json, where a bare specifier would not resolve.
// deno-lint-ignore no-import-prefix
import { scryptAsync } from "npm:@noble/hashes@2.0.1/scrypt.js";
import { fromBase64Url, toBase64Url, utf8 } from "../_encoding.ts";
import { uuidv7 } from "../_ids.ts";
import { IntegrityError, KeyMismatchError } from "../errors.ts";
import { decodeFrame, encodeFrame } from "../object/frame.ts";
import { FORMAT_VERSION, MAGIC, type ObjectHeader } from "../object/header.ts";
import { parseJson } from "../object/payloads.ts";
import { VaultKey } from "./vault_key.ts";

/** How a slot derives its key from the passphrase. */
export type SlotKdf =
  | { name: "scrypt"; N: number; r: number; p: number }
  | { name: "PBKDF2"; hash: "SHA-256"; iterations: number };

/** The KDF of new slots: scrypt with 128 MiB of memory (about half a second here). */
export const DEFAULT_KDF: SlotKdf = { name: "scrypt", N: 2 ** 17, r: 8, p: 1 };

/** What a reader accepts: at most 256 MiB of scrypt memory, 2 million PBKDF2 iterations. */
const BOUNDS = {
  scryptMemory: 256 * 1024 * 1024,
  maxP: 4,
  minN: 2 ** 10,
  pbkdf2Min: 1_000,
  pbkdf2Max: 2_000_000,
};

interface SlotBody {
  slot_id: string;
  vault_id: string;
  key_id: string;
  created_at: string;
  kdf: SlotKdf & { salt: string };
  alg: "A256GCM";
  nonce: string;
  ciphertext: string;
}

function withinBounds(kdf: unknown): kdf is SlotKdf & { salt: string } {
  const k = kdf as Record<string, unknown> | null;
  if (k === null || typeof k !== "object" || typeof k.salt !== "string") return false;
  if (k.name === "scrypt") {
    const { N, r, p } = k as { N: unknown; r: unknown; p: unknown };
    return Number.isInteger(N) && Number.isInteger(r) && Number.isInteger(p) &&
      (N as number) >= BOUNDS.minN && ((N as number) & ((N as number) - 1)) === 0 &&
      (r as number) >= 1 && (p as number) >= 1 && (p as number) <= BOUNDS.maxP &&
      128 * (N as number) * (r as number) <= BOUNDS.scryptMemory;
  }
  if (k.name === "PBKDF2") {
    return k.hash === "SHA-256" && Number.isInteger(k.iterations) &&
      (k.iterations as number) >= BOUNDS.pbkdf2Min && (k.iterations as number) <= BOUNDS.pbkdf2Max;
  }
  return false;
}

async function passphraseKey(
  passphrase: string,
  salt: Uint8Array,
  kdf: SlotKdf,
): Promise<CryptoKey> {
  const secret = utf8.encode(passphrase.normalize("NFC"));
  let raw: Uint8Array;
  if (kdf.name === "scrypt") {
    raw = await scryptAsync(secret, salt, {
      N: kdf.N,
      r: kdf.r,
      p: kdf.p,
      dkLen: 32,
      maxmem: BOUNDS.scryptMemory + 1024 * 1024,
    });
  } else {
    const base = await crypto.subtle.importKey("raw", secret, "PBKDF2", false, ["deriveBits"]);
    raw = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations: kdf.iterations },
        base,
        256,
      ),
    );
  }
  return await crypto.subtle.importKey("raw", raw as BufferSource, { name: "AES-GCM" }, false, [
    "encrypt",
    "decrypt",
  ]);
}

function slotAad(vaultId: string, slotId: string): Uint8Array {
  return utf8.encode(`hx key slot ${vaultId} ${slotId}`);
}

/**
 * Encrypts the vault key under a passphrase, as a key slot object.
 *
 * @param key The vault key.
 * @param vaultId The vault the slot belongs to.
 * @param passphrase The passphrase (normalised to NFC).
 * @param opts The KDF (default {@linkcode DEFAULT_KDF}).
 * @returns The slot id and the object bytes to store at its key.
 * @throws {RangeError} For a passphrase under 8 characters, or a KDF beyond what readers accept.
 */
export async function createKeySlot(
  key: VaultKey,
  vaultId: string,
  passphrase: string,
  opts: { kdf?: SlotKdf } = {},
): Promise<{ slotId: string; bytes: Uint8Array }> {
  if (passphrase.length < 8) {
    throw new RangeError(
      "Cannot create a key slot: the passphrase must have at least 8 characters",
    );
  }
  const kdf = opts.kdf ?? DEFAULT_KDF;
  const slotId = uuidv7();
  const salt = crypto.getRandomValues(new Uint8Array(16));
  if (!withinBounds({ ...kdf, salt: "x" })) {
    throw new RangeError(
      "Cannot create a key slot: its KDF parameters are beyond what readers accept",
    );
  }
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const wrapping = await passphraseKey(passphrase, salt, kdf);
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: slotAad(vaultId, slotId) as BufferSource },
    wrapping,
    key.rawBytes() as BufferSource,
  );
  const created = new Date().toISOString();
  const body: SlotBody = {
    slot_id: slotId,
    vault_id: vaultId,
    key_id: key.keyId,
    created_at: created,
    kdf: { ...kdf, salt: toBase64Url(salt) },
    alg: "A256GCM",
    nonce: toBase64Url(nonce),
    ciphertext: toBase64Url(new Uint8Array(ciphertext)),
  };
  const bodyBytes = utf8.encode(JSON.stringify(body));
  const header: ObjectHeader = {
    magic: MAGIC,
    version: FORMAT_VERSION,
    object_type: "key_slot",
    vault_id: vaultId,
    slot_id: slotId,
    created_at: created,
    byte_len_plain: bodyBytes.byteLength,
    compression: "none",
    crypto: { alg: "none" },
  };
  return { slotId, bytes: encodeFrame(utf8.encode(JSON.stringify(header)), bodyBytes) };
}

function slotBody(bytes: Uint8Array, vaultId: string): SlotBody {
  const { header, body } = decodeFrame(bytes);
  if (header.object_type !== "key_slot" || header.vault_id !== vaultId) {
    throw new IntegrityError("wrong_vault", "Cannot read key slot: it is not a slot of this vault");
  }
  const value = parseJson(body, "key slot") as Partial<SlotBody> | null;
  if (
    value === null || typeof value !== "object" || value.vault_id !== vaultId ||
    value.slot_id !== header.slot_id || value.alg !== "A256GCM" || !withinBounds(value.kdf) ||
    typeof value.nonce !== "string" || typeof value.ciphertext !== "string" ||
    typeof value.key_id !== "string"
  ) {
    throw new IntegrityError("bad_payload", "Cannot read key slot: its fields are malformed");
  }
  return value as SlotBody;
}

/**
 * Opens a key slot with a passphrase.
 *
 * @param bytes The slot object.
 * @param vaultId The vault it must belong to.
 * @param passphrase The passphrase.
 * @returns The vault key.
 * @throws {KeyMismatchError} When the passphrase is wrong.
 * @throws {IntegrityError} When the slot is malformed or of another vault.
 */
export async function openKeySlot(
  bytes: Uint8Array,
  vaultId: string,
  passphrase: string,
): Promise<VaultKey> {
  const body = slotBody(bytes, vaultId);
  let raw: ArrayBuffer;
  try {
    const wrapping = await passphraseKey(passphrase, fromBase64Url(body.kdf.salt), body.kdf);
    raw = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: fromBase64Url(body.nonce) as BufferSource,
        additionalData: slotAad(vaultId, body.slot_id) as BufferSource,
      },
      wrapping,
      fromBase64Url(body.ciphertext) as BufferSource,
    );
  } catch (err) {
    throw new KeyMismatchError("Cannot unlock the vault: the passphrase is wrong", { cause: err });
  }
  const key = await VaultKey.fromBytes(new Uint8Array(raw));
  if (key.keyId !== body.key_id) {
    throw new IntegrityError("wrong_key", "Cannot unlock the vault: the slot holds another key");
  }
  return key;
}
