/**
 * Everything a sync run needs: the index, the configuration, the store (metered and
 * retrying) and the vault key.
 *
 * @module
 */

import { VaultKey } from "../crypto/vault_key.ts";
import { HxError } from "../errors.ts";
import { Meter } from "../store/metered.ts";
import { openStore, type OpenStoreOptions } from "../store/open.ts";
import type { SyncStore } from "../store/types.ts";
import type { HxHome, SyncConfig } from "../vault/home.ts";
import type { Vault } from "../vault/vault.ts";
import { checkKey, readDescriptor } from "./descriptor.ts";

/** An open sync session of one device. */
export interface SyncContext {
  home: HxHome;
  vault: Vault;
  config: SyncConfig;
  vaultId: string;
  store: SyncStore;
  /** `null` for an unencrypted vault. */
  key: VaultKey | null;
  /** Counts the requests of this session. */
  meter: Meter;
}

/**
 * Reads this device's sync configuration and key, failing clearly when sync is not set
 * up. Touches nothing on disk.
 *
 * @param home The data directory.
 * @returns The configuration and the key (`null` for unencrypted vaults).
 * @throws {HxError} `precondition` (code `not_configured`) before setup; `auth` (code
 *   `key_missing`) when the key file is missing or for another vault.
 */
export async function loadSyncSetup(
  home: HxHome,
): Promise<{ config: SyncConfig; key: VaultKey | null }> {
  const config = home.readConfig();
  if (config === null) {
    throw new HxError("precondition", "Cannot sync: this device is not set up for sync", {
      code: "not_configured",
    });
  }
  if (!config.encrypted) return { config, key: null };
  const exported = await home.readKey(config.vault_id);
  if (exported === null) {
    throw new HxError(
      "auth",
      `Cannot sync: the vault key is missing (${home.keyPath(config.vault_id)})`,
      { code: "key_missing" },
    );
  }
  const { vaultId, key } = await VaultKey.fromExportString(exported);
  if (vaultId !== config.vault_id) {
    throw new HxError("auth", `Cannot sync: the stored key is for vault ${vaultId}`, {
      code: "key_missing",
    });
  }
  return { config, key };
}

/**
 * Opens a sync session.
 *
 * @param home The data directory.
 * @param vault The open index.
 * @param storeOptions Environment and retry policy for the store.
 * @returns The session; close its store when done.
 */
export async function openSyncContext(
  home: HxHome,
  vault: Vault,
  storeOptions: OpenStoreOptions = {},
): Promise<SyncContext> {
  const { config, key } = await loadSyncSetup(home);
  const meter = storeOptions.meter ?? new Meter();
  const store = await openStore(config.store, { ...storeOptions, meter });
  return { home, vault, config, vaultId: config.vault_id, store, key, meter };
}

/**
 * Checks once per key that this device's key is the vault's (against the descriptor's key
 * check), so a wrong key is named before anything is imported or pushed, not met as one
 * decrypt failure per object. The result is remembered in the sync configuration by key
 * fingerprint (init and join record the key they proved), so later runs make no request.
 *
 * @param ctx The sync session.
 * @throws {KeyMismatchError} When the key is not the vault's.
 */
export async function verifyKey(ctx: SyncContext): Promise<void> {
  if (ctx.key === null || ctx.config.verified_key_id === ctx.key.keyId) return;
  const descriptor = await readDescriptor(ctx.store, ctx.vaultId);
  if (!descriptor.encrypted) {
    throw new HxError("corrupt", `Cannot sync: vault ${ctx.vaultId} says it is not encrypted`, {
      hint: "the vault descriptor was replaced; check the store",
    });
  }
  await checkKey(descriptor, ctx.key);
  ctx.config = { ...ctx.config, verified_key_id: ctx.key.keyId };
  await ctx.home.writeConfig(ctx.config);
}
