/**
 * Passphrase key slots: the vault key encrypted under a key derived from a passphrase
 * (PBKDF2-SHA256 in WebCrypto), stored in the vault so a device can join with the
 * passphrase alone. The KDF parameters live in the slot so they can be raised later.
 *
 * @module
 */

import { fromBase64Url, toBase64Url, utf8 } from "../_encoding.ts";
import { uuidv7 } from "../_ids.ts";
import { IntegrityError, KeyMismatchError } from "../errors.ts";
import { decodeFrame, encodeFrame } from "../object/frame.ts";
import { FORMAT_VERSION, MAGIC, type ObjectHeader } from "../object/header.ts";
import { parseJson } from "../object/payloads.ts";
import { VaultKey } from "./vault_key.ts";

/** PBKDF2 iterations for new slots (OWASP 2023 guidance for PBKDF2-HMAC-SHA256). */
export const DEFAULT_ITERATIONS = 600_000;
const MIN_ITERATIONS = 1_000;
const MAX_ITERATIONS = 20_000_000;

interface SlotBody {
  slot_id: string;
  vault_id: string;
  key_id: string;
  created_at: string;
  kdf: { name: "PBKDF2"; hash: "SHA-256"; iterations: number; salt: string };
  alg: "A256GCM";
  nonce: string;
  ciphertext: string;
}

async function passphraseKey(
  passphrase: string,
  salt: Uint8Array,
  iterations: number,
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey(
    "raw",
    utf8.encode(passphrase.normalize("NFC")),
    "PBKDF2",
    false,
    [
      "deriveKey",
    ],
  );
  return await crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
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
 * @param opts PBKDF2 iterations (default {@linkcode DEFAULT_ITERATIONS}).
 * @returns The slot id and the object bytes to store at its key.
 */
export async function createKeySlot(
  key: VaultKey,
  vaultId: string,
  passphrase: string,
  opts: { iterations?: number } = {},
): Promise<{ slotId: string; bytes: Uint8Array }> {
  if (passphrase.length < 8) {
    throw new RangeError(
      "Cannot create a key slot: the passphrase must have at least 8 characters",
    );
  }
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  const slotId = uuidv7();
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const wrapping = await passphraseKey(passphrase, salt, iterations);
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
    kdf: { name: "PBKDF2", hash: "SHA-256", iterations, salt: toBase64Url(salt) },
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
  const kdf = value?.kdf;
  if (
    value === null || typeof value !== "object" || value.vault_id !== vaultId ||
    value.slot_id !== header.slot_id || value.alg !== "A256GCM" || kdf?.name !== "PBKDF2" ||
    kdf.hash !== "SHA-256" || typeof kdf.salt !== "string" || typeof value.nonce !== "string" ||
    typeof value.ciphertext !== "string" || typeof value.key_id !== "string" ||
    !Number.isInteger(kdf.iterations) || kdf.iterations < MIN_ITERATIONS ||
    kdf.iterations > MAX_ITERATIONS
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
    const wrapping = await passphraseKey(
      passphrase,
      fromBase64Url(body.kdf.salt),
      body.kdf.iterations,
    );
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
