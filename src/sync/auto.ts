/**
 * Auto-sync: after `hx record` (which runs detached from the shell), a sync runs when the
 * last one is older than the configured interval. Only one runs at a time (the sync lock;
 * a busy lock means someone else is syncing). A failed run is retried with exponential
 * backoff: 1 minute, then 2, 4, … up to an hour. The next attempt and the failure count are
 * kept in the index and shown by `hx sync status`.
 *
 * @module
 */

import type { Db } from "../vault/db.ts";
import type { SyncConfig } from "../vault/home.ts";

/** Minutes between automatic syncs when the configuration says nothing. */
export const DEFAULT_AUTO_SYNC_MINUTES = 10;
const RETRY_BASE_MS = 60_000;
const RETRY_CAP_MS = 3_600_000;

/** Where auto-sync stands. */
export interface AutoSyncState {
  /** Whether auto-sync runs (sync set up and an interval above zero). */
  enabled: boolean;
  /** Minutes between automatic syncs. */
  interval_minutes: number;
  /** When the next automatic sync is due (ms); `null` means at the next record. */
  next_at: number | null;
  /** Consecutive failed runs. */
  failures: number;
  /** When the last automatic sync was attempted (ms). */
  last_attempt_at: number | null;
}

/**
 * The interval configured for a device (0 turns auto-sync off): the settings file's, else
 * `hx sync auto`'s, else the default.
 */
export function autoSyncMinutes(config: SyncConfig | null, override: number | null = null): number {
  return override ?? config?.auto_sync_minutes ?? DEFAULT_AUTO_SYNC_MINUTES;
}

/**
 * Reads the auto-sync state.
 *
 * @param db The index.
 * @param config The sync configuration (`null` before sync is set up).
 * @param override The settings file's interval, if it gives one.
 */
export function readAutoSync(
  db: Db,
  config: SyncConfig | null,
  override: number | null = null,
): AutoSyncState {
  const minutes = autoSyncMinutes(config, override);
  const num = (key: string) => {
    const v = db.meta(key);
    return v === undefined ? null : Number(v);
  };
  return {
    enabled: config !== null && minutes > 0,
    interval_minutes: minutes,
    next_at: num("autosync_next_at"),
    failures: num("autosync_failures") ?? 0,
    last_attempt_at: num("autosync_last_attempt_at"),
  };
}

/** Whether an automatic sync is due now. */
export function autoSyncDue(state: AutoSyncState, now: number): boolean {
  return state.enabled && (state.next_at === null || now >= state.next_at);
}

/** The wait before retrying after `failures` consecutive failed runs. */
export function retryDelay(failures: number): number {
  return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1));
}

/** Records the outcome of an automatic sync and schedules the next one. */
export function recordAutoSync(
  db: Db,
  state: AutoSyncState,
  ok: boolean,
  now: number,
): AutoSyncState {
  const failures = ok ? 0 : state.failures + 1;
  const next = ok ? now + state.interval_minutes * 60_000 : now + retryDelay(failures);
  db.transaction(() => {
    db.setMeta("autosync_next_at", String(next));
    db.setMeta("autosync_failures", String(failures));
    db.setMeta("autosync_last_attempt_at", String(now));
  });
  return { ...state, next_at: next, failures, last_attempt_at: now };
}
