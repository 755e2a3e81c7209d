/**
 * Tombstones in the local index: forgetting here, and applying tombstones from anywhere.
 * Applying deletes everything the tombstone covers; insertion checks every applied one, so
 * forgotten history never comes back. A tombstone whose window ends ahead of this device's
 * clock is deferred until the clock gets there.
 *
 * @module
 */

import { uuidv7 } from "../_ids.ts";
import { CLOCK_SKEW_MS, type TombstonePayload } from "../object/payloads.ts";
import type { Db } from "./db.ts";
import { commandSha256, recountCommands } from "./events.ts";
import type { Vault } from "./vault.ts";

/** What applying a tombstone did. */
export interface ApplyResult {
  /** Whether the tombstone was new here (applied or deferred for the first time). */
  applied: boolean;
  /** Whether it waits for this device's clock to reach its window's end. */
  deferred: boolean;
  /** Events removed. */
  events: number;
  /** Artifacts removed. */
  artifacts: number;
  /** Blob hashes no artifact references any more: their cached files can be deleted. */
  orphanedBlobs: string[];
}

/**
 * Records a tombstone (if new) and deletes what it covers: events, the commands no event
 * runs any more (and their search entries), artifacts, and sessions left empty. A tombstone
 * whose window ends more than the clock skew past `now` is only recorded, as deferred.
 * Idempotent.
 *
 * @param db The index.
 * @param t The tombstone (validated).
 * @param now This device's clock (ms).
 * @returns What was removed.
 */
export function applyTombstone(db: Db, t: TombstonePayload, now: number): ApplyResult {
  return db.transaction(() => {
    const existing = db.get<{ deferred: number }>(
      "SELECT deferred FROM tombstones WHERE tombstone_id = ?",
      t.tombstone_id,
    );
    const deferred = t.end_ts > now + CLOCK_SKEW_MS;
    const none = { events: 0, artifacts: 0, orphanedBlobs: [] };
    if (existing !== undefined && (existing.deferred === 0 || deferred)) {
      return { applied: false, deferred: existing.deferred === 1, ...none };
    }
    if (existing === undefined) {
      db.run(
        `INSERT INTO tombstones (tombstone_id, created_by, created_at, start_ts, end_ts, node_id,
           cmd_sha256, deferred) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        t.tombstone_id,
        t.created_by,
        t.created_at,
        t.start_ts,
        t.end_ts,
        t.node_id,
        t.cmd_sha256,
        deferred ? 1 : 0,
      );
    } else {
      db.run("UPDATE tombstones SET deferred = 0 WHERE tombstone_id = ?", t.tombstone_id);
    }
    if (deferred) return { applied: true, deferred: true, ...none };
    return { applied: true, deferred: false, ...removeCovered(db, t) };
  });
}

/** Deletes what a tombstone covers. */
function removeCovered(
  db: Db,
  t: TombstonePayload,
): { events: number; artifacts: number; orphanedBlobs: string[] } {
  const nodeClause = t.node_id === null
    ? ""
    : " AND e.node_ref = (SELECT ref FROM nodes WHERE node_id = ?)";
  const args: (string | number)[] = t.node_id === null
    ? [t.start_ts, t.end_ts]
    : [t.start_ts, t.end_ts, t.node_id];
  const candidates = db.all<
    { id: number; cmd_id: number; cmd: string; segment_id: string | null }
  >(
    `SELECT e.id, e.cmd_id, e.segment_id, ${
      t.cmd_sha256 === null ? "NULL AS" : "c."
    }cmd FROM events e
     ${t.cmd_sha256 === null ? "" : "JOIN commands c ON c.id = e.cmd_id"}
     WHERE e.started_at BETWEEN ? AND ?${nodeClause}`,
    ...args,
  );
  const doomed = t.cmd_sha256 === null
    ? candidates
    : candidates.filter((e) => commandSha256(e.cmd) === t.cmd_sha256);
  const remove = db.prepare("DELETE FROM events WHERE id = ?");
  for (const e of doomed) remove.run(e.id);
  recountCommands(db, [...new Set(doomed.map((e) => e.cmd_id))]);
  // This device's objects that hold what was just removed are rewritten by compaction.
  markDirty(db, doomed.map((e) => e.segment_id));
  // Artifacts and sessions are forgotten by window (a command-only tombstone leaves them).
  if (t.cmd_sha256 !== null) return { events: doomed.length, artifacts: 0, orphanedBlobs: [] };
  const scope = t.node_id === null ? "" : " AND node_id = ?";
  const shas = db.all<{ sha256: string; blob_hash: string | null; segment_id: string | null }>(
    `SELECT sha256, blob_hash, segment_id FROM artifacts WHERE created_at BETWEEN ? AND ?${scope}`,
    ...args,
  );
  markDirty(db, shas.map((a) => a.segment_id));
  const artifacts = db.run(
    `DELETE FROM artifacts WHERE created_at BETWEEN ? AND ?${scope}`,
    ...args,
  );
  db.run(
    `DELETE FROM sessions WHERE started_at BETWEEN ? AND ?${scope}
       AND NOT EXISTS (SELECT 1 FROM events e WHERE e.session_ref = sessions.ref)`,
    ...args,
  );
  const orphanedBlobs = new Set<string>();
  for (const { sha256, blob_hash } of shas) {
    if (db.get("SELECT 1 FROM artifacts WHERE sha256 = ? LIMIT 1", sha256) === undefined) {
      db.run("DELETE FROM blobs WHERE sha256 = ?", sha256);
      orphanedBlobs.add(sha256);
      // Its copy on the store is erased too (by `sync/compact.ts`, once it is safe).
      if (blob_hash !== null) {
        db.run(
          "INSERT OR IGNORE INTO erased_blobs (blob_hash, forgotten_at) VALUES (?, ?)",
          blob_hash,
          t.created_at,
        );
      }
    }
  }
  return { events: doomed.length, artifacts, orphanedBlobs: [...orphanedBlobs] };
}

/** Marks the own objects among `segmentIds` as holding removed records (`null`s skipped). */
function markDirty(db: Db, segmentIds: readonly (string | null)[]): void {
  const mark = db.prepare("UPDATE segments SET dirty = 1 WHERE segment_id = ? AND dirty = 0");
  for (const id of new Set(segmentIds)) if (id !== null) mark.run(id);
}

/**
 * Applies the deferred tombstones whose window this device's clock has reached.
 *
 * @param db The index.
 * @param now This device's clock (ms).
 * @returns What they removed, summed.
 */
export function applyDueTombstones(db: Db, now: number): ApplyResult {
  const due = db.all<TombstonePayload>(
    `SELECT tombstone_id, created_by, created_at, start_ts, end_ts, node_id, cmd_sha256
     FROM tombstones WHERE deferred = 1 AND end_ts <= ?`,
    now + CLOCK_SKEW_MS,
  );
  const total: ApplyResult = {
    applied: false,
    deferred: false,
    events: 0,
    artifacts: 0,
    orphanedBlobs: [],
  };
  for (const t of due) {
    const r = applyTombstone(db, t, now);
    total.applied ||= r.applied;
    total.events += r.events;
    total.artifacts += r.artifacts;
    total.orphanedBlobs.push(...r.orphanedBlobs);
  }
  return total;
}

/** Every tombstone applied here (not deferred), oldest first: what this device's manifest carries. */
export function appliedTombstones(db: Db): TombstonePayload[] {
  return db.all<TombstonePayload>(
    `SELECT tombstone_id, created_by, created_at, start_ts, end_ts, node_id, cmd_sha256
     FROM tombstones WHERE deferred = 0 ORDER BY created_at, tombstone_id`,
  );
}

/** How many applied tombstones no manifest of this device has carried yet. */
export function unpublishedTombstones(db: Db): number {
  return db.get<{ n: number }>(
    "SELECT count(*) AS n FROM tombstones WHERE deferred = 0 AND published = 0",
  )!.n;
}

/** Marks every applied tombstone as carried by a written manifest. */
export function markTombstonesPublished(db: Db): void {
  db.run("UPDATE tombstones SET published = 1 WHERE deferred = 0 AND published = 0");
}

/** How many tombstones wait for this device's clock. */
export function deferredTombstones(db: Db): number {
  return db.get<{ n: number }>("SELECT count(*) AS n FROM tombstones WHERE deferred = 1")!.n;
}

/** Options of {@linkcode forget}. */
export interface ForgetOptions {
  /** Start of the window (ms, inclusive). */
  start: number;
  /** End of the window (ms, inclusive); not in the future. Default: now. */
  end?: number;
  /** Forget only this node's history. Default: every node's. */
  node?: string | null;
  /** Forget only this command (its exact text), in the window. Default: every command. */
  cmd?: string;
}

/**
 * Forgets on this device and creates the tombstone that the next push publishes, so every
 * device forgets it too.
 *
 * @param vault This device's index.
 * @param opts The window, and optionally one node or one command.
 * @returns The tombstone and what was removed locally.
 * @throws {RangeError} When the window ends before it starts, or in the future.
 */
export function forget(
  vault: Vault,
  opts: ForgetOptions,
): { tombstone: TombstonePayload } & ApplyResult {
  const now = vault.now();
  const end = opts.end ?? now;
  if (!(opts.start <= end)) throw new RangeError("Cannot forget: the window ends before it starts");
  if (end > now) {
    throw new RangeError(
      "Cannot forget: the window ends in the future (a tombstone would drop later recordings)",
    );
  }
  const tombstone: TombstonePayload = {
    tombstone_id: uuidv7(now),
    created_by: vault.nodeId,
    created_at: now,
    start_ts: opts.start,
    end_ts: end,
    node_id: opts.node ?? null,
    cmd_sha256: opts.cmd === undefined ? null : commandSha256(opts.cmd),
  };
  return { tombstone, ...applyTombstone(vault.db, tombstone, now) };
}
