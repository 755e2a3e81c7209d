/**
 * What `hx sync status` reports: setup, last runs, errors, a summary of the quarantine,
 * pending work, and every device as its latest manifest showed it.
 *
 * @module
 */

import type { ErrorCategory } from "../errors.ts";
import { redactStoreUri } from "../store/uri.ts";
import { countEvents } from "../vault/events.ts";
import type { HxHome } from "../vault/home.ts";
import { listPeers, notLocal, pullSince } from "../vault/peers.ts";
import { type QuarantineSummary, summarizeQuarantine } from "../vault/quarantine.ts";
import { lastError, lastRun, lastSuccessfulRun, type RunRecord } from "../vault/runs.ts";
import { pendingEvents } from "../vault/segments.ts";
import { deferredTombstones, unpublishedTombstones } from "../vault/tombstones.ts";
import type { Vault } from "../vault/vault.ts";
import { type AutoSyncState, readAutoSync } from "./auto.ts";

/** One device of the vault, as its manifest last showed it. */
export interface DeviceStatus {
  /** The device's node id. */
  node_id: string;
  /** Its host name, as it reported it. */
  host: string | null;
  /** The seq of its latest manifest accepted here (0: none yet). */
  manifest_seq: number;
  /** When its latest manifest was written (ms), if one was accepted. */
  last_push_at: number | null;
  /** Objects its manifest lists. */
  segments: number;
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
  /**
   * This device's commands and tombstones no published manifest lists yet, and tombstones
   * waiting for this device's clock.
   */
  pending: { events: number; tombstones: number; deferred_tombstones: number };
  /** The latest push, successful or not. */
  last_push: RunRecord | null;
  /** The latest pull, successful or not. */
  last_pull: RunRecord | null;
  /** When the latest successful push ended (ms). */
  last_successful_push: number | null;
  /** When the latest successful pull ended (ms). */
  last_successful_pull: number | null;
  /** The latest run that failed or recorded a failure: category, message, code and hint. */
  last_error: {
    at: number;
    kind: string;
    category: ErrorCategory;
    message: string;
    code: string | null;
    hint: string | null;
  } | null;
  /**
   * History this device leaves on the store (it joined with `--since`): since when it
   * fetches (ms), and the objects and events older than that not here.
   */
  not_local: { since: number; objects: number; events: number } | null;
  /** Objects that failed to import: how many, by category, and the oldest few. */
  quarantine: QuarantineSummary;
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
export function syncStatus(home: HxHome, vault: Vault): SyncStatus {
  const db = vault.db;
  const config = home.readConfig();
  const error = lastError(db);
  const devices = listPeers(db).filter((p) => p.seq > 0).map((p) => ({
    node_id: p.node_id,
    host: p.host,
    manifest_seq: p.seq,
    last_push_at: p.created_at,
    segments: p.segments,
    this_device: p.node_id === vault.nodeId,
  }));
  const paused = home.pausedUntil(vault.now());
  const since = pullSince(db);
  return {
    configured: config !== null,
    home: home.path,
    node_id: vault.nodeId,
    store: config === null ? null : redactStoreUri(config.store),
    vault_id: config?.vault_id ?? null,
    encrypted: config?.encrypted ?? null,
    events: countEvents(db),
    pending: {
      events: pendingEvents(db),
      tombstones: unpublishedTombstones(db),
      deferred_tombstones: deferredTombstones(db),
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
      code: error.error_code,
      hint: error.error_hint,
    },
    not_local: since === null ? null : { since, ...notLocal(db) },
    quarantine: summarizeQuarantine(db),
    devices,
    auto_sync: readAutoSync(db, config, home.autoSyncOverride),
    paused_until: paused === Infinity ? Number.MAX_SAFE_INTEGER : paused,
  };
}
