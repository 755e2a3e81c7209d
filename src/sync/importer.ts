/**
 * Importing validated objects into the index: one transaction per segment; tombstones
 * before anything else. Import is idempotent and order-independent.
 *
 * @module
 */

import type { SegmentPayload, TombstonePayload } from "../object/payloads.ts";
import { segmentKey } from "../object/keys.ts";
import { insertArtifact } from "../vault/artifacts.ts";
import { removeCachedBlobs } from "../vault/blob_cache.ts";
import {
  type CommandIds,
  type InsertCounts,
  insertEvents,
  isCovered,
  loadWindows,
} from "../vault/events.ts";
import { markImported } from "../vault/peers.ts";
import { release } from "../vault/quarantine.ts";
import { adoptSegment } from "../vault/segments.ts";
import { insertPin, insertSession } from "../vault/sessions.ts";
import { applyDueTombstones, applyTombstone } from "../vault/tombstones.ts";
import type { DeclaredSegment } from "../vault/peers.ts";
import type { SyncContext } from "./context.ts";

/**
 * Imports a validated segment (or pack) in one transaction: events (never those a
 * tombstone covers), sessions, artifacts and pins; then records its numbers as imported. A
 * segment of this device's own node (its manifest on the store knew more than this index:
 * a restored backup) is adopted as its own.
 *
 * @param ctx The sync session.
 * @param seg The object as declared.
 * @param payload Its records.
 * @param opts `deferCounts` inside a bulk write (`startBulk`), and the command ids the
 *   caller keeps across its transactions.
 * @returns Event counts by outcome.
 */
export function importSegment(
  ctx: SyncContext,
  seg: DeclaredSegment,
  payload: SegmentPayload,
  opts: { deferCounts?: boolean; commandIds?: CommandIds } = {},
): InsertCounts {
  const db = ctx.vault.db;
  const mine = seg.node_id === ctx.vault.nodeId;
  return db.transaction(() => {
    const windows = loadWindows(db);
    const own = mine ? seg.segment_id : null;
    const counts = insertEvents(db, payload.events, {
      origin: mine ? "here" : "elsewhere",
      segmentId: own,
      windows,
      deferCounts: opts.deferCounts === true,
      ...(opts.commandIds === undefined ? {} : { commandIds: opts.commandIds }),
    });
    for (const session of payload.sessions) insertSession(db, session, own);
    for (const a of payload.artifacts) {
      if (isCovered(windows, { started_at: a.created_at, node_id: a.node_id })) continue;
      insertArtifact(db, a, { segmentId: own });
    }
    for (const pin of payload.pins) insertPin(db, pin, own);
    if (mine) adoptSegment(db, seg);
    markImported(db, seg.node_id, seg, ctx.vault.now());
    release(db, segmentKey(ctx.vaultId, seg.node_id, seg.segment_id));
    return counts;
  });
}

/** What applying tombstones did. */
export interface TombstoneCounts {
  /** Tombstones new here and applied. */
  applied: number;
  /** Tombstones new here that wait for this device's clock. */
  deferred: number;
  /** Events they removed. */
  events: number;
}

/**
 * Applies tombstones (and the deferred ones now due), removes cached blobs no artifact
 * references any more, and, when anything was deleted, checkpoints the write-ahead log so
 * that no byte of what was forgotten stays in any file of the index.
 *
 * @param ctx The sync session.
 * @param tombstones Validated tombstones.
 * @returns Counts.
 */
export async function applyTombstones(
  ctx: SyncContext,
  tombstones: readonly TombstonePayload[],
): Promise<TombstoneCounts> {
  const db = ctx.vault.db;
  const now = ctx.vault.now();
  const counts: TombstoneCounts = { applied: 0, deferred: 0, events: 0 };
  const orphaned: string[] = [];
  db.transaction(() => {
    const due = applyDueTombstones(db, now);
    counts.events += due.events;
    orphaned.push(...due.orphanedBlobs);
    for (const t of [...tombstones].sort((a, b) => a.created_at - b.created_at)) {
      const r = applyTombstone(db, t, now);
      if (r.applied && r.deferred) counts.deferred++;
      else if (r.applied) counts.applied++;
      counts.events += r.events;
      orphaned.push(...r.orphanedBlobs);
    }
  });
  await removeCachedBlobs(ctx.home.blobsDir, orphaned);
  if (counts.events > 0 || orphaned.length > 0) db.checkpoint();
  return counts;
}
