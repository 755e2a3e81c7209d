/**
 * What `hx sync status` reports: setup, last runs, errors, quarantine, pending work and
 * every device's last push as seen in its manifest.
 *
 * @module
 */

import type { ErrorCategory } from "../errors.ts";
import { redactStoreUri } from "../store/uri.ts";
import type { HxHome } from "../vault/home.ts";
import type { Vault } from "../vault/vault.ts";
import { OWN_NODE_REF } from "../vault/events.ts";
import { type AutoSyncState, readAutoSync } from "./auto.ts";
import { listQuarantine, type QuarantineEntry } from "./quarantine.ts";
import { lastError, lastRun, lastSuccessfulRun, type RunRecord } from "./runs.ts";

/** One device of the vault, as its manifest last showed it. */
export interface DeviceStatus {
  node_id: string;
  host: string | null;
  manifest_seq: number;
  /** When its latest manifest was written (ms). */
  last_push_at: number;
  segments: number;
  tombstones: number;
  this_device: boolean;
}

/** The status of sync on this device. */
export interface SyncStatus {
  configured: boolean;
  home: string;
  node_id: string;
  /** The store URI with secrets hidden. */
  store: string | null;
  vault_id: string | null;
  encrypted: boolean | null;
  events: number;
  pending: { events: number; tombstones: number };
  last_push: RunRecord | null;
  last_pull: RunRecord | null;
  last_successful_push: number | null;
  last_successful_pull: number | null;
  last_error: {
    at: number;
    kind: string;
    category: ErrorCategory;
    message: string;
    hint: string | null;
  } | null;
  quarantine: QuarantineEntry[];
  devices: DeviceStatus[];
  /** Automatic sync after recording: interval, next attempt, consecutive failures. */
  auto_sync: AutoSyncState;
  /** Until when recording is paused (ms, `null` if recording; a far future means until resumed). */
  paused_until: number | null;
}

/**
 * Collects the sync status. Works before sync is set up (and says so).
 *
 * @param home The data directory.
 * @param vault The open index.
 * @returns The status.
 */
export async function syncStatus(home: HxHome, vault: Vault): Promise<SyncStatus> {
  const db = vault.db;
  const config = await home.readConfig();
  const count = (sql: string, ...args: (string | number)[]) =>
    db.get<{ n: number }>(sql, ...args)!.n;
  const error = lastError(db);
  const devices = db.all<
    Omit<DeviceStatus, "this_device" | "last_push_at"> & { created_at: number }
  >(
    "SELECT node_id, host, manifest_seq, created_at, segments, tombstones FROM manifests_seen ORDER BY created_at DESC",
  ).map(({ created_at, ...d }) => ({
    ...d,
    last_push_at: created_at,
    this_device: d.node_id === vault.nodeId,
  }));
  return {
    configured: config !== null,
    home: home.path,
    node_id: vault.nodeId,
    store: config === null ? null : redactStoreUri(config.store),
    vault_id: config?.vault_id ?? null,
    encrypted: config?.encrypted ?? null,
    events: count("SELECT count(*) AS n FROM events"),
    pending: {
      events: count(
        `SELECT count(*) AS n FROM events WHERE node_ref = ? AND (segment_id IS NULL OR segment_id IN
           (SELECT segment_id FROM segments WHERE published = 0))`,
        OWN_NODE_REF,
      ),
      tombstones: count(
        "SELECT count(*) AS n FROM tombstones WHERE created_by = ? AND published = 0",
        vault.nodeId,
      ),
    },
    last_push: lastRun(db, "push"),
    last_pull: lastRun(db, "pull"),
    last_successful_push: lastSuccessfulRun(db, "push")?.ended_at ?? null,
    last_successful_pull: lastSuccessfulRun(db, "pull")?.ended_at ?? null,
    last_error: error === null || error.error_category === null ? null : {
      at: error.ended_at ?? error.started_at,
      kind: error.kind,
      category: error.error_category,
      message: error.error_message ?? "",
      hint: error.error_hint,
    },
    quarantine: listQuarantine(db),
    devices,
    auto_sync: readAutoSync(db, config),
    paused_until: await home.pausedUntil(vault.now()).then((
      u,
    ) => (u === Infinity ? Number.MAX_SAFE_INTEGER : u)),
  };
}
