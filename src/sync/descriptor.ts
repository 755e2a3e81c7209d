/**
 * The public vault descriptor (`vault.hxvault`): which vault this is, whether it is
 * encrypted, and a key check that proves a key without revealing it.
 *
 * @module
 */

import { utf8 } from "../_encoding.ts";
import { UUID_RE } from "../_ids.ts";
import type { VaultKey } from "../crypto/vault_key.ts";
import { HxError, IntegrityError, KeyMismatchError } from "../errors.ts";
import { descriptorKey } from "../object/keys.ts";
import { NotFoundError } from "../store/errors.ts";
import type { SyncStore } from "../store/types.ts";
import { decodeFrame, encodeFrame } from "../object/frame.ts";
import { FORMAT_VERSION, MAGIC, type ObjectHeader } from "../object/header.ts";
import { parseJson } from "../object/payloads.ts";

/** The vault format this hx writes and reads. */
export const VAULT_FORMAT = 2;

/** The descriptor's content. */
export interface VaultDescriptor {
  format: number;
  vault_id: string;
  /** When the vault was created (ms). */
  created_at: number;
  encrypted: boolean;
  /** Fingerprint of the vault key; `null` when not encrypted. */
  key_id: string | null;
  /** HMAC under a sub-key of the vault key; `null` when not encrypted. */
  key_check: string | null;
}

/**
 * Serialises a descriptor as an (unencrypted) object.
 *
 * @param d The descriptor.
 * @returns The object bytes.
 */
export function encodeDescriptor(d: VaultDescriptor): Uint8Array {
  const body = utf8.encode(JSON.stringify(d));
  const header: ObjectHeader = {
    magic: MAGIC,
    version: FORMAT_VERSION,
    object_type: "vault",
    vault_id: d.vault_id,
    created_at: new Date(d.created_at).toISOString(),
    byte_len_plain: body.byteLength,
    compression: "none",
    crypto: { alg: "none" },
  };
  return encodeFrame(utf8.encode(JSON.stringify(header)), body);
}

/**
 * Reads and validates a descriptor.
 *
 * @param bytes The object bytes.
 * @param vaultId The vault it must describe.
 * @returns The descriptor.
 * @throws {IntegrityError} When it is malformed or describes another vault.
 */
export function decodeDescriptor(bytes: Uint8Array, vaultId: string): VaultDescriptor {
  const { header, body } = decodeFrame(bytes);
  if (header.object_type !== "vault") {
    throw new IntegrityError("wrong_kind", "Cannot read the vault descriptor: wrong object type");
  }
  const d = parseJson(body, "vault descriptor") as Partial<VaultDescriptor> | null;
  if (
    d === null || typeof d !== "object" || typeof d.vault_id !== "string" ||
    !UUID_RE.test(d.vault_id) || typeof d.encrypted !== "boolean" ||
    typeof d.created_at !== "number" ||
    (d.encrypted && (typeof d.key_id !== "string" || typeof d.key_check !== "string"))
  ) {
    throw new IntegrityError("bad_payload", "Cannot read the vault descriptor: malformed fields");
  }
  if (d.vault_id !== vaultId || header.vault_id !== vaultId) {
    throw new IntegrityError(
      "wrong_vault",
      `Cannot read the vault descriptor: it describes ${d.vault_id}, not ${vaultId}`,
    );
  }
  const format = typeof d.format === "number" ? d.format : 1;
  if (format !== VAULT_FORMAT) {
    throw new IntegrityError(
      "unsupported_version",
      format < VAULT_FORMAT
        ? `Cannot use vault ${vaultId}: it was made by an older hx (format ${format}); create a new vault and push again`
        : `Cannot use vault ${vaultId}: it was made by a newer hx (format ${format}); upgrade hx`,
    );
  }
  return {
    format,
    vault_id: d.vault_id,
    created_at: d.created_at,
    encrypted: d.encrypted,
    key_id: d.encrypted ? d.key_id! : null,
    key_check: d.encrypted ? d.key_check! : null,
  };
}

const MAX_DESCRIPTOR_BYTES = 64 * 1024;

/**
 * Fetches and validates the descriptor of a vault.
 *
 * @param store The store.
 * @param vaultId The vault.
 * @returns The descriptor.
 * @throws {HxError} `not_found` when the store holds no such vault.
 */
export async function readDescriptor(store: SyncStore, vaultId: string): Promise<VaultDescriptor> {
  let got;
  try {
    got = await store.get(descriptorKey(vaultId), { maxBytes: MAX_DESCRIPTOR_BYTES });
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new HxError(
        "not_found",
        `Cannot open vault ${vaultId}: it does not exist at ${store.name}`,
        { code: "no_vault", cause: err },
      );
    }
    throw err;
  }
  return decodeDescriptor(got.data, vaultId);
}

/**
 * Throws unless `key` is the key the descriptor's key check proves.
 *
 * @param descriptor The vault descriptor.
 * @param key The key to check.
 * @throws {KeyMismatchError} Naming both fingerprints.
 */
export async function checkKey(descriptor: VaultDescriptor, key: VaultKey): Promise<void> {
  if (
    key.keyId !== descriptor.key_id ||
    await key.keyCheck(descriptor.vault_id) !== descriptor.key_check
  ) {
    throw new KeyMismatchError(
      `Cannot open vault ${descriptor.vault_id}: the key here (${key.keyId}) is not its key (${descriptor.key_id})`,
    );
  }
}
