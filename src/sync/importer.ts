/**
 * Importing objects from the store into the local index. Each object is fetched within a
 * size bound, checked against the SHA-256 its manifest declared, decrypted, validated and
 * imported in one SQLite transaction. Import is idempotent and order-independent.
 *
 * @module
 */

import { sha256Hex } from "../_encoding.ts";
import { openObject } from "../crypto/envelope.ts";
import { IntegrityError } from "../errors.ts";
import { segmentKey, tombstoneKey } from "../object/keys.ts";
import {
  parseJson,
  parseSegment,
  parseTombstone,
  type SegmentPayload,
  type TombstonePayload,
} from "../object/payloads.ts";
import {
  type InsertCounts,
  insertEvents,
  insertSession,
  isCovered,
  loadWindows,
} from "../vault/events.ts";
import { type ApplyResult, applyTombstone } from "../vault/tombstones.ts";
import { removeCachedBlobs } from "../vault/blob_cache.ts";
import type { SyncContext } from "./context.ts";
import { MAX_OBJECT_BYTES, MAX_PLAIN_BYTES, MAX_TOMBSTONE_BYTES } from "./limits.ts";
import { release } from "./quarantine.ts";

/** A segment a manifest declared (or a `--scan` found, without a hash). */
export interface DeclaredSegment {
  node_id: string;
  segment_id: string;
  sha256: string | null;
  created_at: number;
  events: number;
  bytes: number;
}

/** A tombstone a manifest declared (or a `--scan` found, without a hash). */
export interface DeclaredTombstone {
  /** The node whose manifest declared it; `null` when a scan found it (its payload names its creator). */
  node_id: string | null;
  tombstone_id: string;
  sha256: string | null;
  created_at: number;
}

/**
 * Fetches an object within a size bound and checks the hash its manifest declared.
 *
 * @param ctx The sync session.
 * @param key The object key.
 * @param expectedSha The declared SHA-256 of the stored bytes, if any.
 * @param maxBytes The size bound.
 * @param signal Aborts the fetch.
 * @returns The object bytes.
 * @throws {IntegrityError} `hash_mismatch` when the bytes differ from the declaration.
 */
export async function fetchVerified(
  ctx: SyncContext,
  key: string,
  expectedSha: string | null,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const got = await ctx.store.get(key, signal === undefined ? { maxBytes } : { maxBytes, signal });
  if (expectedSha !== null) {
    const actual = await sha256Hex(got.data);
    if (actual !== expectedSha) {
      throw new IntegrityError(
        "hash_mismatch",
        `Cannot import ${key}: its SHA-256 is ${actual.slice(0, 12)}…, the manifest declares ${
          expectedSha.slice(0, 12)
        }…`,
      );
    }
  }
  return got.data;
}

/** Fetches, verifies, decrypts and validates a segment. */
export async function readSegment(
  ctx: SyncContext,
  seg: DeclaredSegment,
  opts: { signal?: AbortSignal; maxObjectBytes?: number } = {},
): Promise<SegmentPayload> {
  const key = segmentKey(ctx.vaultId, seg.node_id, seg.segment_id);
  const max = opts.maxObjectBytes ?? MAX_OBJECT_BYTES;
  const bytes = await fetchVerified(ctx, key, seg.sha256, max, opts.signal);
  const { payload } = await openObject(bytes, {
    key: ctx.key,
    expect: {
      object_type: "segment",
      vault_id: ctx.vaultId,
      node_id: seg.node_id,
      segment_id: seg.segment_id,
    },
    maxPlainBytes: MAX_PLAIN_BYTES,
  });
  return parseSegment(payload, seg.node_id);
}

/**
 * Imports a validated segment in one transaction: events (never those a tombstone
 * covers), sessions, artifacts and pins; then records it as imported.
 *
 * @returns Event counts by outcome.
 */
export function importSegment(
  ctx: SyncContext,
  seg: DeclaredSegment,
  payload: SegmentPayload,
  sha256: string,
): InsertCounts {
  const db = ctx.vault.db;
  return db.transaction(() => {
    const windows = loadWindows(db);
    // Only this device's own events keep their segment (restored from its own manifest,
    // they must never be sealed again); others' need no seal state.
    const own = seg.node_id === ctx.vault.nodeId ? seg.segment_id : null;
    const counts = insertEvents(db, payload.events, own, windows);
    for (const session of payload.sessions) insertSession(db, session, own);
    for (const a of payload.artifacts) {
      if (isCovered(windows, { started_at: a.created_at, node_id: a.node_id })) continue;
      db.run(
        `INSERT OR IGNORE INTO artifacts (artifact_id, node_id, session_id, sha256, blob_hash, name,
           size, created_at, segment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        a.artifact_id,
        a.node_id,
        a.session_id,
        a.sha256,
        a.blob_hash,
        a.name,
        a.size,
        a.created_at,
        seg.segment_id,
      );
    }
    for (const pin of payload.pins) {
      db.run(
        "INSERT OR IGNORE INTO pins (session_id, node_id, pinned_at, segment_id) VALUES (?, ?, ?, ?)",
        pin.session_id,
        pin.node_id,
        pin.pinned_at,
        seg.segment_id,
      );
    }
    db.run(
      `INSERT OR IGNORE INTO imported_segments (segment_id, node_id, sha256, created_at, events,
         bytes, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      seg.segment_id,
      seg.node_id,
      sha256,
      seg.created_at,
      seg.events,
      seg.bytes,
      ctx.vault.now(),
    );
    release(db, segmentKey(ctx.vaultId, seg.node_id, seg.segment_id));
    return counts;
  });
}

/** Fetches, verifies, decrypts and validates a tombstone. */
export async function readTombstone(
  ctx: SyncContext,
  t: DeclaredTombstone,
  signal?: AbortSignal,
): Promise<{ payload: TombstonePayload; sha256: string }> {
  const key = tombstoneKey(ctx.vaultId, t.tombstone_id);
  const bytes = await fetchVerified(ctx, key, t.sha256, MAX_TOMBSTONE_BYTES, signal);
  const { payload } = await openObject(bytes, {
    key: ctx.key,
    expect: { object_type: "tombstone", vault_id: ctx.vaultId, tombstone_id: t.tombstone_id },
    maxPlainBytes: MAX_TOMBSTONE_BYTES,
  });
  const creator = t.node_id ?? creatorOf(payload);
  return {
    payload: parseTombstone(payload, creator, t.tombstone_id),
    sha256: await sha256Hex(bytes),
  };
}

function creatorOf(payload: Uint8Array): string {
  const value = parseJson(payload, "tombstone") as { created_by?: unknown } | null;
  if (typeof value?.created_by !== "string") {
    throw new IntegrityError("bad_payload", "Cannot import tombstone: it names no creator");
  }
  return value.created_by;
}

/**
 * Applies a validated tombstone: deletes what it covers and removes blobs no artifact
 * references any more from the local cache.
 *
 * @returns What was removed.
 */
export async function importTombstone(
  ctx: SyncContext,
  payload: TombstonePayload,
  sha256: string,
): Promise<ApplyResult> {
  const db = ctx.vault.db;
  const result = db.transaction(() => {
    const applied = applyTombstone(db, payload);
    db.run(
      "UPDATE tombstones SET sha256 = coalesce(sha256, ?), published = 1 WHERE tombstone_id = ?",
      sha256,
      payload.tombstone_id,
    );
    release(db, tombstoneKey(ctx.vaultId, payload.tombstone_id));
    return applied;
  });
  await removeCachedBlobs(ctx.home.blobsDir, result.orphanedBlobs);
  return result;
}
