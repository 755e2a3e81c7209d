/**
 * Bounds on what sync writes and accepts, and on what one pull may cost. Readers' bounds
 * are orders of magnitude above what an honest device writes (see `LIMITS` in
 * `object/payloads.ts` for entries).
 *
 * @module
 */

const MiB = 1024 * 1024;

/** Largest stored manifest a reader fetches. */
export const MAX_MANIFEST_BYTES = 16 * MiB;
/** Largest plaintext a reader decompresses for a manifest. */
export const MAX_MANIFEST_PLAIN = 64 * MiB;
/** Largest stored segment (or pack) a reader fetches. */
export const MAX_SEGMENT_BYTES = 256 * MiB;
/** Largest plaintext a reader decompresses for a segment (or pack). */
export const MAX_SEGMENT_PLAIN = 256 * MiB;
/** Events per segment a writer seals at most. */
export const SEGMENT_MAX_EVENTS = 10_000;
/** Plaintext bytes per segment a writer seals at most (approximately). */
export const SEGMENT_MAX_BYTES = 8 * MiB;
/** Objects fetched or uploaded at once. */
export const DEFAULT_CONCURRENCY = 8;
/** Events a pull imports in one transaction at most (segments already fetched, one after the other). */
export const IMPORT_BATCH_EVENTS = 50_000;
/**
 * How long a pull's batch stays open at most before it is committed (ms, plus the segment
 * being imported): `hx record` waits for the index up to 10 s, on a slow machine too.
 */
export const IMPORT_BATCH_MS = 500;
/**
 * Events a pull must bring, and no fewer than the index holds, for the index's bookkeeping to
 * be deferred to the end (`vault/bulk.ts`): a fresh device's first pull of a large vault.
 */
export const BULK_MIN_EVENTS = 20_000;
/**
 * The page cache of a bulk write (MiB) that brings `events` events: 32 per million, from 8 to
 * 64. A bulk write keeps fewer B-trees than an ordinary pull, but three of them (events by
 * key, command texts, trigrams) are written in random places and grow with the pull: with 8
 * MiB, a pull of 1M events spent ~2.5 s of its ~14 re-reading and re-writing their pages
 * (`pread`/`pwrite` in a profile), and took 1.3 s less with 32 MiB (medians of six alternated
 * runs) for 35 MiB more at its peak. Up to 250k events the cache stays at 8 MiB: the peak of a
 * 100k pull is what its users' machines feel most.
 */
export function bulkPageCacheMib(events: number): number {
  return Math.min(64, Math.max(8, Math.round(events / 1_000_000 * 32)));
}
/**
 * Events a bulk write brings at most for it to drop the unique index of command texts too: it
 * then holds every text's id by hash (`vault/text_hashes.ts`), up to 24 bytes a text (4M texts
 * at most, 96 MiB).
 */
export const BULK_TEXTS_MAX_EVENTS = 2_000_000;
/** The index's page cache during a pull (MiB): less than search's, for the pull's peak memory. */
export const PULL_PAGE_CACHE_MIB = 16;
/** Manifests one pull reads at most (the rest wait for the next pull). */
export const MANIFESTS_PER_PULL = 1_000;
/** Quarantined objects one pull retries at most. */
export const RETRIES_PER_PULL = 256;
/** Unfinished multipart uploads older than this under the vault are aborted by push. */
export const STALE_UPLOAD_MS = 86_400_000;
