/**
 * Counting what a store costs, for `--json` output, status and benchmarks.
 *
 * What is counted, exactly: for a backend that meters itself (S3, where
 * `capabilities.metersRequests` is true) every HTTP request it sends, by kind (a listing
 * page is one `list`; a multipart upload is one `create`, one `part` per part, one
 * `complete`, and one `abort` if it fails), retries included; for other backends (folder,
 * memory) one request per store call. Retries are counted by the category of the failure
 * that caused them; failed attempts by the category they failed with.
 *
 * @module
 */

import { categoryOf, type ErrorCategory } from "./errors.ts";
import {
  type CallOptions,
  type GetOptions,
  type GetResult,
  type GetStreamOptions,
  isBytes,
  type ObjectInfo,
  type PutBody,
  type PutOptions,
  type PutResult,
  type RequestKind,
  type RequestObserver,
  type StoreCapabilities,
  type StreamResult,
  type SyncStore,
} from "./types.ts";

/** Requests sent to a store, by kind. */
export type RequestCounts = Record<RequestKind, number>;

/** Everything a {@linkcode Meter} has counted. */
export interface MeterSnapshot {
  /** Requests by kind. */
  requests: RequestCounts;
  /** Retries by the category of the failure that caused them. */
  retries: Partial<Record<ErrorCategory, number>>;
  /** Bytes of object data read and written. */
  bytes: { read: number; written: number };
  /** Requests (attempts) that failed, by category. */
  errors: Partial<Record<ErrorCategory, number>>;
}

/** What a run cost: the difference between two snapshots. */
export interface MeterDelta {
  /** Requests by kind, and their total. */
  requests: RequestCounts & { total: number };
  /** Retries by category. */
  retries: Partial<Record<ErrorCategory, number>>;
}

const KINDS: readonly RequestKind[] = [
  "list",
  "get",
  "put",
  "head",
  "delete",
  "create",
  "part",
  "complete",
  "abort",
];

function zero(): RequestCounts {
  return Object.fromEntries(KINDS.map((k) => [k, 0])) as RequestCounts;
}

function bump<K extends string>(map: Partial<Record<K, number>>, key: K, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

/**
 * Counters shared by a store and whoever reads them; a {@linkcode RequestObserver}.
 *
 * @example
 * ```ts
 * import { Meter } from "./metered.ts";
 * const meter = new Meter();
 * meter.request("list");
 * console.assert(meter.snapshot().requests.list === 1);
 * ```
 */
export class Meter implements RequestObserver {
  #requests = zero();
  #retries: Partial<Record<ErrorCategory, number>> = {};
  #bytes = { read: 0, written: 0 };
  #errors: Partial<Record<ErrorCategory, number>> = {};

  /** Counts one request of a kind. */
  request(kind: RequestKind): void {
    this.#requests[kind]++;
  }

  /** Adds bytes read or written. */
  bytes(direction: "read" | "written", n: number): void {
    this.#bytes[direction] += n;
  }

  /** Counts one retry caused by a failure of `category`. */
  retry(category: ErrorCategory): void {
    bump(this.#retries, category);
  }

  /** Counts one failed attempt. */
  fail(err: unknown): void {
    bump(this.#errors, categoryOf(err));
  }

  /**
   * What was spent since an earlier snapshot: what one run cost.
   *
   * @param before A snapshot taken at the start of the run.
   * @returns Requests by kind (with their total) and retries by category.
   */
  since(before: MeterSnapshot): MeterDelta {
    const requests = { ...zero(), total: 0 };
    for (const kind of KINDS) {
      requests[kind] = this.#requests[kind] - before.requests[kind];
      requests.total += requests[kind];
    }
    const retries: Partial<Record<ErrorCategory, number>> = {};
    for (const [category, n] of Object.entries(this.#retries) as [ErrorCategory, number][]) {
      const d = n - (before.retries[category] ?? 0);
      if (d > 0) retries[category] = d;
    }
    return { requests, retries };
  }

  /** A copy of the counters now. */
  snapshot(): MeterSnapshot {
    return {
      requests: { ...this.#requests },
      retries: { ...this.#retries },
      bytes: { ...this.#bytes },
      errors: { ...this.#errors },
    };
  }
}

/**
 * Wraps a store so that what it costs is counted on `meter`: one request per call and the
 * bytes moved, unless the backend meters its own requests; failed attempts always.
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
  readonly #inner: SyncStore;
  readonly #meter: Meter;

  constructor(inner: SyncStore, meter: Meter) {
    this.#inner = inner;
    this.#meter = meter;
    this.name = inner.name;
  }

  get capabilities(): StoreCapabilities {
    return this.#inner.capabilities;
  }

  /** Whether this decorator counts requests and bytes (the backend does not). */
  get #counts(): boolean {
    return !this.#inner.capabilities.metersRequests;
  }

  async #track<T>(kind: RequestKind, fn: () => Promise<T>): Promise<T> {
    if (this.#counts) this.#meter.request(kind);
    try {
      return await fn();
    } catch (err) {
      this.#meter.fail(err);
      throw err;
    }
  }

  async *list(prefix: string, opts?: CallOptions): AsyncIterable<ObjectInfo> {
    if (this.#counts) this.#meter.request("list");
    try {
      yield* this.#inner.list(prefix, opts);
    } catch (err) {
      this.#meter.fail(err);
      throw err;
    }
  }

  get(key: string, opts?: GetOptions): Promise<GetResult> {
    return this.#track("get", async () => {
      const got = await this.#inner.get(key, opts);
      if (this.#counts) this.#meter.bytes("read", got.data.byteLength);
      return got;
    });
  }

  getIfChanged(key: string, etag: string, opts?: GetOptions): Promise<GetResult | null> {
    return this.#track("get", async () => {
      const got = await this.#inner.getIfChanged(key, etag, opts);
      if (this.#counts && got !== null) this.#meter.bytes("read", got.data.byteLength);
      return got;
    });
  }

  getStream(key: string, opts?: GetStreamOptions): Promise<StreamResult> {
    return this.#track("get", async () => {
      const { stream, info } = await this.#inner.getStream(key, opts);
      if (!this.#counts) return { stream, info };
      const meter = this.#meter;
      const counted = stream.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            meter.bytes("read", chunk.byteLength);
            controller.enqueue(chunk);
          },
        }),
      );
      return { stream: counted, info };
    });
  }

  putAtomic(key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    return this.#track("put", async () => {
      let written = 0;
      const result = await this.#inner.putAtomic(key, body, {
        ...opts,
        onProgress: (done, total) => {
          written = done;
          opts.onProgress?.(done, total);
        },
      });
      if (this.#counts) this.#meter.bytes("written", isBytes(body) ? body.byteLength : written);
      return result;
    });
  }

  stat(key: string, opts?: CallOptions): Promise<ObjectInfo | null> {
    return this.#track("head", () => this.#inner.stat(key, opts));
  }

  delete(key: string, opts?: CallOptions): Promise<void> {
    return this.#track("delete", () => this.#inner.delete(key, opts));
  }

  abortStaleUploads(
    prefix: string,
    opts: { olderThanMs: number; keys?: readonly string[] } & CallOptions,
  ): Promise<number> {
    const inner = this.#inner;
    if (inner.abortStaleUploads === undefined) return Promise.resolve(0);
    return this.#track("list", () => inner.abortStaleUploads!(prefix, opts));
  }

  close(): Promise<void> {
    return this.#inner.close?.() ?? Promise.resolve();
  }
}
