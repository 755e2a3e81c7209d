/**
 * Tombstones in the local index: forgetting a window here, and applying tombstones from
 * anywhere. Applying deletes everything the window covers; insertion checks every applied
 * window, so forgotten history never comes back.
 *
 * @module
 */

import { uuidv7 } from "../_ids.ts";
import type { TombstonePayload } from "../object/payloads.ts";
import type { Db } from "./db.ts";
import type { Vault } from "./vault.ts";

/** What applying a tombstone removed. */
export interface ApplyResult {
  /** Whether the tombstone was new here. */
  applied: boolean;
  /** Events removed. */
  events: number;
  /** Artifacts removed. */
  artifacts: number;
  /** Blob hashes no artifact references any more: their cached files can be deleted. */
  orphanedBlobs: string[];
}

/** Limits a statement to one node's rows: by interned ref for events, by id elsewhere. */
function scopeClause(node: string | null, column: "node_ref" | "node_id"): string {
  if (node === null) return "";
  return column === "node_id"
    ? " AND node_id = ?"
    : " AND node_ref = (SELECT ref FROM nodes WHERE node_id = ?)";
}

/**
 * Records a tombstone (if new) and deletes what it covers: events, their FTS rows (by
 * trigger), artifacts, and sessions left empty. Idempotent.
 *
 * @param db The index.
 * @param t The tombstone.
 * @returns What was removed.
 */
export function applyTombstone(db: Db, t: TombstonePayload): ApplyResult {
  return db.transaction(() => {
    const applied = db.run(
      `INSERT OR IGNORE INTO tombstones (tombstone_id, created_by, created_at, start_ts, end_ts, node_id)
       VALUES (?, ?, ?, ?, ?, ?)`,
      t.tombstone_id,
      t.created_by,
      t.created_at,
      t.start_ts,
      t.end_ts,
      t.node_id,
    ) > 0;
    const scope = scopeClause(t.node_id, "node_id");
    const args = t.node_id === null ? [t.start_ts, t.end_ts] : [t.start_ts, t.end_ts, t.node_id];
    const events = db.run(
      `DELETE FROM events WHERE started_at BETWEEN ? AND ?${scopeClause(t.node_id, "node_ref")}`,
      ...args,
    );
    const doomed = db.all<{ sha256: string }>(
      `SELECT DISTINCT sha256 FROM artifacts WHERE created_at BETWEEN ? AND ?${scope}`,
      ...args,
    );
    const artifacts = db.run(
      `DELETE FROM artifacts WHERE created_at BETWEEN ? AND ?${scope}`,
      ...args,
    );
    db.run(
      `DELETE FROM sessions WHERE started_at BETWEEN ? AND ?${scope}
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_ref = sessions.ref)`,
      ...args,
    );
    const orphanedBlobs: string[] = [];
    for (const { sha256 } of doomed) {
      const used = db.get("SELECT 1 FROM artifacts WHERE sha256 = ? LIMIT 1", sha256);
      if (used === undefined) {
        db.run("DELETE FROM blobs WHERE sha256 = ?", sha256);
        orphanedBlobs.push(sha256);
      }
    }
    return { applied, events, artifacts, orphanedBlobs };
  });
}

/** Options of {@linkcode forget}. */
export interface ForgetOptions {
  /** Start of the window (ms, inclusive). */
  start: number;
  /** End of the window (ms, inclusive). Default: now. */
  end?: number;
  /** Forget only this node's history. Default: every node's. */
  node?: string | null;
}

/**
 * Forgets a window on this device and creates the tombstone that the next push
 * publishes, so every device forgets it too.
 *
 * @param vault This device's index.
 * @param opts The window.
 * @returns The tombstone and what was removed locally.
 */
export function forget(
  vault: Vault,
  opts: ForgetOptions,
): { tombstone: TombstonePayload } & ApplyResult {
  const now = vault.now();
  const end = opts.end ?? now;
  if (!(opts.start <= end)) throw new RangeError("Cannot forget: the window ends before it starts");
  const tombstone: TombstonePayload = {
    tombstone_id: uuidv7(now),
    created_by: vault.nodeId,
    created_at: now,
    start_ts: opts.start,
    end_ts: end,
    node_id: opts.node ?? null,
  };
  return { tombstone, ...applyTombstone(vault.db, tombstone) };
}
