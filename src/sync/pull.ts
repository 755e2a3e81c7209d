/**
 * Manifest-driven pull: one LIST of the manifests, a conditional GET only of the manifests
 * whose ETag changed, then everything they declare that is not yet here, tombstones
 * first. Objects that fail are quarantined and retried on later pulls; they never stop
 * the rest. A no-op pull costs one LIST and no GET.
 *
 * @module
 */

import { forEachConcurrent } from "../_pool.ts";
import { openObject } from "../crypto/envelope.ts";
import { categoryOf, type ErrorCategory, IntegrityError } from "../errors.ts";
import {
  manifestKey,
  manifestsPrefix,
  nodeOfManifestKey,
  objectsPrefix,
  parseObjectKey,
} from "../object/keys.ts";
import { type ManifestPayload, parseManifest } from "../object/payloads.ts";
import type { RequestCounts } from "../store/metered.ts";
import type { ObjectInfo } from "../store/types.ts";
import { type SyncContext, verifyKey } from "./context.ts";
import {
  type DeclaredSegment,
  type DeclaredTombstone,
  importSegment,
  importTombstone,
  readSegment,
  readTombstone,
} from "./importer.ts";
import { DEFAULT_CONCURRENCY, MAX_OBJECT_BYTES, MAX_PLAIN_BYTES } from "./limits.ts";
import { listQuarantine, quarantine, type QuarantineTarget } from "./quarantine.ts";
import { finishRun, startRun } from "./runs.ts";

/** Options of {@linkcode pull}. */
export interface PullOptions {
  /** Aborts the pull; what was imported stays. */
  signal?: AbortSignal;
  /** Objects fetched at once. */
  concurrency?: number;
  /**
   * Repair mode: list every segment and tombstone in the store instead of trusting the
   * manifests (slow; for stores whose manifests were lost).
   */
  scan?: boolean;
  /** Told about progress through the objects to fetch. */
  onProgress?: (done: number, total: number) => void;
  /** Largest stored object fetched (default {@linkcode MAX_OBJECT_BYTES}). */
  maxObjectBytes?: number;
}

/** What a pull did. */
export interface PullCounts {
  /** Manifests: listed, fetched, unchanged since last time, rolled back, failed. */
  manifests: {
    listed: number;
    fetched: number;
    unchanged: number;
    rollback: number;
    failed: number;
  };
  /** Tombstones applied and failed. */
  tombstones: { applied: number; failed: number };
  /** Segments imported and failed. */
  segments: { imported: number; failed: number };
  /** Events inserted, already present, refused by a tombstone, and removed by new tombstones. */
  events: { inserted: number; duplicate: number; covered: number; forgotten: number };
  /** Objects in quarantine after this pull. */
  quarantined: number;
  /** Failures of this pull by category. */
  errors: Partial<Record<ErrorCategory, number>>;
}

function emptyCounts(): PullCounts {
  return {
    manifests: { listed: 0, fetched: 0, unchanged: 0, rollback: 0, failed: 0 },
    tombstones: { applied: 0, failed: 0 },
    segments: { imported: 0, failed: 0 },
    events: { inserted: 0, duplicate: 0, covered: 0, forgotten: 0 },
    quarantined: 0,
    errors: {},
  };
}

interface SeenManifest {
  manifest_seq: number;
  etag: string | null;
}

/** A manifest fetched, validated and accepted, not yet recorded as seen. */
interface AcceptedManifest {
  manifest: ManifestPayload;
  etag: string | null;
}

/** State of one pull (or of the manifest reconciliation a push does). */
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

  #fail(target: QuarantineTarget, error: unknown): void {
    if (this.#opts.signal?.aborted) throw error;
    quarantine(this.#ctx.vault.db, target, error, this.#ctx.vault.now());
    const category = categoryOf(error);
    this.counts.errors[category] = (this.counts.errors[category] ?? 0) + 1;
    this.lastError = error;
  }

  /** Fetches the manifests whose ETag changed; returns the accepted ones. */
  async fetchManifests(entries: readonly ObjectInfo[]): Promise<AcceptedManifest[]> {
    const ctx = this.#ctx;
    const db = ctx.vault.db;
    const accepted: AcceptedManifest[] = [];
    const work: { info: ObjectInfo; node: string; seen: SeenManifest | undefined }[] = [];
    for (const info of entries) {
      const node = nodeOfManifestKey(ctx.vaultId, info.key);
      if (node === null) continue; // conflict copies, strays: not manifests
      this.counts.manifests.listed++;
      const seen = db.get<SeenManifest>(
        "SELECT manifest_seq, etag FROM manifests_seen WHERE node_id = ?",
        node,
      );
      if (seen?.etag != null && info.etag !== undefined && seen.etag === info.etag) {
        this.counts.manifests.unchanged++;
        continue;
      }
      work.push({ info, node, seen });
    }
    await forEachConcurrent(work, this.#limit, async ({ info, node, seen }) => {
      const target: QuarantineTarget = { key: info.key, kind: "manifest", node_id: node };
      try {
        const getOpts = {
          maxBytes: this.#opts.maxObjectBytes ?? MAX_OBJECT_BYTES,
          ...(this.#opts.signal === undefined ? {} : { signal: this.#opts.signal }),
        };
        const got = seen?.etag == null
          ? await ctx.store.get(info.key, getOpts)
          : await ctx.store.getIfChanged(info.key, seen.etag, getOpts);
        if (got === null) {
          this.counts.manifests.unchanged++;
          return;
        }
        this.counts.manifests.fetched++;
        const { payload } = await openObject(got.data, {
          key: ctx.key,
          expect: { object_type: "manifest", vault_id: ctx.vaultId, node_id: node },
          maxPlainBytes: MAX_PLAIN_BYTES,
        });
        const manifest = parseManifest(payload, ctx.vaultId, node);
        if (seen !== undefined && manifest.manifest_seq < seen.manifest_seq) {
          this.counts.manifests.rollback++;
          throw new IntegrityError(
            "rollback",
            `Cannot accept manifest of node ${node}: its seq ${manifest.manifest_seq} is older than seq ${seen.manifest_seq} already seen (replayed or rolled back)`,
          );
        }
        db.run("DELETE FROM quarantine WHERE key = ?", info.key);
        accepted.push({ manifest, etag: got.etag ?? null });
      } catch (err) {
        if (!(err instanceof IntegrityError && err.reason === "rollback")) {
          this.counts.manifests.failed++;
        }
        this.#fail(target, err);
      }
    });
    return accepted;
  }

  /** Imports what the manifests declare and quarantine holds, tombstones first. */
  async importDeclared(
    tombstones: readonly DeclaredTombstone[],
    segments: readonly DeclaredSegment[],
  ): Promise<void> {
    const ctx = this.#ctx;
    const db = ctx.vault.db;
    const wantTombstones = dedupe(tombstones, (t) => t.tombstone_id).filter((t) =>
      db.get("SELECT 1 FROM tombstones WHERE tombstone_id = ?", t.tombstone_id) === undefined
    );
    const wantSegments = dedupe(segments, (s) => s.segment_id).filter((s) =>
      db.get("SELECT 1 FROM imported_segments WHERE segment_id = ?", s.segment_id) === undefined &&
      db.get("SELECT 1 FROM segments WHERE segment_id = ?", s.segment_id) === undefined
    );
    const total = wantTombstones.length + wantSegments.length;
    let done = 0;
    const progress = () => this.#opts.onProgress?.(++done, total);
    if (total > 0) this.#opts.onProgress?.(0, total);

    // Tombstones first, all of them, so no segment can bring back what they cover.
    const fetched: { payload: Awaited<ReturnType<typeof readTombstone>>; t: DeclaredTombstone }[] =
      [];
    await forEachConcurrent(wantTombstones, this.#limit, async (t) => {
      try {
        fetched.push({ payload: await readTombstone(ctx, t, this.#opts.signal), t });
      } catch (err) {
        this.counts.tombstones.failed++;
        this.#fail({
          key: `${objectsPrefix(ctx.vaultId)}tombstones/${t.tombstone_id}.hxtomb`,
          kind: "tombstone",
          ...(t.node_id === null ? {} : { node_id: t.node_id }),
          object_id: t.tombstone_id,
          ...(t.sha256 === null ? {} : { expected_sha256: t.sha256 }),
        }, err);
      }
      progress();
    });
    fetched.sort((a, b) => a.t.created_at - b.t.created_at);
    for (const { payload } of fetched) {
      const result = await importTombstone(ctx, payload.payload, payload.sha256);
      if (result.applied) this.counts.tombstones.applied++;
      this.counts.events.forgotten += result.events;
    }

    await forEachConcurrent(wantSegments, this.#limit, async (s) => {
      const key = `${objectsPrefix(ctx.vaultId)}segments/${s.node_id}/${s.segment_id}.hxseg`;
      try {
        const payload = await readSegment(ctx, s, this.#opts);
        const sha = s.sha256 ?? "0".repeat(64);
        const counts = importSegment(ctx, s, payload, sha);
        this.counts.segments.imported++;
        this.counts.events.inserted += counts.inserted;
        this.counts.events.duplicate += counts.duplicate;
        this.counts.events.covered += counts.covered;
      } catch (err) {
        this.counts.segments.failed++;
        this.#fail({
          key,
          kind: "segment",
          node_id: s.node_id,
          object_id: s.segment_id,
          ...(s.sha256 === null ? {} : { expected_sha256: s.sha256 }),
        }, err);
      }
      progress();
    });
  }

  /** Records accepted manifests as seen. */
  recordSeen(accepted: readonly AcceptedManifest[]): void {
    const db = this.#ctx.vault.db;
    const now = this.#ctx.vault.now();
    for (const { manifest: m, etag } of accepted) {
      db.run(
        `INSERT INTO manifests_seen (node_id, manifest_seq, etag, created_at, host, segments,
           tombstones, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (node_id) DO UPDATE SET manifest_seq = max(manifest_seq, excluded.manifest_seq),
           etag = excluded.etag, created_at = excluded.created_at, host = excluded.host,
           segments = excluded.segments, tombstones = excluded.tombstones,
           fetched_at = excluded.fetched_at`,
        m.node_id,
        m.manifest_seq,
        etag,
        m.created_at,
        m.host,
        m.segments.length,
        m.tombstones.length,
        now,
      );
    }
  }

  /** Fetches changed manifests and imports everything they and the quarantine declare. */
  async syncManifests(entries: readonly ObjectInfo[], retryQuarantine: boolean): Promise<void> {
    const accepted = await this.fetchManifests(entries);
    const tombstones: DeclaredTombstone[] = [];
    const segments: DeclaredSegment[] = [];
    for (const { manifest: m } of accepted) {
      for (const t of m.tombstones) tombstones.push({ node_id: m.node_id, ...t });
      for (const s of m.segments) segments.push({ node_id: m.node_id, ...s });
    }
    if (retryQuarantine) this.#addQuarantined(tombstones, segments);
    await this.importDeclared(tombstones, segments);
    this.recordSeen(accepted);
  }

  #addQuarantined(tombstones: DeclaredTombstone[], segments: DeclaredSegment[]): void {
    const db = this.#ctx.vault.db;
    for (const q of listQuarantine(db)) {
      if (q.object_id === null) continue;
      if (q.kind === "tombstone") {
        tombstones.push({
          node_id: q.node_id,
          tombstone_id: q.object_id,
          sha256: q.expected_sha256,
          created_at: q.first_seen,
        });
      } else if (q.kind === "segment" && q.node_id !== null) {
        segments.push({
          node_id: q.node_id,
          segment_id: q.object_id,
          sha256: q.expected_sha256,
          created_at: q.first_seen,
          events: 0,
          bytes: 0,
        });
      }
    }
  }

  /** Repair mode: every segment and tombstone the store lists, trusted by AEAD alone. */
  async scan(): Promise<void> {
    const ctx = this.#ctx;
    const tombstones: DeclaredTombstone[] = [];
    const segments: DeclaredSegment[] = [];
    for await (const info of ctx.store.list(objectsPrefix(ctx.vaultId), this.#callOpts())) {
      const parsed = parseObjectKey(ctx.vaultId, info.key);
      if (parsed?.kind === "segment") {
        segments.push({
          node_id: parsed.nodeId,
          segment_id: parsed.segmentId,
          sha256: null,
          created_at: 0,
          events: 0,
          bytes: info.size,
        });
      } else if (parsed?.kind === "tombstone") {
        tombstones.push({
          node_id: null,
          tombstone_id: parsed.tombstoneId,
          sha256: null,
          created_at: 0,
        });
      }
    }
    await this.importDeclared(tombstones, segments);
  }

  #callOpts(): { signal?: AbortSignal } {
    return this.#opts.signal === undefined ? {} : { signal: this.#opts.signal };
  }
}

function dedupe<T>(items: readonly T[], id: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = id(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What {@linkcode pull} returns. */
export interface PullResult extends PullCounts {
  /** Store requests this pull made. */
  requests: RequestCounts;
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
  const finish = (ok: boolean, error: unknown): PullResult => {
    run.counts.quarantined = listQuarantine(db).length;
    const result = { ...run.counts, requests: ctx.meter.since(before).requests };
    finishRun(db, runId, {
      ok,
      counts: run.counts,
      requests: result.requests,
      ...(error === undefined ? {} : { error }),
    }, ctx.vault.now());
    return result;
  };
  try {
    await verifyKey(ctx);
    if (opts.scan) {
      await run.scan();
    } else {
      const entries = await Array.fromAsync(
        ctx.store.list(
          manifestsPrefix(ctx.vaultId),
          opts.signal === undefined ? {} : { signal: opts.signal },
        ),
      );
      await run.syncManifests(entries, true);
    }
  } catch (err) {
    finish(false, err);
    throw err;
  }
  return finish(true, run.lastError);
}

/**
 * Brings this node's own manifest on the store into the index if it changed without this
 * index knowing (a restored backup, or a clone of this device): used by push before it
 * writes the next manifest, so no published segment is dropped and the seq never goes
 * backwards.
 *
 * @param ctx The sync session.
 * @param opts Abort signal.
 * @returns The seq of the manifest on the store, or 0 if none.
 */
export async function reconcileOwnManifest(
  ctx: SyncContext,
  opts: { signal?: AbortSignal } = {},
): Promise<number> {
  const db = ctx.vault.db;
  const node = ctx.vault.nodeId;
  const key = manifestKey(ctx.vaultId, node);
  const seen = db.get<SeenManifest>(
    "SELECT manifest_seq, etag FROM manifests_seen WHERE node_id = ?",
    node,
  );
  const info = await ctx.store.stat(key, opts);
  if (info === null) return 0;
  if (seen?.etag != null && seen.etag === info.etag) return seen.manifest_seq;
  const run = new PullRun(ctx, opts);
  await run.syncManifests([info], false);
  if (run.lastError !== undefined && run.counts.manifests.fetched === 0) throw run.lastError;
  return db.get<SeenManifest>(
    "SELECT manifest_seq, etag FROM manifests_seen WHERE node_id = ?",
    node,
  )
    ?.manifest_seq ?? 0;
}
