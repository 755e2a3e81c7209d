/**
 * The store side of compaction: deleting this device's objects that packs replaced, and
 * blobs only forgotten artifacts referenced, once every device has seen a manifest without
 * them (or has been silent for 30 days). Only a node deletes, and only its own objects
 * (blobs, shared by content, are deleted by a device that erased every reference it knows).
 * Planning packs is `vault/packs.ts`; a push uploads them like any segment.
 *
 * @module
 */

import { forEachConcurrent } from "../_pool.ts";
import { blobKey, segmentKey } from "../object/keys.ts";
import {
  deletableBlobs,
  deletableObjects,
  forgetErasedBlob,
  forgetObject,
} from "../vault/packs.ts";
import { listPeers } from "../vault/peers.ts";
import type { SyncContext } from "./context.ts";
import { DEFAULT_CONCURRENCY } from "./limits.ts";

/** What a deletion pass did. */
export interface DeletionCounts {
  /** Own objects (replaced segments and packs) deleted from the store. */
  objects: number;
  /** Erased blobs deleted from the store. */
  blobs: number;
  /** Replaced objects still waiting for a device to see the manifest that replaced them. */
  waiting: number;
}

/**
 * Deletes from the store what is due: replaced own objects and erased blobs. Deleting is
 * idempotent, so a pass killed midway is finished by the next.
 *
 * @param ctx The sync session.
 * @param signal Aborts the pass; what was deleted stays forgotten.
 * @returns Counts.
 */
export async function deleteReplaced(
  ctx: SyncContext,
  signal?: AbortSignal,
): Promise<DeletionCounts> {
  const db = ctx.vault.db;
  const self = ctx.vault.nodeId;
  const now = ctx.vault.now();
  const peers = listPeers(db);
  const objects = deletableObjects(db, peers, self, now);
  const blobs = deletableBlobs(db, peers, self, now);
  const opts = signal === undefined ? {} : { signal };
  const limit = Math.min(DEFAULT_CONCURRENCY, ctx.store.capabilities.maxConcurrency);
  await forEachConcurrent(objects, limit, async (id) => {
    await ctx.store.delete(segmentKey(ctx.vaultId, self, id), opts);
    forgetObject(db, id);
  });
  await forEachConcurrent(blobs, limit, async (hash) => {
    await ctx.store.delete(blobKey(ctx.vaultId, hash), opts);
    forgetErasedBlob(db, hash);
  });
  const waiting = db.get<{ n: number }>(
    "SELECT count(*) AS n FROM segments WHERE replaced_at_seq IS NOT NULL",
  )!.n;
  return { objects: objects.length, blobs: blobs.length, waiting };
}
