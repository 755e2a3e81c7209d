/**
 * Reading objects from the store: each is fetched within a size bound, checked against the
 * SHA-256 its manifest declared, authenticated and decrypted, decompressed within the length
 * its header declares, and validated, before anything of it reaches the index.
 *
 * @module
 */

import { sha256Hex } from "../_encoding.ts";
import { openObject } from "../crypto/envelope.ts";
import { IntegrityError } from "../errors.ts";
import { segmentKey } from "../object/keys.ts";
import {
  type ManifestPayload,
  parseManifest,
  parseSegment,
  type SegmentPayload,
} from "../object/payloads.ts";
import type { SyncContext } from "./context.ts";
import {
  MAX_MANIFEST_BYTES,
  MAX_MANIFEST_PLAIN,
  MAX_SEGMENT_BYTES,
  MAX_SEGMENT_PLAIN,
} from "./limits.ts";

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

/** A segment to read: where it is, and what its manifest says of it. */
export interface SegmentRef {
  node_id: string;
  segment_id: string;
  /** The declared SHA-256 of the stored object (`null`: a repair scan, trusted by AEAD alone). */
  sha256: string | null;
  /** The declared number of events, checked against the payload when given. */
  events?: number;
}

/**
 * Fetches a segment (or pack) and checks it against its declared hash and size bound.
 *
 * @param ctx The sync session.
 * @param seg Where it is and what was declared.
 * @param opts Abort signal and the stored size bound.
 * @returns The stored bytes, still encrypted (a tenth of the payload, about).
 * @throws {IntegrityError} `too_large` or `hash_mismatch`.
 */
export function fetchSegment(
  ctx: SyncContext,
  seg: SegmentRef,
  opts: { signal?: AbortSignal; maxObjectBytes?: number } = {},
): Promise<Uint8Array> {
  const key = segmentKey(ctx.vaultId, seg.node_id, seg.segment_id);
  return fetchVerified(ctx, key, seg.sha256, opts.maxObjectBytes ?? MAX_SEGMENT_BYTES, opts.signal);
}

/**
 * Decrypts and validates a fetched segment (or pack).
 *
 * @param ctx The sync session.
 * @param seg Where it is and what was declared.
 * @param bytes What {@linkcode fetchSegment} returned.
 * @returns Its records.
 * @throws {IntegrityError} For every way the object can be wrong.
 */
export async function openSegment(
  ctx: SyncContext,
  seg: SegmentRef,
  bytes: Uint8Array,
): Promise<SegmentPayload> {
  const { payload } = await openObject(bytes, {
    key: ctx.key,
    expect: {
      object_type: "segment",
      vault_id: ctx.vaultId,
      node_id: seg.node_id,
      segment_id: seg.segment_id,
    },
    maxPlainBytes: MAX_SEGMENT_PLAIN,
  });
  const parsed = parseSegment(payload, seg.node_id);
  if (seg.events !== undefined && parsed.events.length !== seg.events) {
    const key = segmentKey(ctx.vaultId, seg.node_id, seg.segment_id);
    throw new IntegrityError(
      "bad_payload",
      `Cannot import ${key}: it holds ${parsed.events.length} events, its manifest declares ${seg.events}`,
    );
  }
  return parsed;
}

/** A manifest read and validated. */
export interface ReadManifest {
  manifest: ManifestPayload;
  /** Tombstones it carries that break their rules (left out of `manifest`). */
  refused: { tombstone: unknown; error: IntegrityError }[];
  /** Its etag on the store. */
  etag: string | null;
}

/**
 * Reads a node's manifest: conditionally when an etag is known (`null` when unchanged),
 * then authenticated, bound to the vault and to the node its key names, and validated.
 *
 * @param ctx The sync session.
 * @param key The manifest key.
 * @param node The node its key names.
 * @param opts The etag last seen, abort signal and size bound.
 * @returns The manifest, or `null` when its etag is still `opts.etag`.
 * @throws {IntegrityError} For every way the object can be wrong.
 */
export async function readManifest(
  ctx: SyncContext,
  key: string,
  node: string,
  opts: { etag?: string | null; signal?: AbortSignal; maxObjectBytes?: number } = {},
): Promise<ReadManifest | null> {
  const getOpts = {
    maxBytes: opts.maxObjectBytes ?? MAX_MANIFEST_BYTES,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  };
  const got = opts.etag == null
    ? await ctx.store.get(key, getOpts)
    : await ctx.store.getIfChanged(key, opts.etag, getOpts);
  if (got === null) return null;
  const { payload } = await openObject(got.data, {
    key: ctx.key,
    expect: { object_type: "manifest", vault_id: ctx.vaultId, node_id: node },
    maxPlainBytes: MAX_MANIFEST_PLAIN,
  });
  const { manifest, refused } = parseManifest(payload, ctx.vaultId, node, ctx.vault.now());
  return { manifest, refused, etag: got.etag ?? null };
}
