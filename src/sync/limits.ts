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
/** The page cache during a bulk write (MiB): fewer B-trees are written, a smaller one does. */
export const BULK_PAGE_CACHE_MIB = 8;
/** The index's page cache during a pull (MiB): less than search's, for the pull's peak memory. */
export const PULL_PAGE_CACHE_MIB = 16;
/** Manifests one pull reads at most (the rest wait for the next pull). */
export const MANIFESTS_PER_PULL = 1_000;
/** Quarantined objects one pull retries at most. */
export const RETRIES_PER_PULL = 256;
/** Unfinished multipart uploads older than this under the vault are aborted by push. */
export const STALE_UPLOAD_MS = 86_400_000;
