/**
 * This device's manifest: what it publishes (its listed segments and packs), what it has
 * seen of every node, and every tombstone it has applied. Written last by a push, with a seq
 * above anything known for this node, so it never goes backwards and no forgery can keep
 * this device from publishing.
 *
 * @module
 */

import { sealObject } from "../crypto/envelope.ts";
import { manifestKey } from "../object/keys.ts";
import { encodeJson, type ManifestPayload } from "../object/payloads.ts";
import { markBlobsErasable } from "../vault/packs.ts";
import { floorOf, markImported, recordManifest, seenMap } from "../vault/peers.ts";
import { release } from "../vault/quarantine.ts";
import {
  listedSegments,
  markSegmentsListed,
  numberUploaded,
  unlistedSegments,
} from "../vault/segments.ts";
import {
  appliedTombstones,
  markTombstonesPublished,
  unpublishedTombstones,
} from "../vault/tombstones.ts";
import type { SyncContext } from "./context.ts";

/**
 * Whether a manifest must be written: something new to list, a device that replaced objects
 * waits for this one to say it has seen that, or `force`.
 */
export function manifestDue(ctx: SyncContext, force: boolean): boolean {
  const db = ctx.vault.db;
  numberUploaded(db);
  return force || unlistedSegments(db) > 0 || unpublishedTombstones(db) > 0 ||
    db.meta("ack_due") === "1";
}

/**
 * Writes this device's manifest if it is due.
 *
 * @param ctx The sync session.
 * @param opts `force` writes it even with nothing new (the one on the store is older than
 *   this device knows); abort signal.
 * @returns The seq written, or `null` when nothing was due.
 */
export async function publishManifest(
  ctx: SyncContext,
  opts: { force?: boolean; signal?: AbortSignal } = {},
): Promise<number | null> {
  const db = ctx.vault.db;
  const node = ctx.vault.nodeId;
  if (!manifestDue(ctx, opts.force ?? false)) return null;
  const seq = Math.max(Number(db.meta("manifest_seq") ?? "0"), floorOf(db, node)) + 1;
  db.setMeta("manifest_seq", String(seq)); // never reuse a seq, even if the write fails
  const now = ctx.vault.now();
  const manifest: ManifestPayload = {
    format: 2,
    vault_id: ctx.vaultId,
    node_id: node,
    manifest_seq: seq,
    created_at: now,
    host: ctx.vault.host,
    seen: { ...seenMap(db), [node]: seq },
    tombstones: appliedTombstones(db),
    segments: listedSegments(db),
  };
  const bytes = await sealObject(
    {
      object_type: "manifest",
      vault_id: ctx.vaultId,
      node_id: node,
      created_at: new Date(now).toISOString(),
    },
    encodeJson(manifest),
    { key: ctx.key },
  );
  const key = manifestKey(ctx.vaultId, node);
  const { etag } = await ctx.store.putAtomic(
    key,
    bytes,
    opts.signal === undefined ? {} : { signal: opts.signal },
  );
  db.transaction(() => {
    markSegmentsListed(db, seq);
    markBlobsErasable(db, seq);
    markTombstonesPublished(db);
    db.setMeta("ack_due", "0");
    recordManifest(db, manifest, etag ?? null, now);
    for (const s of manifest.segments) markImported(db, node, s, now);
    release(db, key);
  });
  return seq;
}
