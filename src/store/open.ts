/**
 * Opening a store from a URI, with the decorators composed in one place.
 *
 * @module
 */

import type { Meter } from "./metered.ts";
import { withMetering } from "./metered.ts";
import { type RetryOptions, withRetry } from "./retry.ts";
import type { SyncStore } from "./types.ts";
import { openBackend, type StoreEnvironment } from "./uri.ts";

/** Options of {@linkcode openStore}. */
export interface OpenStoreOptions extends StoreEnvironment {
  /** Retry policy, or `false` for none. Default: {@linkcode withRetry}'s defaults. */
  retry?: RetryOptions | false;
  /** Counts every request that reaches the backend, retries included. */
  meter?: Meter;
}

/**
 * Opens the store a URI names, wrapped for use: metering (innermost, so that every
 * attempt is counted) and then retries of transient failures.
 *
 * @param uri e.g. `folder:/mnt/nas/hx`, `s3://bucket/prefix?region=eu-west-1`, `memory:x`.
 * @param opts Environment, retry policy and meter.
 * @returns The store.
 * @throws {StoreError} `invalid_input` for an unknown scheme or malformed URI.
 *
 * @example
 * ```ts
 * import { openStore } from "./open.ts";
 * const store = await openStore("memory:example");
 * await store.putAtomic("hello", new TextEncoder().encode("world"));
 * console.assert((await store.stat("hello"))?.size === 5);
 * ```
 */
export async function openStore(uri: string, opts: OpenStoreOptions = {}): Promise<SyncStore> {
  let store = await openBackend(uri, opts);
  if (opts.meter !== undefined) store = withMetering(store, opts.meter);
  if (opts.retry !== false) store = withRetry(store, opts.retry ?? {});
  return store;
}
