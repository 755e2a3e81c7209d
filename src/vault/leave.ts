/**
 * What the index knows about one vault, forgotten when the device leaves it: its own objects
 * there, the other devices' manifests, what was imported and quarantined. History stays.
 *
 * @module
 */

import type { Db } from "./db.ts";

/** What {@linkcode forgetVaultState} kept. */
export interface LeftState {
  /** Commands this device would publish to the next vault it joins (its own, and imports). */
  own_events: number;
  /** Commands other devices recorded: kept here, not carried into another vault. */
  other_events: number;
}

/**
 * Forgets every trace of the vault in the index, in one transaction, so that the next vault
 * this device joins (another, or the same one again) gets all of its history afresh. The
 * counters that name objects (`manifest_seq`, `segment_no`) are kept: a device that rejoins
 * the same vault must not reuse a seq or a segment number the other devices have seen.
 *
 * @param db The index.
 * @returns How much history stays, and whose.
 */
export function forgetVaultState(db: Db): LeftState {
  return db.transaction(() => {
    db.exec(`
      UPDATE events SET segment_id = NULL WHERE origin = 0 AND segment_id IS NOT NULL;
      UPDATE sessions SET segment_id = NULL WHERE segment_id IS NOT NULL;
      UPDATE pins SET segment_id = NULL WHERE segment_id IS NOT NULL;
      -- a blob's name on the store is keyed by the vault key
      UPDATE artifacts SET segment_id = NULL, blob_hash = NULL
        WHERE node_id = (SELECT value FROM meta WHERE key = 'node_id');
      UPDATE blobs SET uploaded = 0;
      UPDATE tombstones SET published = 0;
      DELETE FROM segments;
      DELETE FROM peers;
      DELETE FROM declared;
      DELETE FROM imported;
      DELETE FROM quarantine;
      DELETE FROM erased_blobs;
      DELETE FROM runs WHERE kind IN ('push', 'pull');
      DELETE FROM meta WHERE key LIKE 'autosync_%'
        OR key IN ('uploads_swept_at', 'pulled_seq', 'ack_due', 'pull_since');
    `);
    return db.get<LeftState>(
      `SELECT coalesce(sum(origin = 0), 0) AS own_events, coalesce(sum(origin = 1), 0) AS other_events
       FROM events`,
    )!;
  });
}
