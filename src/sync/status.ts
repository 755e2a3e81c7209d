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
  /** The device's node id. */
  node_id: string;
  /** Its host name, as it reported it. */
  host: string | null;
  /** The seq of its latest manifest seen here. */
  manifest_seq: number;
  /** When its latest manifest was written (ms). */
  last_push_at: number;
  /** Segments its manifest lists. */
  segments: number;
  /** Tombstones its manifest lists. */
  tombstones: number;
  /** Whether it is this device. */
  this_device: boolean;
}

/** The status of sync on this device. */
export interface SyncStatus {
  /** Whether sync is set up on this device (`hx sync init` or `join`). */
  configured: boolean;
  /** The data directory. */
  home: string;
  /** This device's node id. */
  node_id: string;
  /** The store URI with secrets hidden. */
  store: string | null;
  /** The vault this device syncs with. */
  vault_id: string | null;
  /** Whether the vault encrypts objects. */
  encrypted: boolean | null;
  /** Commands in the local index. */
  events: number;
  /** This device's commands and tombstones not yet listed by a published manifest. */
  pending: { events: number; tombstones: number };
  /** The latest push, successful or not. */
  last_push: RunRecord | null;
  /** The latest pull, successful or not. */
  last_pull: RunRecord | null;
  /** When the latest successful push ended (ms). */
  last_successful_push: number | null;
  /** When the latest successful pull ended (ms). */
  last_successful_pull: number | null;
  /** The latest run that failed or recorded a failure: category, message and what to do. */
  last_error: {
    at: number;
    kind: string;
    category: ErrorCategory;
    message: string;
    hint: string | null;
  } | null;
  /** Objects that failed to import, retried on every pull. */
  quarantine: QuarantineEntry[];
  /** Every device of the vault, as its latest manifest showed it. */
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
