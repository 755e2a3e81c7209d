/**
 * A store decorator that counts calls and bytes by operation, for `--json` output, status
 * and benchmarks.
 *
 * @module
 */

import { categoryOf, type ErrorCategory } from "../errors.ts";
import type {
  CallOptions,
  GetOptions,
  GetResult,
  GetStreamOptions,
  ObjectInfo,
  PutOptions,
  PutResult,
  StoreCapabilities,
  StreamResult,
  SyncStore,
} from "./types.ts";

/** Calls made to a store, by operation (`head` is `stat`). */
export interface RequestCounts {
  /** Listings. */
  list: number;
  /** Whole or streamed reads. */
  get: number;
  /** Writes. */
  put: number;
  /** `stat` calls. */
  head: number;
  /** Deletions. */
  delete: number;
}

/** Everything a {@linkcode Meter} has counted. */
export interface MeterSnapshot {
  /** Calls by operation. */
  requests: RequestCounts;
  /** Bytes read by `get`/`getStream` and written by `putAtomic`. */
  bytes: { read: number; written: number };
  /** Failed calls by error category. */
  errors: Partial<Record<ErrorCategory, number>>;
}

/**
 * Counters shared by a metered store and whoever reads them.
 *
 * @example
 * ```ts
 * import { Meter } from "./metered.ts";
 * const meter = new Meter();
 * console.assert(meter.snapshot().requests.list === 0);
 * ```
 */
export class Meter {
  #requests: RequestCounts = { list: 0, get: 0, put: 0, head: 0, delete: 0 };
  #bytes = { read: 0, written: 0 };
  #errors: Partial<Record<ErrorCategory, number>> = {};

  /** Counts one call of `op`. */
  count(op: keyof RequestCounts): void {
    this.#requests[op]++;
  }

  /** Adds bytes read or written. */
  addBytes(direction: "read" | "written", n: number): void {
    this.#bytes[direction] += n;
  }

  /** Counts one failure. */
  fail(err: unknown): void {
    const category = categoryOf(err);
    this.#errors[category] = (this.#errors[category] ?? 0) + 1;
  }

  /**
   * The calls made since an earlier snapshot: what one run cost.
   *
   * @param before `snapshot().requests` at the start of the run.
   * @returns The difference, by operation.
   */
  requestsSince(before: RequestCounts): RequestCounts {
    const now = this.#requests;
    return {
      list: now.list - before.list,
      get: now.get - before.get,
      put: now.put - before.put,
      head: now.head - before.head,
      delete: now.delete - before.delete,
    };
  }

  /** A copy of the counters now. */
  snapshot(): MeterSnapshot {
    return {
      requests: { ...this.#requests },
      bytes: { ...this.#bytes },
      errors: { ...this.#errors },
    };
  }
}

/**
 * Wraps a store so that every call is counted on `meter`.
 *
 * @param store The store to wrap.
 * @param meter Where to count.
 * @returns A store with the same contract.
 *
 * @example
 * ```ts
 * import { Meter, withMetering } from "./metered.ts";
 * import { MemoryStore } from "./memory.ts";
 * const meter = new Meter();
 * const store = withMetering(new MemoryStore(), meter);
 * await store.putAtomic("k", new Uint8Array(3));
 * console.assert(meter.snapshot().requests.put === 1);
 * ```
 */
export function withMetering(store: SyncStore, meter: Meter): SyncStore {
  return new MeteredStore(store, meter);
}

class MeteredStore implements SyncStore {
  readonly name: string;
  readonly capabilities: StoreCapabilities;
  readonly #inner: SyncStore;
  readonly #meter: Meter;

  constructor(inner: SyncStore, meter: Meter) {
    this.#inner = inner;
    this.#meter = meter;
    this.name = inner.name;
    this.capabilities = inner.capabilities;
  }

  async #track<T>(op: keyof RequestCounts, fn: () => Promise<T>): Promise<T> {
    this.#meter.count(op);
    try {
      return await fn();
    } catch (err) {
      this.#meter.fail(err);
      throw err;
    }
  }

  async *list(prefix: string, opts?: CallOptions): AsyncIterable<ObjectInfo> {
    this.#meter.count("list");
    try {
      yield* this.#inner.list(prefix, opts);
    } catch (err) {
      this.#meter.fail(err);
      throw err;
    }
  }

  get(key: string, opts?: GetOptions): Promise<GetResult | "not-modified"> {
    return this.#track("get", async () => {
      const got = await this.#inner.get(key, opts);
      if (got !== "not-modified") this.#meter.addBytes("read", got.data.byteLength);
      return got;
    });
  }

  getStream(key: string, opts?: GetStreamOptions): Promise<StreamResult> {
    return this.#track("get", async () => {
      const { stream, info } = await this.#inner.getStream(key, opts);
      const meter = this.#meter;
      const counted = stream.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            meter.addBytes("read", chunk.byteLength);
            controller.enqueue(chunk);
          },
        }),
      );
      return { stream: counted, info };
    });
  }

  putAtomic(
    key: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    opts: PutOptions = {},
  ): Promise<PutResult> {
    return this.#track("put", async () => {
      let written = 0;
      const result = await this.#inner.putAtomic(key, data, {
        ...opts,
        onProgress: (done, total) => {
          written = done;
          opts.onProgress?.(done, total);
        },
      });
      if (data instanceof Uint8Array) written = data.byteLength;
      this.#meter.addBytes("written", written);
      return result;
    });
  }

  stat(key: string, opts?: CallOptions): Promise<ObjectInfo | null> {
    return this.#track("head", () => this.#inner.stat(key, opts));
  }

  delete(key: string, opts?: CallOptions): Promise<void> {
    return this.#track("delete", () => this.#inner.delete(key, opts));
  }

  close(): Promise<void> {
    return this.#inner.close?.() ?? Promise.resolve();
  }
}
