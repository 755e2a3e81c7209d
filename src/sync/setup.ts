/**
 * Setting a device up for sync: creating a vault on a store (`hx sync init`), joining
 * one (`hx sync join`), and adding a passphrase key slot. Nothing is written locally
 * until the store, the vault and the key have all been checked.
 *
 * @module
 */

import { uuidv7 } from "../_ids.ts";
import { createKeySlot, openKeySlot, type SlotKdf } from "../crypto/key_slot.ts";
import { VaultKey } from "../crypto/vault_key.ts";
import { HxError, IntegrityError, KeyMismatchError } from "../errors.ts";
import { descriptorKey, keySlotKey, keySlotsPrefix } from "../object/keys.ts";
import { openStore, type OpenStoreOptions } from "../store/open.ts";
import type { SyncStore } from "../store/types.ts";
import { redactStoreUri } from "../store/uri.ts";
import type { HxHome, SyncConfig } from "../vault/home.ts";
import {
  checkKey,
  encodeDescriptor,
  readDescriptor,
  VAULT_FORMAT,
  type VaultDescriptor,
} from "./descriptor.ts";

const MAX_SMALL_OBJECT = 1024 * 1024; // key slots

/** Options shared by init and join. */
export interface SetupOptions {
  /** The store URI. */
  store: string;
  /** Environment, `fetch` and retry policy for the store. */
  storeOptions?: OpenStoreOptions;
  /** The clock (ms). */
  now?: () => number;
}

/** Options of {@linkcode initVault}. */
export interface InitOptions extends SetupOptions {
  /** Encrypt objects (default). `false` only for trusted local folders. */
  encrypt?: boolean;
  /** Also add a passphrase key slot, so devices can join with the passphrase. */
  passphrase?: string;
  /** The KDF of that slot (default: scrypt, see `DEFAULT_KDF`). */
  slotKdf?: SlotKdf;
}

/** What init created. */
export interface InitResult {
  /** The new vault's id. */
  vaultId: string;
  /** The key export string (the secret) for other devices; `null` when unencrypted. */
  keyExport: string | null;
}

function refuseIfConfigured(home: HxHome): void {
  const existing = home.readConfig();
  if (existing !== null) {
    throw new HxError(
      "invalid_input",
      `Cannot set up sync: this device already syncs vault ${existing.vault_id} with ${
        redactStoreUri(existing.store)
      }`,
      { code: "already_configured" },
    );
  }
}

/**
 * Creates a new vault on a store and sets this device up to sync with it.
 *
 * @param home This device's data directory.
 * @param opts Store, encryption and optional passphrase.
 * @returns The vault id and key export string.
 */
export async function initVault(home: HxHome, opts: InitOptions): Promise<InitResult> {
  refuseIfConfigured(home);
  const now = opts.now ?? Date.now;
  const store = await openStore(opts.store, opts.storeOptions);
  try {
    const vaultId = uuidv7(now());
    const encrypted = opts.encrypt ?? true;
    const key = encrypted ? await VaultKey.generate() : null;
    const descriptor: VaultDescriptor = {
      format: VAULT_FORMAT,
      vault_id: vaultId,
      created_at: now(),
      encrypted,
      key_id: key?.keyId ?? null,
      key_check: key === null ? null : await key.keyCheck(vaultId),
    };
    await store.putAtomic(descriptorKey(vaultId), encodeDescriptor(descriptor), { ifAbsent: true });
    if (opts.passphrase !== undefined) {
      if (key === null) {
        throw new HxError("invalid_input", "Cannot add a passphrase: the vault is not encrypted");
      }
      await addKeySlot(store, vaultId, key, opts.passphrase, opts.slotKdf);
    }
    const keyExport = key === null ? null : await key.exportString(vaultId);
    home.ensure();
    if (keyExport !== null) await home.writeKey(vaultId, keyExport);
    await home.writeConfig({
      store: opts.store,
      vault_id: vaultId,
      encrypted,
      joined_at: now(),
      ...(key === null ? {} : { verified_key_id: key.keyId }),
    });
    return { vaultId, keyExport };
  } finally {
    await store.close?.();
  }
}

/** Options of {@linkcode joinVault}: a key export string or a passphrase. */
export interface JoinOptions extends SetupOptions {
  /** The key export string from `hx sync key export`. */
  key?: string;
  /** The passphrase of a key slot (`hx sync key passphrase`). */
  passphrase?: string;
  /** Which vault, when the store holds several and no key names one. */
  vaultId?: string;
  /** Acknowledge joining a vault that does not encrypt. */
  noEncrypt?: boolean;
}

/**
 * Lists the vaults a store holds.
 *
 * @param store The store.
 * @returns Their ids.
 */
export async function discoverVaults(store: SyncStore): Promise<string[]> {
  const ids = new Set<string>();
  for await (const info of store.list("vaults/")) {
    const m = /^vaults\/([0-9a-f-]{36})\/vault\.hxvault$/.exec(info.key);
    if (m !== null) ids.add(m[1]!);
  }
  return [...ids].sort();
}

/** Passphrase slots tried at most per join (newest first): planted slots cannot make it take long. */
const SLOTS_TRIED = 4;

async function unlockWithPassphrase(
  store: SyncStore,
  vaultId: string,
  passphrase: string,
): Promise<VaultKey> {
  const slots: string[] = [];
  for await (const info of store.list(keySlotsPrefix(vaultId))) {
    if (/\/[0-9a-f-]{36}\.hxkey$/.test(info.key)) slots.push(info.key);
  }
  if (slots.length === 0) {
    throw new HxError("not_found", `Cannot join: vault ${vaultId} has no passphrase key slot`, {
      code: "no_key_slot",
    });
  }
  // Slot ids are time-ordered: the newest slots are tried, at most a few.
  for (const key of slots.sort().reverse().slice(0, SLOTS_TRIED)) {
    const got = await store.get(key, { maxBytes: MAX_SMALL_OBJECT });
    try {
      return await openKeySlot(got.data, vaultId, passphrase);
    } catch (err) {
      if (err instanceof KeyMismatchError || err instanceof IntegrityError) continue;
      throw err;
    }
  }
  throw new KeyMismatchError(
    slots.length > SLOTS_TRIED
      ? `Cannot join: the passphrase opens none of the ${SLOTS_TRIED} newest of ${slots.length} key slots`
      : "Cannot join: the passphrase is wrong",
    { hint: "check the passphrase, or join with the key instead" },
  );
}

/**
 * Joins an existing vault: checks that it exists and that the key (or passphrase)
 * unlocks it, then stores the key and the configuration. A wrong key writes nothing.
 *
 * @param home This device's data directory.
 * @param opts Store and key or passphrase.
 * @returns The vault id.
 */
export async function joinVault(home: HxHome, opts: JoinOptions): Promise<{ vaultId: string }> {
  refuseIfConfigured(home);
  const now = opts.now ?? Date.now;
  let vaultId = opts.vaultId;
  let key: VaultKey | null = null;
  if (opts.key !== undefined) {
    const parsed = await VaultKey.fromExportString(opts.key);
    if (vaultId !== undefined && vaultId !== parsed.vaultId) {
      throw new HxError(
        "invalid_input",
        `Cannot join: the key is for vault ${parsed.vaultId}, not ${vaultId}`,
      );
    }
    vaultId = parsed.vaultId;
    key = parsed.key;
  }
  const store = await openStore(opts.store, opts.storeOptions);
  try {
    if (vaultId === undefined) {
      const found = await discoverVaults(store);
      if (found.length === 0) {
        throw new HxError("not_found", `Cannot join: there is no vault at ${store.name}`, {
          code: "no_vault",
        });
      }
      if (found.length > 1) {
        throw new HxError(
          "invalid_input",
          `Cannot join: ${store.name} holds ${found.length} vaults (${found.join(", ")})`,
          { code: "several_vaults" },
        );
      }
      vaultId = found[0]!;
    }
    const descriptor = await readDescriptor(store, vaultId);
    if (!descriptor.encrypted) {
      if (!opts.noEncrypt) {
        throw new HxError("invalid_input", `Cannot join: vault ${vaultId} does not encrypt`, {
          code: "unencrypted_vault",
        });
      }
      key = null;
    } else {
      if (opts.noEncrypt) {
        throw new HxError("invalid_input", `Cannot join: vault ${vaultId} is encrypted`, {
          code: "key_needed",
        });
      }
      if (key === null) {
        if (opts.passphrase === undefined) {
          throw new HxError("invalid_input", `Cannot join: vault ${vaultId} is encrypted`, {
            code: "key_needed",
          });
        }
        key = await unlockWithPassphrase(store, vaultId, opts.passphrase);
      }
      await checkKey(descriptor, key);
    }
    const config: SyncConfig = {
      store: opts.store,
      vault_id: vaultId,
      encrypted: descriptor.encrypted,
      joined_at: now(),
      ...(key === null ? {} : { verified_key_id: key.keyId }),
    };
    home.ensure();
    if (key !== null) await home.writeKey(vaultId, await key.exportString(vaultId));
    await home.writeConfig(config);
    return { vaultId };
  } finally {
    await store.close?.();
  }
}

/**
 * Stores a passphrase key slot for the vault.
 *
 * @param store The store.
 * @param vaultId The vault.
 * @param key The vault key.
 * @param passphrase At least 8 characters.
 * @param kdf The KDF (default: scrypt).
 * @returns The slot id.
 */
export async function addKeySlot(
  store: SyncStore,
  vaultId: string,
  key: VaultKey,
  passphrase: string,
  kdf?: SlotKdf,
): Promise<string> {
  const { slotId, bytes } = await createKeySlot(
    key,
    vaultId,
    passphrase,
    kdf === undefined ? {} : { kdf },
  );
  await store.putAtomic(keySlotKey(vaultId, slotId), bytes, { ifAbsent: true });
  return slotId;
}
