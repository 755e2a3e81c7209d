/**
 * Compaction in the index: which of this device's listed objects are rewritten into packs,
 * and which replaced objects (and erased blobs) may be deleted from the store. A pack is
 * built from the index, never downloaded; its records move to it at once, so the upload of
 * a push (or a re-push after a crash) seals it like any segment.
 *
 * @module
 */

import { uuidv7 } from "../_ids.ts";
import type { Db } from "./db.ts";
import { declaredMissing, type Peer } from "./peers.ts";
import { replaceBy } from "./segments.ts";

/** When and how this device's objects are packed. */
export interface PackPolicy {
  /** Compact once the manifest lists more objects than this (a rewrite is due anyway). */
  maxListed: number;
  /** An object holding at least this many events, and nothing forgotten, is left alone. */
  settledEvents: number;
  /** Events per pack at most. */
  maxEvents: number;
  /** Stored bytes of the objects one pack replaces, at most. */
  maxBytes: number;
}

/** The default policy (docs/sync.md, "Compaction and deletion"). */
export const PACK_POLICY: PackPolicy = {
  maxListed: 64,
  settledEvents: 5_000,
  maxEvents: 100_000,
  maxBytes: 32 * 1024 * 1024,
};

/** A pack planned: its id, the numbers it covers and how many objects it replaces. */
export interface PlannedPack {
  segment_id: string;
  first: number;
  last: number;
  replaces: number;
}

interface Listed {
  segment_id: string;
  first_no: number;
  last_no: number;
  events: number;
  bytes: number;
  dirty: number;
}

/**
 * Plans packs, in one transaction: runs of consecutive listed objects that are small or hold
 * forgotten records become one pack each (a single object only when it holds forgotten
 * records). Objects already being replaced are left to their pack. Nothing is planned
 * (unless `force`) while the manifest lists few objects and none holds forgotten records.
 *
 * @param db The index.
 * @param now The time (ms), for the packs' ids.
 * @param opts `force`: pack whatever is worth it now (`hx sync compact`); the policy.
 * @returns The packs planned (their records moved to them; upload them next).
 */
export function planPacks(
  db: Db,
  now: number,
  opts: { force?: boolean; policy?: PackPolicy } = {},
): PlannedPack[] {
  const policy = opts.policy ?? PACK_POLICY;
  return db.transaction(() => {
    const listed = db.all<Listed>(
      `SELECT segment_id, first_no, last_no, events, coalesce(bytes, 0) AS bytes, dirty
       FROM segments WHERE first_no IS NOT NULL AND sha256 IS NOT NULL
         AND replaced_at_seq IS NULL AND replaced_by IS NULL
       ORDER BY first_no`,
    );
    const dirty = listed.some((o) => o.dirty === 1);
    if (!opts.force && !dirty && listed.length <= policy.maxListed) return [];

    const runs: Listed[][] = [];
    let run: Listed[] = [];
    let events = 0;
    let bytes = 0;
    const close = () => {
      if (run.length > 1 || run.some((o) => o.dirty === 1)) runs.push(run);
      run = [];
      events = 0;
      bytes = 0;
    };
    for (const o of listed) {
      if (o.dirty === 0 && o.events >= policy.settledEvents) {
        close();
        continue;
      }
      if (
        run.length > 0 &&
        (events + o.events > policy.maxEvents || bytes + o.bytes > policy.maxBytes)
      ) {
        close();
      }
      run.push(o);
      events += o.events;
      bytes += o.bytes;
    }
    close();

    return runs.map((r) => {
      const pack: PlannedPack = {
        segment_id: uuidv7(now),
        first: r[0]!.first_no,
        last: r[r.length - 1]!.last_no,
        replaces: r.length,
      };
      db.run(
        "INSERT INTO segments (segment_id, created_at, first_no, last_no) VALUES (?, ?, ?, ?)",
        pack.segment_id,
        now,
        pack.first,
        pack.last,
      );
      replaceBy(db, r.map((o) => o.segment_id), pack.segment_id);
      return pack;
    });
  });
}

/** How long a device may stay silent and still hold deletion back (ms): 30 days. */
export const SILENT_AFTER_MS = 30 * 86_400_000;

/**
 * Whether every other device has seen this device's manifest `seq` (its latest manifest's
 * `seen` says so), or has been silent for longer than {@linkcode SILENT_AFTER_MS}. Only
 * devices whose manifest this device accepted count: one it has never read can hold nothing
 * back (deleting early costs a reader one retry, never history: docs/sync.md).
 */
function seenByAll(peers: readonly Peer[], self: string, seq: number, now: number): boolean {
  return peers.every((p) =>
    p.node_id === self || p.seq === 0 || (p.seen[self] ?? 0) >= seq ||
    (p.created_at ?? 0) < now - SILENT_AFTER_MS
  );
}

/**
 * Own objects replaced by a pack that every device has seen listed instead (or is long
 * silent), known from a listing made after the manifest that replaced them was written.
 */
export function deletableObjects(
  db: Db,
  peers: readonly Peer[],
  self: string,
  now: number,
): string[] {
  return db.all<{ segment_id: string; replaced_at_seq: number }>(
    "SELECT segment_id, replaced_at_seq FROM segments WHERE replaced_at_seq <= ?",
    pulledSeq(db),
  ).filter((o) => seenByAll(peers, self, o.replaced_at_seq, now)).map((o) => o.segment_id);
}

/**
 * This device's latest manifest seq when it last listed the store: the devices known then
 * include every device that had published by the time that manifest was written.
 */
function pulledSeq(db: Db): number {
  return Number(db.meta("pulled_seq") ?? "0");
}

/** Forgets an own object deleted from the store. */
export function forgetObject(db: Db, segmentId: string): void {
  db.run("DELETE FROM segments WHERE segment_id = ?", segmentId);
}

/** Records that the manifest `seq` carries the tombstones that erased the pending blobs. */
export function markBlobsErasable(db: Db, seq: number): void {
  db.run("UPDATE erased_blobs SET after_seq = ? WHERE after_seq IS NULL", seq);
}

/**
 * Blobs only forgotten artifacts referenced, that may be deleted from the store: every
 * device has seen (or is long silent since) a manifest of this device carrying the
 * tombstones that erased them, every object declared that it fetches is here, and no
 * artifact this device knows refers to them again.
 */
export function deletableBlobs(
  db: Db,
  peers: readonly Peer[],
  self: string,
  now: number,
): string[] {
  const rows = db.all<{ blob_hash: string; after_seq: number }>(
    "SELECT blob_hash, after_seq FROM erased_blobs WHERE after_seq <= ?",
    pulledSeq(db),
  );
  if (rows.length === 0) return [];
  if (declaredMissing(db).length > 0) return [];
  const referenced = db.prepare("SELECT 1 FROM artifacts WHERE blob_hash = ? LIMIT 1");
  const out: string[] = [];
  for (const r of rows) {
    if (!seenByAll(peers, self, r.after_seq, now)) continue;
    if (referenced.get(r.blob_hash) !== undefined) {
      db.run("DELETE FROM erased_blobs WHERE blob_hash = ?", r.blob_hash); // in use again
      continue;
    }
    out.push(r.blob_hash);
  }
  return out;
}

/** Forgets an erased blob deleted from the store. */
export function forgetErasedBlob(db: Db, blobHash: string): void {
  db.run("DELETE FROM erased_blobs WHERE blob_hash = ?", blobHash);
}
