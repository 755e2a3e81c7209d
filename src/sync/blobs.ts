/**
 * Blobs on the store: this device's attachments uploaded by push (streamed, encrypted in
 * chunks, skipped when the store already has them), and others' fetched on demand.
 *
 * @module
 */

import { gzip } from "../crypto/envelope.ts";
import { openStream, sealStream } from "../crypto/stream_envelope.ts";
import { IntegrityError } from "../errors.ts";
import { blobKey } from "../object/keys.ts";
import { categoryOf } from "../store/errors.ts";
import {
  blobsWithoutId,
  markBlobUploaded,
  type PendingBlob,
  pendingBlobs,
  recordCachedBlob,
  setBlobId,
  type StoredArtifact,
} from "../vault/artifacts.ts";
import { blobPath, cacheStream, isCached, writeVerified } from "../vault/blob_cache.ts";
import type { SyncContext } from "./context.ts";

/** The id a blob of plaintext SHA-256 `sha256` has on the store. */
export async function blobIdOf(ctx: SyncContext, sha256: string): Promise<string> {
  return ctx.key === null ? sha256 : await ctx.key.blobId(sha256);
}

/** Gives this device's artifacts their store blob id (keyed by the vault key). */
export async function assignBlobIds(ctx: SyncContext): Promise<void> {
  const db = ctx.vault.db;
  const node = ctx.vault.nodeId;
  for (const sha256 of blobsWithoutId(db, node)) {
    setBlobId(db, node, sha256, await blobIdOf(ctx, sha256));
  }
}

/** This device's blobs still to upload, with their store keys. */
export function blobsToUpload(ctx: SyncContext): (PendingBlob & { key: string })[] {
  return pendingBlobs(ctx.vault.db, ctx.vault.nodeId).map((b) => ({
    ...b,
    key: blobKey(ctx.vaultId, b.blob_hash),
  }));
}

/** Whether gzip is worth it: the first MiB must shrink below 90 %. */
async function compressible(path: string): Promise<boolean> {
  const file = await Deno.open(path, { read: true });
  try {
    const sample = new Uint8Array(1024 * 1024);
    let n = 0;
    while (n < sample.length) {
      const got = await file.read(sample.subarray(n));
      if (got === null) break;
      n += got;
    }
    if (n === 0) return false;
    return gzip(sample.subarray(0, n)).byteLength < n * 0.9;
  } finally {
    file.close();
  }
}

/** What uploading blobs did. */
export interface BlobUploadCounts {
  /** Blobs uploaded. */
  uploaded: number;
  /** Blobs the store already had. */
  present: number;
  /** Bytes uploaded. */
  bytes: number;
}

/**
 * Uploads this device's attached blobs that the store does not have yet. Each is checked
 * with HEAD first (a blob's id is its content), then streamed from the cache.
 *
 * @param ctx The sync session.
 * @param opts Abort signal and byte progress.
 * @returns Counts.
 */
export async function uploadPendingBlobs(
  ctx: SyncContext,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<BlobUploadCounts> {
  const db = ctx.vault.db;
  const counts: BlobUploadCounts = { uploaded: 0, present: 0, bytes: 0 };
  const pending = blobsToUpload(ctx);
  const total = pending.reduce((n, b) => n + b.size, 0);
  const signal = opts.signal === undefined ? {} : { signal: opts.signal };
  let base = 0;
  for (const blob of pending) {
    const key = blob.key;
    const path = blobPath(ctx.home.blobsDir, blob.sha256);
    if ((await ctx.store.stat(key, signal)) !== null) {
      counts.present++;
    } else if (await isCached(ctx.home.blobsDir, blob.sha256)) {
      const compress = await compressible(path);
      const fields = {
        object_type: "blob" as const,
        vault_id: ctx.vaultId,
        blob_hash: blob.blob_hash,
        created_at: new Date(ctx.vault.now()).toISOString(),
      };
      // Each open seals the file afresh (a retry reads it again).
      const sealed = {
        open: () =>
          sealStream(fields, async () => (await Deno.open(path, { read: true })).readable, {
            key: ctx.key,
            plainLength: blob.size,
            compress,
          }),
        size: blob.size, // plaintext size: close enough to choose multipart up front
      };
      try {
        await ctx.store.putAtomic(key, sealed, {
          ifAbsent: true,
          ...signal,
          onProgress: (done) => opts.onProgress?.(base + Math.min(done, blob.size), total),
        });
        counts.uploaded++;
        counts.bytes += blob.size;
      } catch (err) {
        if (categoryOf(err) !== "precondition") throw err;
        counts.present++; // another device uploaded the same content meanwhile
      }
    } else {
      continue; // forgotten meanwhile: nothing to upload
    }
    base += blob.size;
    opts.onProgress?.(base, total);
    markBlobUploaded(db, blob.sha256);
  }
  return counts;
}

/**
 * Fetches an artifact's content from the store: streamed, each chunk authenticated, the
 * plaintext SHA-256 checked against the artifact before the file appears, either in the
 * local cache (default) or at `opts.out` (without a second copy in the cache).
 *
 * @param ctx The sync session.
 * @param artifact The artifact.
 * @param opts Where to write it, abort signal and byte progress.
 * @returns The path written (or already cached).
 * @throws {IntegrityError} `hash_mismatch` when the content is not what the artifact says.
 */
export async function fetchBlob(
  ctx: SyncContext,
  artifact: StoredArtifact,
  opts: { out?: string; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } =
    {},
): Promise<string> {
  const dir = ctx.home.blobsDir;
  if (opts.out === undefined && await isCached(dir, artifact.sha256)) {
    return blobPath(dir, artifact.sha256);
  }
  const blobHash = artifact.blob_hash ?? await blobIdOf(ctx, artifact.sha256);
  if (blobHash !== await blobIdOf(ctx, artifact.sha256)) {
    throw new IntegrityError(
      "wrong_id",
      `Cannot fetch ${artifact.name}: its blob id does not match its content hash`,
    );
  }
  const key = blobKey(ctx.vaultId, blobHash);
  const { stream } = await ctx.store.getStream(
    key,
    opts.signal === undefined ? {} : { signal: opts.signal },
  );
  const { plaintext } = await openStream(stream, {
    key: ctx.key,
    expect: { object_type: "blob", vault_id: ctx.vaultId, blob_hash: blobHash },
    maxPlainBytes: artifact.size,
  });
  const progress = { onProgress: (done: number) => opts.onProgress?.(done, artifact.size) };
  if (opts.out !== undefined) {
    await writeVerified(opts.out, plaintext, artifact.sha256, progress);
    return opts.out;
  }
  await cacheStream(dir, plaintext, artifact.sha256, progress);
  recordCachedBlob(ctx.vault.db, artifact.sha256, artifact.size);
  return blobPath(dir, artifact.sha256);
}
