/**
 * Opening a store from a URI, with the decorators composed in one place.
 *
 * @module
 */

import { Meter, withMetering } from "./metered.ts";
import { type RetryOptions, withRetry } from "./retry.ts";
import type { StoreEnvironment, SyncStore } from "./types.ts";
import { openBackend } from "./uri.ts";

/** Options of {@linkcode openStore}. */
export interface OpenStoreOptions extends Omit<StoreEnvironment, "observer"> {
  /** Retry policy, or `false` for none. Default: {@linkcode withRetry}'s defaults. */
  retry?: RetryOptions | false;
  /** Counts every request that reaches the backend, retries included. */
  meter?: Meter;
}

/**
 * Opens the store a URI names, wrapped for use: metering (innermost, so that every attempt
 * is counted; backends that meter their own requests report to the same meter) and then
 * retries of transient failures, each retry counted on the meter by category.
 *
 * @param uri e.g. `folder:/mnt/nas/hx`, `s3://bucket/prefix?region=eu-west-1`, `memory:x`.
 * @param opts Environment, retry policy and meter.
 * @returns The store.
 * @throws {StoreError} `invalid_input` for an unknown scheme or malformed URI.
 * @throws {RangeError} For invalid retry options.
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
  const meter = opts.meter ?? new Meter();
  const { retry, meter: _meter, ...env } = opts;
  let store = withMetering(await openBackend(uri, { ...env, observer: meter }), meter);
  if (retry !== false) {
    const policy = retry ?? {};
    store = withRetry(store, {
      ...policy,
      onRetry: (info) => {
        meter.retry(info.category);
        policy.onRetry?.(info);
      },
    });
  }
  return store;
}
