/**
 * Bounds on what sync writes and accepts.
 *
 * @module
 */

/** Largest stored segment/manifest a reader fetches. */
export const MAX_OBJECT_BYTES = 128 * 1024 * 1024;
/** Largest plaintext a reader decrypts for a segment or manifest. */
export const MAX_PLAIN_BYTES = 256 * 1024 * 1024;
/** Largest stored tombstone. */
export const MAX_TOMBSTONE_BYTES = 64 * 1024;
/** Events per segment a writer seals at most. */
export const SEGMENT_MAX_EVENTS = 10_000;
/** Plaintext bytes per segment a writer seals at most (approximately). */
export const SEGMENT_MAX_BYTES = 8 * 1024 * 1024;
/** Objects fetched or uploaded at once. */
export const DEFAULT_CONCURRENCY = 8;
