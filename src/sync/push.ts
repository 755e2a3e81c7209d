/**
 * Push: (1) seal this device's unpublished events into segments, assigning segment ids in the
 * index first so that a crash and a re-push upload the same ids; (2) upload blobs and
 * segments; (3) number what was uploaded; (4) write this node's manifest with the next seq,
 * last. A crash at any step leaves the store valid, and the next push finishes the job
 * without duplicates.
 *
 * @module
 */

import { sha256Hex } from "../_encoding.ts";
import { forEachConcurrent, oneAtATime } from "../_pool.ts";
import { sealObject } from "../crypto/envelope.ts";
import { segmentKey, vaultPrefix } from "../object/keys.ts";
import type { MeterDelta } from "../store/metered.ts";
import { PACK_POLICY, type PackPolicy, planPacks } from "../vault/packs.ts";
import { finishRun, startRun } from "../vault/runs.ts";
import {
  dropSegment,
  markClean,
  markUploaded,
  pendingUploads,
  sealPending,
  segmentPayload,
} from "../vault/segments.ts";
import {
  assignBlobIds,
  blobsToUpload,
  type BlobUploadCounts,
  uploadPendingBlobs,
} from "./blobs.ts";
import { deleteReplaced, type DeletionCounts } from "./compact.ts";
import { type SyncContext, verifyKey } from "./context.ts";
import {
  DEFAULT_CONCURRENCY,
  SEGMENT_MAX_BYTES,
  SEGMENT_MAX_EVENTS,
  STALE_UPLOAD_MS,
} from "./limits.ts";
import { publishManifest } from "./manifest.ts";
import { checkOwnManifest } from "./pull.ts";

/** Options of {@linkcode push}. */
export interface PushOptions {
  /** Aborts the push; what was uploaded stays valid and the next push goes on. */
  signal?: AbortSignal;
  /** Objects uploaded at once. */
  concurrency?: number;
  /** Events per segment at most. */
  maxSegmentEvents?: number;
  /** Approximate plaintext bytes per segment at most. */
  maxSegmentBytes?: number;
  /** Rewrite the manifest even with nothing new (a pull found the one on the store older). */
  republish?: boolean;
  /**
   * Pack every run of small objects now (`hx sync compact`). Without it a push packs only
   * when the manifest lists many objects, or objects hold forgotten records.
   */
  compact?: boolean;
  /** When and how objects are packed (default {@linkcode PACK_POLICY}). */
  packPolicy?: PackPolicy;
  /** Told about progress through the objects to upload. */
  onProgress?: (done: number, total: number) => void;
  /** Told about bytes of blobs uploaded. */
  onBlobProgress?: (done: number, total: number) => void;
}

/** What a push did. */
export interface PushCounts {
  /** Segments sealed by this push. */
  sealed: number;
  /** Segments uploaded. */
  segments: { uploaded: number };
  /** Events in the uploaded segments. */
  events: number;
  /** Attached blobs uploaded, and those the store already had. */
  blobs: BlobUploadCounts;
  /** Unfinished uploads aborted (a killed push's, or stale ones). */
  aborted_uploads: number;
  /**
   * Compaction: packs written (and the objects they replace), and what was deleted from the
   * store (objects every device has seen replaced, erased blobs); `failed` deletions are
   * tried again by the next push.
   */
  compaction: {
    packs: number;
    replaced: number;
    deleted: DeletionCounts & { failed: number };
  };
  /** Bytes uploaded. */
  bytes: number;
  /** The seq of the manifest written, or `null` when there was nothing to publish. */
  manifest_seq: number | null;
}

/** What {@linkcode push} returns. */
export interface PushResult extends PushCounts {
  /** HTTP requests (or store calls) this push made, by kind. */
  requests: MeterDelta["requests"];
  /** Retries, by the category of the failure that caused them. */
  retries: MeterDelta["retries"];
}

/**
 * Pushes this device's unpublished history to the store.
 *
 * @param ctx The sync session.
 * @param opts Abort signal, concurrency, segment bounds and progress.
 * @returns Counts and the requests made.
 */
export async function push(ctx: SyncContext, opts: PushOptions = {}): Promise<PushResult> {
  const db = ctx.vault.db;
  const before = ctx.meter.snapshot();
  const runId = startRun(db, "push", ctx.vault.now());
  const counts: PushCounts = {
    sealed: 0,
    segments: { uploaded: 0 },
    events: 0,
    blobs: { uploaded: 0, present: 0, bytes: 0 },
    aborted_uploads: 0,
    compaction: { packs: 0, replaced: 0, deleted: { objects: 0, blobs: 0, waiting: 0, failed: 0 } },
    bytes: 0,
    manifest_seq: null,
  };
  const signal = opts.signal === undefined ? {} : { signal: opts.signal };
  let cleanupError: unknown = undefined;
  try {
    await verifyKey(ctx);
    counts.sealed = sealPending(ctx.vault, {
      maxEvents: opts.maxSegmentEvents ?? SEGMENT_MAX_EVENTS,
      maxBytes: opts.maxSegmentBytes ?? SEGMENT_MAX_BYTES,
    });
    // Blobs before the segments that reference them.
    await assignBlobIds(ctx);
    counts.aborted_uploads = await abortUnfinishedUploads(ctx, opts.signal);
    counts.blobs = await uploadPendingBlobs(ctx, {
      ...signal,
      ...(opts.onBlobProgress === undefined ? {} : { onProgress: opts.onBlobProgress }),
    });
    counts.bytes += counts.blobs.bytes;
    // Before uploading: the store may have lost what this device published (then it is
    // uploaded again with the rest).
    const republish = (await checkOwnManifest(ctx, signal)) || (opts.republish ?? false);
    // Packs are planned from the index and uploaded with the new segments.
    const packs = planPacks(db, ctx.vault.now(), {
      force: opts.compact ?? false,
      policy: opts.packPolicy ?? PACK_POLICY,
    });
    counts.compaction.packs = packs.length;
    counts.compaction.replaced = packs.reduce((n, p) => n + p.replaces, 0);
    await uploadSegments(ctx, opts, counts);
    counts.manifest_seq = await publishManifest(ctx, { force: republish, ...signal });
    try {
      counts.compaction.deleted = { ...await deleteReplaced(ctx, opts.signal), failed: 0 };
    } catch (err) {
      // Deleting is cleanup: a store that refuses it (or fails now) leaves it for later; the
      // run record keeps the error for `hx sync status`.
      if (opts.signal?.aborted) throw err;
      counts.compaction.deleted.failed++;
      cleanupError = err;
    }
  } catch (err) {
    const spent = ctx.meter.since(before);
    finishRun(
      db,
      runId,
      { ok: false, counts, requests: spent.requests, error: err },
      ctx.vault.now(),
    );
    throw err;
  }
  const spent = ctx.meter.since(before);
  finishRun(
    db,
    runId,
    {
      ok: true,
      counts,
      requests: spent.requests,
      ...(cleanupError === undefined ? {} : { error: cleanupError }),
    },
    ctx.vault.now(),
  );
  return { ...counts, requests: spent.requests, retries: spent.retries };
}

/**
 * Aborts unfinished multipart uploads before uploading blobs: every one of the blobs this
 * push is about to upload (a killed push left them), and, at most once a day, every one under
 * the vault older than a day. A push without blobs to upload sends no request for this.
 */
async function abortUnfinishedUploads(ctx: SyncContext, signal?: AbortSignal): Promise<number> {
  const store = ctx.store;
  if (store.abortStaleUploads === undefined) return 0;
  const db = ctx.vault.db;
  const now = ctx.vault.now();
  const keys = blobsToUpload(ctx).map((b) => b.key);
  const lastSweep = Number(db.meta("uploads_swept_at") ?? "0");
  if (keys.length === 0) return 0;
  const sweep = now - lastSweep >= STALE_UPLOAD_MS;
  try {
    const aborted = await store.abortStaleUploads(vaultPrefix(ctx.vaultId), {
      olderThanMs: sweep ? STALE_UPLOAD_MS : Number.MAX_SAFE_INTEGER,
      keys,
      ...(signal === undefined ? {} : { signal }),
    });
    if (sweep) db.setMeta("uploads_swept_at", String(now));
    return aborted;
  } catch (err) {
    // Cleaning up is worth a try, not a failed push: a server that does not implement the
    // listing (NotImplemented), or a passing failure, leaves it for the next push.
    if (signal?.aborted) throw err;
    return 0;
  }
}

async function uploadSegments(
  ctx: SyncContext,
  opts: PushOptions,
  counts: PushCounts,
): Promise<void> {
  const db = ctx.vault.db;
  const node = ctx.vault.nodeId;
  const segments = pendingUploads(db);
  const total = segments.length;
  let done = 0;
  if (total > 0) opts.onProgress?.(0, total);
  const limit = Math.min(
    opts.concurrency ?? DEFAULT_CONCURRENCY,
    ctx.store.capabilities.maxConcurrency,
  );
  // Objects are built one at a time (the payload is the large part; its sealed object is a
  // tenth of it) and uploaded `limit` at a time.
  const build = oneAtATime();
  await forEachConcurrent(segments, limit, async ({ segment_id, created_at, first_no }) => {
    const built = await build(async () => {
      markClean(db, segment_id); // a tombstone applied from now on marks it again
      const payload = segmentPayload(db, segment_id);
      // A numbered one (a pack, a re-upload) goes up even empty: its numbers stay covered.
      if (payload.empty && first_no === null) return null;
      const bytes = await sealObject(
        {
          object_type: "segment",
          vault_id: ctx.vaultId,
          node_id: node,
          segment_id,
          created_at: new Date(created_at).toISOString(),
        },
        payload.json,
        { key: ctx.key },
      );
      return {
        bytes,
        events: payload.events,
        start_ts: payload.start_ts,
        end_ts: payload.end_ts,
      };
    });
    if (built === null) {
      dropSegment(db, segment_id); // all of it was forgotten before it went up
    } else {
      const { bytes, ...range } = built;
      await ctx.store.putAtomic(
        segmentKey(ctx.vaultId, node, segment_id),
        bytes,
        opts.signal === undefined ? {} : { signal: opts.signal },
      );
      markUploaded(db, segment_id, {
        sha256: await sha256Hex(bytes),
        bytes: bytes.byteLength,
        ...range,
      });
      counts.bytes += bytes.byteLength;
      counts.segments.uploaded++;
      counts.events += range.events;
    }
    opts.onProgress?.(++done, total);
  });
}
