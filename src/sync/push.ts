/**
 * Push: (1) seal unpublished local events into segments, assigning segment ids in the
 * index first so that a crash and a re-push upload the same ids; (2) upload segments and
 * tombstones; (3) record what was uploaded; (4) write this node's manifest with the next
 * seq, last. A crash at any step leaves the store valid, and the next push finishes the
 * job without duplicates.
 *
 * @module
 */

import { sha256Hex } from "../_encoding.ts";
import { uuidv7 } from "../_ids.ts";
import { forEachConcurrent } from "../_pool.ts";
import { sealObject } from "../crypto/envelope.ts";
import { manifestKey, segmentKey, tombstoneKey } from "../object/keys.ts";
import {
  encodeJson,
  type ManifestPayload,
  type SegmentPayload,
  type TombstonePayload,
} from "../object/payloads.ts";
import type { RequestCounts } from "../store/metered.ts";
import type { Db } from "../vault/db.ts";
import { EVENTS_JOINED, OWN_NODE_REF } from "../vault/events.ts";
import type { Vault } from "../vault/vault.ts";
import { type SyncContext, verifyKey } from "./context.ts";
import { DEFAULT_CONCURRENCY, SEGMENT_MAX_BYTES, SEGMENT_MAX_EVENTS } from "./limits.ts";
import { reconcileOwnManifest } from "./pull.ts";
import { assignBlobIds, type BlobUploadCounts, uploadPendingBlobs } from "./blobs.ts";
import { release } from "./quarantine.ts";
import { finishRun, startRun } from "./runs.ts";

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
  /** Tombstones uploaded. */
  tombstones: { uploaded: number };
  /** Attached blobs uploaded, and those the store already had. */
  blobs: BlobUploadCounts;
  /** Bytes uploaded. */
  bytes: number;
  /** The seq of the manifest written, or `null` when there was nothing to publish. */
  manifest_seq: number | null;
}

/** What {@linkcode push} returns. */
export interface PushResult extends PushCounts {
  /** Store requests this push made. */
  requests: RequestCounts;
}

const EVENT_OVERHEAD = 160; // JSON field names and numbers of one event, roughly

/**
 * Assigns this node's unsealed events (and sessions, pins, artifacts) to new segments,
 * in one transaction, before anything is uploaded.
 *
 * @param vault This device's index.
 * @param opts Segment bounds.
 * @returns The number of segments created.
 */
export function sealPending(
  vault: Vault,
  opts: { maxEvents?: number; maxBytes?: number } = {},
): number {
  const db = vault.db;
  const node = vault.nodeId;
  const maxEvents = opts.maxEvents ?? SEGMENT_MAX_EVENTS;
  const maxBytes = opts.maxBytes ?? SEGMENT_MAX_BYTES;
  return db.transaction(() => {
    const now = vault.now();
    const rows = db.all<{ id: number; size: number }>(
      `SELECT id, length(cmd) + coalesce(length(cwd), 0) + coalesce(length(host), 0) AS size
       FROM events WHERE node_ref = ? AND segment_id IS NULL ORDER BY started_at, id`,
      OWN_NODE_REF,
    );
    const assign = db.prepare("UPDATE events SET segment_id = ? WHERE id = ?");
    let created = 0;
    let current: string | null = null;
    let count = 0;
    let bytes = 0;
    const openSegment = () => {
      current = uuidv7(now);
      db.run("INSERT INTO segments (segment_id, created_at) VALUES (?, ?)", current, now);
      created++;
      count = 0;
      bytes = 0;
    };
    for (const row of rows) {
      const size = row.size + EVENT_OVERHEAD;
      if (current === null || count >= maxEvents || (count > 0 && bytes + size > maxBytes)) {
        openSegment();
      }
      assign.run(current, row.id);
      count++;
      bytes += size;
    }
    const others = db.get<{ n: number }>(
      `SELECT (SELECT count(*) FROM sessions WHERE node_id = ?1 AND segment_id IS NULL
                 AND started_at IS NOT NULL)
            + (SELECT count(*) FROM pins WHERE node_id = ?1 AND segment_id IS NULL)
            + (SELECT count(*) FROM artifacts WHERE node_id = ?1 AND segment_id IS NULL) AS n`,
      node,
    )!.n;
    if (others > 0 && current === null) openSegment();
    if (current !== null) {
      db.run(
        `UPDATE sessions SET segment_id = ? WHERE node_id = ? AND segment_id IS NULL
           AND started_at IS NOT NULL`,
        current,
        node,
      );
      for (const table of ["pins", "artifacts"]) {
        db.run(
          `UPDATE ${table} SET segment_id = ? WHERE node_id = ? AND segment_id IS NULL`,
          current,
          node,
        );
      }
    }
    return created;
  });
}

/** The records a sealed segment holds, read back from the index. */
export function segmentPayload(db: Db, node: string, segmentId: string): SegmentPayload {
  return {
    events: db.all(
      `SELECT n.node_id, s.session_id, e.seq, e.started_at, e.ended_at, e.duration_ms, e.exit_code,
         e.cwd, e.cmd, e.host
       FROM ${EVENTS_JOINED} WHERE e.segment_id = ? AND e.node_ref = ? ORDER BY e.started_at, e.id`,
      segmentId,
      OWN_NODE_REF,
    ),
    sessions: db.all(
      `SELECT session_id, node_id, started_at, host, shell FROM sessions
       WHERE node_id = ? AND segment_id = ? ORDER BY started_at`,
      node,
      segmentId,
    ),
    artifacts: db.all(
      `SELECT artifact_id, node_id, session_id, sha256, blob_hash, name, size, created_at
       FROM artifacts WHERE node_id = ? AND segment_id = ? ORDER BY created_at`,
      node,
      segmentId,
    ),
    pins: db.all(
      `SELECT session_id, node_id, pinned_at FROM pins WHERE node_id = ? AND segment_id = ?
       ORDER BY pinned_at`,
      node,
      segmentId,
    ),
  } as unknown as SegmentPayload;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
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
    tombstones: { uploaded: 0 },
    blobs: { uploaded: 0, present: 0, bytes: 0 },
    bytes: 0,
    manifest_seq: null,
  };
  const requests = () => ctx.meter.since(before).requests;
  try {
    await verifyKey(ctx);
    counts.sealed = sealPending(ctx.vault, {
      ...(opts.maxSegmentEvents === undefined ? {} : { maxEvents: opts.maxSegmentEvents }),
      ...(opts.maxSegmentBytes === undefined ? {} : { maxBytes: opts.maxSegmentBytes }),
    });
    // Blobs before the segments that reference them.
    await assignBlobIds(ctx);
    counts.blobs = await uploadPendingBlobs(ctx, {
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      ...(opts.onBlobProgress === undefined ? {} : { onProgress: opts.onBlobProgress }),
    });
    counts.bytes += counts.blobs.bytes;
    await uploadObjects(ctx, opts, counts);
    counts.manifest_seq = await publishManifest(ctx, opts);
  } catch (err) {
    finishRun(db, runId, { ok: false, counts, requests: requests(), error: err }, ctx.vault.now());
    throw err;
  }
  const result = { ...counts, requests: requests() };
  finishRun(db, runId, { ok: true, counts, requests: result.requests }, ctx.vault.now());
  return result;
}

async function uploadObjects(
  ctx: SyncContext,
  opts: PushOptions,
  counts: PushCounts,
): Promise<void> {
  const db = ctx.vault.db;
  const node = ctx.vault.nodeId;
  const segments = db.all<{ segment_id: string; created_at: number }>(
    "SELECT segment_id, created_at FROM segments WHERE sha256 IS NULL ORDER BY created_at, segment_id",
  );
  const tombstones = db.all<TombstonePayload>(
    `SELECT tombstone_id, created_by, created_at, start_ts, end_ts, node_id FROM tombstones
     WHERE created_by = ? AND sha256 IS NULL ORDER BY created_at`,
    node,
  );
  const total = segments.length + tombstones.length;
  let done = 0;
  if (total > 0) opts.onProgress?.(0, total);
  const limit = Math.min(
    opts.concurrency ?? DEFAULT_CONCURRENCY,
    ctx.store.capabilities.maxConcurrency,
  );
  const put = async (key: string, bytes: Uint8Array) => {
    await ctx.store.putAtomic(key, bytes, opts.signal === undefined ? {} : { signal: opts.signal });
    counts.bytes += bytes.byteLength;
  };

  await forEachConcurrent(segments, limit, async ({ segment_id, created_at }) => {
    const payload = segmentPayload(db, node, segment_id);
    const empty = payload.events.length + payload.sessions.length + payload.artifacts.length +
        payload.pins.length === 0;
    if (empty) {
      db.run("DELETE FROM segments WHERE segment_id = ?", segment_id); // all of it was forgotten
    } else {
      const bytes = await sealObject(
        {
          object_type: "segment",
          vault_id: ctx.vaultId,
          node_id: node,
          segment_id,
          created_at: iso(created_at),
        },
        encodeJson(payload),
        { key: ctx.key },
      );
      await put(segmentKey(ctx.vaultId, node, segment_id), bytes);
      db.run(
        "UPDATE segments SET sha256 = ?, bytes = ?, events = ? WHERE segment_id = ?",
        await sha256Hex(bytes),
        bytes.byteLength,
        payload.events.length,
        segment_id,
      );
      counts.segments.uploaded++;
      counts.events += payload.events.length;
    }
    opts.onProgress?.(++done, total);
  });

  await forEachConcurrent(tombstones, limit, async (t) => {
    const bytes = await sealObject(
      {
        object_type: "tombstone",
        vault_id: ctx.vaultId,
        tombstone_id: t.tombstone_id,
        created_at: iso(t.created_at),
      },
      encodeJson(t),
      { key: ctx.key },
    );
    await put(tombstoneKey(ctx.vaultId, t.tombstone_id), bytes);
    db.run(
      "UPDATE tombstones SET sha256 = ? WHERE tombstone_id = ?",
      await sha256Hex(bytes),
      t.tombstone_id,
    );
    counts.tombstones.uploaded++;
    opts.onProgress?.(++done, total);
  });
}

/**
 * Writes this node's manifest with the next seq if anything uploaded is not yet listed by
 * one. Before writing, a manifest that changed on the store without this index knowing is
 * reconciled, so the seq never goes backwards and no published segment is dropped.
 *
 * @returns The seq written, or `null` when nothing was unpublished.
 */
async function publishManifest(ctx: SyncContext, opts: PushOptions): Promise<number | null> {
  const db = ctx.vault.db;
  const node = ctx.vault.nodeId;
  const unpublished = db.get<{ n: number }>(
    `SELECT (SELECT count(*) FROM segments WHERE sha256 IS NOT NULL AND published = 0)
          + (SELECT count(*) FROM tombstones WHERE created_by = ? AND sha256 IS NOT NULL
               AND published = 0) AS n`,
    node,
  )!.n;
  if (unpublished === 0) return null;
  const remoteSeq = await reconcileOwnManifest(
    ctx,
    opts.signal === undefined ? {} : { signal: opts.signal },
  );
  const seq = Math.max(Number(db.meta("manifest_seq") ?? "0"), remoteSeq) + 1;
  db.setMeta("manifest_seq", String(seq)); // never reuse a seq, even if the write fails
  const now = ctx.vault.now();
  const manifest: ManifestPayload = {
    vault_id: ctx.vaultId,
    node_id: node,
    manifest_seq: seq,
    created_at: now,
    host: ctx.vault.host,
    segments: db.all(
      `SELECT segment_id, sha256, created_at, events, bytes FROM segments WHERE sha256 IS NOT NULL
       UNION ALL
       SELECT segment_id, sha256, created_at, events, bytes FROM imported_segments WHERE node_id = ?
       ORDER BY created_at, segment_id`,
      node,
    ),
    tombstones: db.all(
      `SELECT tombstone_id, sha256, created_at FROM tombstones
       WHERE created_by = ? AND sha256 IS NOT NULL ORDER BY created_at, tombstone_id`,
      node,
    ),
    capabilities: { format: 1, compression: ["gzip", "none"] },
  };
  const bytes = await sealObject(
    {
      object_type: "manifest",
      vault_id: ctx.vaultId,
      node_id: node,
      created_at: iso(now),
    },
    encodeJson(manifest),
    { key: ctx.key },
  );
  const { etag } = await ctx.store.putAtomic(
    manifestKey(ctx.vaultId, node),
    bytes,
    opts.signal === undefined ? {} : { signal: opts.signal },
  );
  db.transaction(() => {
    release(db, manifestKey(ctx.vaultId, node));
    db.run("UPDATE segments SET published = 1 WHERE sha256 IS NOT NULL AND published = 0");
    db.run(
      "UPDATE tombstones SET published = 1 WHERE created_by = ? AND sha256 IS NOT NULL AND published = 0",
      node,
    );
    db.run(
      `INSERT INTO manifests_seen (node_id, manifest_seq, etag, created_at, host, segments,
         tombstones, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET manifest_seq = excluded.manifest_seq,
         etag = excluded.etag, created_at = excluded.created_at, host = excluded.host,
         segments = excluded.segments, tombstones = excluded.tombstones,
         fetched_at = excluded.fetched_at`,
      node,
      seq,
      etag ?? null,
      now,
      ctx.vault.host,
      manifest.segments.length,
      manifest.tombstones.length,
      now,
    );
  });
  return seq;
}
