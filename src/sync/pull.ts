/**
 * Manifest-driven pull: one LIST of the manifests, a conditional GET only of the manifests
 * whose ETag changed, every tombstone they carry applied first, then every declared object
 * not yet here. Objects that fail are quarantined and retried with backoff; they never stop
 * the rest. A no-op pull costs one LIST and no GET.
 *
 * @module
 */

import { forEachConcurrent, oneAtATime } from "../_pool.ts";
import { categoryOf, type ErrorCategory, IntegrityError, isRetryable } from "../errors.ts";
import {
  manifestKey,
  manifestsPrefix,
  nodeOfManifestKey,
  parseObjectKey,
  segmentKey,
  segmentsPrefix,
} from "../object/keys.ts";
import type { SegmentPayload, TombstonePayload } from "../object/payloads.ts";
import { CommandIds, type InsertCounts } from "../vault/events.ts";
import type { MeterDelta } from "../store/metered.ts";
import type { ObjectInfo } from "../store/types.ts";
import {
  declaredMissing,
  type DeclaredSegment,
  floorOf,
  getPeer,
  isImported,
  listPeers,
  markImported,
  notLocal,
  recordClaims,
  recordManifest,
  setPullSince,
} from "../vault/peers.ts";
import {
  quarantine,
  quarantineCount,
  quarantineState,
  type QuarantineTarget,
  release,
  releaseUndeclared,
} from "../vault/quarantine.ts";
import { finishRun, startRun } from "../vault/runs.ts";
import { listedSegments, markForUpload } from "../vault/segments.ts";
import { type SyncContext, verifyKey } from "./context.ts";
import { applyTombstones } from "./importer.ts";
import { importSegment } from "./importer.ts";
import {
  BULK_MIN_EVENTS,
  BULK_TEXTS_MAX_EVENTS,
  bulkPageCacheMib,
  DEFAULT_CONCURRENCY,
  IMPORT_BATCH_EVENTS,
  IMPORT_BATCH_MS,
  MANIFESTS_PER_PULL,
  PULL_PAGE_CACHE_MIB,
  RETRIES_PER_PULL,
} from "./limits.ts";
import { fetchSegment, openSegment, type ReadManifest, readManifest } from "./objects.ts";
import { commandsMark, settleSearchIndex } from "../vault/search_index.ts";
import { PAGE_CACHE_MIB } from "../vault/db.ts";
import { finishBulk, startBulk, worthBulk } from "../vault/bulk.ts";
import { TextHashes } from "../vault/text_hashes.ts";

/** Options of {@linkcode pull}. */
export interface PullOptions {
  /** Aborts the pull; what was imported stays. */
  signal?: AbortSignal;
  /** Objects fetched at once. */
  concurrency?: number;
  /**
   * Repair mode: also import every segment the store lists that no manifest declares
   * (trusted by authentication alone; for stores whose manifests were lost).
   */
  scan?: boolean;
  /** Told about progress through the objects to fetch. */
  onProgress?: (done: number, total: number) => void;
  /** Largest stored object fetched (default: the bounds of `limits.ts`). */
  maxObjectBytes?: number;
  /** Fetch all history from now on, also what a `--since` join left on the store. */
  all?: boolean;
}

/** What a pull did. */
export interface PullCounts {
  /**
   * Manifests: listed, fetched, unchanged since last time, rolled back (older than a seq
   * already seen or reported), failed, missing (reported by others but absent), waiting
   * (quarantined and backing off, or over this pull's budget).
   */
  manifests: {
    listed: number;
    fetched: number;
    unchanged: number;
    rollback: number;
    failed: number;
    missing: number;
    waiting: number;
  };
  /** Tombstones applied, deferred (their window ends ahead of this clock), refused. */
  tombstones: { applied: number; deferred: number; refused: number };
  /**
   * Segments imported, recorded without a fetch (a pack of segments already here), failed,
   * and waiting in quarantine.
   */
  segments: { imported: number; covered: number; failed: number; waiting: number };
  /** Events inserted, already present, refused by a tombstone, and removed by new tombstones. */
  events: { inserted: number; duplicate: number; covered: number; forgotten: number };
  /** Objects in quarantine after this pull. */
  quarantined: number;
  /** History left on the store because this device joined `--since` (objects, events). */
  not_local: { objects: number; events: number };
  /** Failures of this pull by category. */
  errors: Partial<Record<ErrorCategory, number>>;
  /** This device's own manifest on the store is older than it knows: its next push rewrites it. */
  republish: boolean;
}

/** What {@linkcode pull} returns. */
export interface PullResult extends PullCounts {
  /** HTTP requests (or store calls) this pull made, by kind. */
  requests: MeterDelta["requests"];
  /** Retries, by the category of the failure that caused them. */
  retries: MeterDelta["retries"];
}

function emptyCounts(): PullCounts {
  return {
    manifests: {
      listed: 0,
      fetched: 0,
      unchanged: 0,
      rollback: 0,
      failed: 0,
      missing: 0,
      waiting: 0,
    },
    tombstones: { applied: 0, deferred: 0, refused: 0 },
    segments: { imported: 0, covered: 0, failed: 0, waiting: 0 },
    events: { inserted: 0, duplicate: 0, covered: 0, forgotten: 0 },
    quarantined: 0,
    not_local: { objects: 0, events: 0 },
    errors: {},
    republish: false,
  };
}

/** State of one pull (or of the check of its own manifest that a push makes). */
class PullRun {
  readonly counts = emptyCounts();
  lastError: unknown = undefined;
  readonly #ctx: SyncContext;
  readonly #opts: PullOptions;

  constructor(ctx: SyncContext, opts: PullOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
  }

  get #limit(): number {
    return Math.min(
      this.#opts.concurrency ?? DEFAULT_CONCURRENCY,
      this.#ctx.store.capabilities.maxConcurrency,
    );
  }

  get #signal(): { signal?: AbortSignal } {
    return this.#opts.signal === undefined ? {} : { signal: this.#opts.signal };
  }

  /** Records a failure: quarantined (when it is an object) and counted by category. */
  #fail(target: QuarantineTarget | null, error: unknown): void {
    if (this.#opts.signal?.aborted) throw error;
    if (target !== null) quarantine(this.#ctx.vault.db, target, error, this.#ctx.vault.now());
    const category = categoryOf(error);
    this.counts.errors[category] = (this.counts.errors[category] ?? 0) + 1;
    this.lastError = error;
  }

  /**
   * Reads the manifests of `entries` that changed, applies their tombstones, records them.
   * With `partial`, `entries` is not the whole listing (a push checking its own manifest):
   * nothing is concluded from what it lacks.
   */
  async manifests(entries: readonly ObjectInfo[], partial = false): Promise<void> {
    const ctx = this.#ctx;
    const db = ctx.vault.db;
    const now = ctx.vault.now();
    const self = ctx.vault.nodeId;
    const listed = new Map<string, ObjectInfo>();
    const work: { info: ObjectInfo; node: string; etag: string | null }[] = [];
    for (const info of entries) {
      const node = nodeOfManifestKey(ctx.vaultId, info.key);
      if (node === null) continue; // conflict copies, strays: not manifests
      this.counts.manifests.listed++;
      listed.set(node, info);
      const peer = getPeer(db, node);
      if (peer?.etag != null && info.etag !== undefined && peer.etag === info.etag) {
        this.counts.manifests.unchanged++;
        continue;
      }
      if (quarantineState(db, info.key, now, info.etag) === "waiting") {
        this.counts.manifests.waiting++;
        continue;
      }
      work.push({ info, node, etag: peer?.etag ?? null });
    }
    this.counts.manifests.waiting += Math.max(0, work.length - MANIFESTS_PER_PULL);

    const read: { node: string; info: ObjectInfo; got: ReadManifest }[] = [];
    await forEachConcurrent(
      work.slice(0, MANIFESTS_PER_PULL),
      this.#limit,
      async ({ info, node, etag }) => {
        try {
          const got = await readManifest(ctx, info.key, node, {
            etag,
            ...this.#signal,
            ...(this.#opts.maxObjectBytes === undefined
              ? {}
              : { maxObjectBytes: this.#opts.maxObjectBytes }),
          });
          if (got === null) {
            this.counts.manifests.unchanged++;
            return;
          }
          this.counts.manifests.fetched++;
          read.push({ node, info, got });
        } catch (err) {
          this.counts.manifests.failed++;
          this.#fail({
            key: info.key,
            kind: "manifest",
            node_id: node,
            ...(info.etag === undefined ? {} : { etag: info.etag }),
          }, err);
        }
      },
    );

    // What every manifest says it has seen raises floors first: a fresh device notices a
    // rolled-back manifest from the others' claims.
    for (const { got } of read) recordClaims(db, got.manifest.seen);
    const tombstones = new Map<string, TombstonePayload>();
    for (const { node, info, got } of read) {
      const m = got.manifest;
      // Tombstones of every authentic manifest, rolled back or not: applying one never
      // brings anything back.
      for (const t of m.tombstones) tombstones.set(t.tombstone_id, t);
      for (const { error } of got.refused) {
        this.counts.tombstones.refused++;
        this.#fail(null, error);
      }
      const floor = floorOf(db, node);
      if (m.manifest_seq < floor) {
        // Reported, and the floor stays. What it lists is still authentic history, and
        // safe to import: the device that saw the newer seq applied its tombstones first
        // and carries them.
        this.counts.manifests.rollback++;
        if (node === self) this.counts.republish = true;
        this.#fail(
          null,
          new IntegrityError(
            "rollback",
            `Cannot trust the manifest of node ${node} to be current: its seq ${m.manifest_seq} is older than seq ${floor} already seen (replayed, rolled back, or restored from a backup)`,
          ),
        );
      }
      // A node that replaced objects deletes them once every device says it has seen this:
      // this device's next push says so, even with nothing else to publish.
      if (recordManifest(db, m, got.etag, now) > 0 && node !== self) db.setMeta("ack_due", "1");
      release(db, info.key);
    }

    const applied = await applyTombstones(ctx, [...tombstones.values()]);
    this.counts.tombstones.applied += applied.applied;
    this.counts.tombstones.deferred += applied.deferred;
    this.counts.events.forgotten += applied.events;
    if (partial) return;

    // Nodes reported by some manifest (or accepted before) whose manifest is gone.
    for (const p of listPeers(db)) {
      if (p.node_id === self || listed.has(p.node_id) || Math.max(p.seq, p.claimed) === 0) continue;
      this.counts.manifests.missing++;
      this.#fail(
        null,
        new IntegrityError(
          "rollback",
          `Cannot find the manifest of node ${p.node_id}, which was seen at seq ${
            Math.max(p.seq, p.claimed)
          } (deleted, or the store was restored from a backup)`,
        ),
      );
    }
    const localSeq = Number(db.meta("manifest_seq") ?? "0");
    if ((localSeq > 0 && !listed.has(self)) || floorOf(db, self) > localSeq) {
      this.counts.republish = true;
    }
    releaseUndeclared(db, new Set([...listed.values()].map((i) => i.key)));
  }

  /**
   * Fetches and imports every declared object not yet here (tombstones are in), of one node
   * when `node` is given; or, for a repair scan, the `scanned` ones instead.
   */
  async objects(opts: { node?: string; scanned?: DeclaredSegment[] } = {}): Promise<void> {
    const ctx = this.#ctx;
    const db = ctx.vault.db;
    const now = ctx.vault.now();
    const todo: DeclaredSegment[] = [];
    const alone = new Set<DeclaredSegment>(); // retried after failing: in a batch of its own
    let retries = 0;
    const wanted = opts.scanned ??
      declaredMissing(db).filter((d) => opts.node === undefined || d.node_id === opts.node);
    for (const d of wanted) {
      if ("covered" in d && d.covered) {
        markImported(db, d.node_id, d, now); // a pack of segments already here
        this.counts.segments.covered++;
        continue;
      }
      const state = quarantineState(db, segmentKey(ctx.vaultId, d.node_id, d.segment_id), now);
      if (state === "waiting" || (state === "due" && retries >= RETRIES_PER_PULL)) {
        this.counts.segments.waiting++;
        continue;
      }
      if (state === "due") {
        retries++;
        alone.add(d);
      }
      todo.push(d);
    }
    const total = todo.length;
    let done = 0;
    if (total > 0) this.#opts.onProgress?.(0, total);
    // Far more events than the index holds: its bookkeeping waits for the end (vault/bulk.ts).
    const incoming = todo.reduce((n, d) => n + d.events, 0);
    const bulk = worthBulk(db, incoming, BULK_MIN_EVENTS);
    const commandIds = new CommandIds(); // from one batch to the next, while nobody else writes
    if (bulk) {
      const texts = incoming <= BULK_TEXTS_MAX_EVENTS;
      startBulk(db, { texts });
      if (texts) commandIds.hashAll(db, new TextHashes());
      db.setPageCache(bulkPageCacheMib(incoming));
    }
    // Imported one at a time, and in batches: while the next segment is already fetched, the
    // transaction stays open, so pages many segments touch are written once (a fresh pull of
    // 1M events: ~10-15 % less time). A batch is committed as soon as no fetched segment waits
    // (never open across a wait on the network), after IMPORT_BATCH_MS (`hx record` waits for
    // the index meanwhile) or IMPORT_BATCH_EVENTS. Its segments count as imported once it is
    // committed; a failure inside it rolls it back whole (its segments come with the next pull).
    const importing = oneAtATime();
    let queued = 0;
    const fresh = () => ({ events: 0, counts: [] as InsertCounts[], opened: performance.now() });
    let batch = fresh();
    const commit = () => {
      db.commit();
      for (const counts of batch.counts) {
        this.counts.segments.imported++;
        this.counts.events.inserted += counts.inserted;
        this.counts.events.duplicate += counts.duplicate;
        this.counts.events.covered += counts.covered;
      }
      batch = fresh();
    };
    const settle = () => {
      const long = performance.now() - batch.opened >= IMPORT_BATCH_MS;
      if (queued === 0 || long || batch.events >= IMPORT_BATCH_EVENTS) commit();
    };
    try {
      await forEachConcurrent(todo, this.#limit, async (d) => {
        try {
          const ref = {
            node_id: d.node_id,
            segment_id: d.segment_id,
            sha256: d.first === 0 ? null : d.sha256,
            ...(d.first === 0 ? {} : { events: d.events }),
          };
          const bytes = await fetchSegment(ctx, ref, {
            ...this.#signal,
            ...(this.#opts.maxObjectBytes === undefined
              ? {}
              : { maxObjectBytes: this.#opts.maxObjectBytes }),
          });
          // Fetched concurrently, opened and imported one at a time: one payload in memory.
          queued++;
          await importing(async () => {
            queued--;
            let payload: SegmentPayload;
            try {
              payload = await openSegment(ctx, ref, bytes);
            } finally {
              settle();
            }
            if (alone.has(d)) commit();
            if (!db.inTransaction) {
              db.begin();
              commandIds.check(db);
              batch.opened = performance.now();
            }
            try {
              batch.counts.push(importSegment(ctx, d, payload, { deferCounts: bulk, commandIds }));
            } catch (err) {
              db.rollback();
              commandIds.clear();
              this.counts.segments.failed += batch.counts.length;
              batch = fresh();
              throw err;
            }
            batch.events += payload.events.length;
            if (alone.has(d)) commit();
            else settle();
          });
        } catch (err) {
          this.counts.segments.failed++;
          this.#fail({
            key: segmentKey(ctx.vaultId, d.node_id, d.segment_id),
            kind: "segment",
            node_id: d.node_id,
            object_id: d.segment_id,
          }, err);
        }
        this.#opts.onProgress?.(++done, total);
      });
    } finally {
      commit();
      if (bulk) finishBulk(db);
    }
  }

  /** Repair mode: every segment the store lists that is not here (no declared hash). */
  async scanned(): Promise<DeclaredSegment[]> {
    const ctx = this.#ctx;
    const out: DeclaredSegment[] = [];
    for await (const info of ctx.store.list(segmentsPrefix(ctx.vaultId), this.#signal)) {
      const parsed = parseObjectKey(ctx.vaultId, info.key);
      if (parsed?.kind !== "segment" || isImported(ctx.vault.db, parsed.nodeId, parsed.segmentId)) {
        continue;
      }
      out.push({
        node_id: parsed.nodeId,
        segment_id: parsed.segmentId,
        sha256: "",
        bytes: info.size,
        events: 0,
        first: 0,
        last: 0,
        start_ts: 0,
        end_ts: 0,
        created_at: 0,
      });
    }
    return out;
  }
}

/**
 * Pulls: imports what other devices published since the last pull.
 *
 * @param ctx The sync session.
 * @param opts Abort signal, concurrency, repair scan and progress.
 * @returns Counts by outcome and the requests made.
 * @throws {HxError} When the manifests cannot be listed (auth, network, …); per-object
 *   failures are quarantined instead.
 */
export async function pull(ctx: SyncContext, opts: PullOptions = {}): Promise<PullResult> {
  const db = ctx.vault.db;
  const before = ctx.meter.snapshot();
  const runId = startRun(db, "pull", ctx.vault.now());
  const run = new PullRun(ctx, opts);
  const mark = commandsMark(db);
  // Importing writes B-trees larger than any cache; a smaller one costs a pull of 1M events
  // ~4 % more time and saves ~30 MiB of its peak.
  db.setPageCache(PULL_PAGE_CACHE_MIB);
  const finish = (ok: boolean, error: unknown): PullResult => {
    settleSearchIndex(db, mark); // what a failed pull imported is kept, and indexed as well
    db.setPageCache(PAGE_CACHE_MIB);
    run.counts.quarantined = quarantineCount(db);
    run.counts.not_local = notLocal(db);
    const spent = ctx.meter.since(before);
    const result = { ...run.counts, requests: spent.requests, retries: spent.retries };
    finishRun(db, runId, {
      ok,
      counts: run.counts,
      requests: result.requests,
      ...(error === undefined ? {} : { error }),
    }, ctx.vault.now());
    return result;
  };
  try {
    finishBulk(db); // one a killed pull left
    await verifyKey(ctx);
    if (opts.all) setPullSince(db, null);
    const entries = await Array.fromAsync(
      ctx.store.list(
        manifestsPrefix(ctx.vaultId),
        opts.signal === undefined ? {} : { signal: opts.signal },
      ),
    );
    await run.manifests(entries);
    // Every manifest on the store now was listed after this device's latest one was written:
    // what that one replaced may be deleted once those devices have seen it.
    db.setMeta("pulled_seq", db.meta("manifest_seq") ?? "0");
    await run.objects(opts.scan ? { scanned: await run.scanned() } : {});
  } catch (err) {
    finish(false, err);
    throw err;
  }
  return finish(true, run.lastError);
}

/**
 * What a push checks before it uploads: whether this device's manifest on the store is the
 * one it last wrote. If it changed (a restored index, a clone of this device) it is read and
 * what it lists that this index lacks is imported, so no published segment is dropped. If it
 * is older than this device knows, or gone (a rollback, a deletion, a store restored from a
 * backup), the manifest must be written again, and this device's listed segments that the
 * store lost are sealed again to be uploaded.
 *
 * @param ctx The sync session.
 * @param opts Abort signal.
 * @returns Whether the manifest must be rewritten even with nothing new.
 */
export async function checkOwnManifest(
  ctx: SyncContext,
  opts: { signal?: AbortSignal } = {},
): Promise<boolean> {
  const db = ctx.vault.db;
  const self = ctx.vault.nodeId;
  const localSeq = Number(db.meta("manifest_seq") ?? "0");
  const key = manifestKey(ctx.vaultId, self);
  const info = await ctx.store.stat(key, opts);
  if (info === null) {
    if (localSeq === 0) return false; // never published
    await reuploadLost(ctx, new Set(), opts.signal);
    return true;
  }
  const peer = getPeer(db, self);
  if (peer?.etag != null && peer.etag === info.etag) return floorOf(db, self) > localSeq;
  let got: ReadManifest | null;
  try {
    got = await readManifest(ctx, key, self, opts);
  } catch (err) {
    // A store that fails is reported; a damaged manifest of ours is rewritten.
    if (isRetryable(err)) throw err;
    await reuploadLost(ctx, new Set(), opts.signal);
    return true;
  }
  if (got === null) return floorOf(db, self) > localSeq;
  if (got.manifest.manifest_seq < Math.max(localSeq, floorOf(db, self))) {
    await reuploadLost(ctx, new Set(got.manifest.segments.map((s) => s.segment_id)), opts.signal);
    return true;
  }
  // Newer than this index knows: this index was restored from a backup. Take it in.
  const run = new PullRun(ctx, opts);
  await run.manifests([info], true);
  await run.objects({ node: self });
  return run.counts.republish || floorOf(db, self) > Number(db.meta("manifest_seq") ?? "0");
}

/**
 * Seals again, for upload, this device's listed segments that the store no longer has:
 * those a rolled-back manifest does not list are checked with HEAD (a deleted manifest: all).
 */
async function reuploadLost(
  ctx: SyncContext,
  stillListed: ReadonlySet<string>,
  signal?: AbortSignal,
) {
  const db = ctx.vault.db;
  for (const s of listedSegments(db)) {
    if (stillListed.has(s.segment_id)) continue;
    const there = await ctx.store.stat(
      segmentKey(ctx.vaultId, ctx.vault.nodeId, s.segment_id),
      signal === undefined ? {} : { signal },
    );
    if (there === null) markForUpload(db, s.segment_id);
  }
}
