/**
 * The one retry policy of hx, as a store decorator: transient failures are retried with
 * capped exponential backoff and full jitter, within a time budget per call. Whether a
 * failure is transient is the backend's decision, carried on the error.
 *
 * Every request is retried by this policy: whole calls here, and the requests a backend
 * makes for one call (each multipart part) through the {@linkcode Retrier} this decorator
 * passes down. A body is retried by opening it again ({@linkcode ReplayableBody}).
 *
 * @module
 */

import { abortError, categoryOf, type ErrorCategory, isRetryable } from "./errors.ts";
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
  type Retrier,
  type RetryContext,
  type StoreCapabilities,
  type StreamResult,
  type SyncStore,
} from "./types.ts";

/** One retry about to happen, as {@linkcode RetryOptions.onRetry} is told. */
export interface RetryInfo {
  /** What is retried (`get`, `put`, `put part`, …). */
  op: string;
  /** The key involved. */
  key: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  /** The wait before the next attempt, in ms. */
  delayMs: number;
  /** What the failed attempt threw. */
  error: unknown;
  /** Its category. */
  category: ErrorCategory;
}

/** Options of {@linkcode withRetry} and {@linkcode createRetrier}. */
export interface RetryOptions {
  /** Total attempts per request, the first included. Default 5. */
  attempts?: number;
  /** Backoff before the second attempt, in ms, before jitter. Default 200. */
  baseMs?: number;
  /** Largest backoff, in ms. Default 10 000. */
  capMs?: number;
  /**
   * No attempt starts more than this many ms after the first one began (backoffs are cut to
   * fit). Together with a backend's own per-request timeouts this bounds how long a dead
   * store can hold a command. Default 25 000.
   */
  budgetMs?: number;
  /** Waits `ms` or rejects when `signal` aborts. Injected by tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A number in [0, 1). Injected by tests. */
  random?: () => number;
  /** The clock, in ms. Injected by tests. */
  now?: () => number;
  /** Told about every retry, e.g. for `--verbose` output and metering. */
  onRetry?: (info: RetryInfo) => void;
}

/** Waits `ms` milliseconds, or rejects with the signal's reason when it aborts first. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function positive(name: string, value: number | undefined, integer: boolean): void {
  if (value === undefined) return;
  if (
    !(Number.isFinite(value) && value >= (integer ? 1 : 0)) || (integer && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `Cannot retry: '${name}' must be a ${integer ? "positive integer" : "non-negative number"}`,
    );
  }
}

/**
 * Checks retry options where they enter.
 *
 * @param opts The options.
 * @throws {RangeError} For a non-positive `attempts` or a negative duration.
 */
export function validateRetryOptions(opts: RetryOptions): void {
  positive("attempts", opts.attempts, true);
  positive("baseMs", opts.baseMs, false);
  positive("capMs", opts.capMs, false);
  positive("budgetMs", opts.budgetMs, false);
}

/**
 * The policy as a {@linkcode Retrier}: runs a request until it succeeds, fails
 * permanently, the attempts are used up, the time budget is spent, or the signal aborts.
 *
 * @param opts Attempts, backoff, budget and injected time.
 * @returns The retrier.
 *
 * @example
 * ```ts
 * import { createRetrier } from "./retry.ts";
 * let calls = 0;
 * const value = await createRetrier({ attempts: 3 }).run(() => Promise.resolve(++calls), {
 *   op: "get",
 *   key: "k",
 * });
 * console.assert(value === 1);
 * ```
 */
export function createRetrier(opts: RetryOptions = {}): Retrier {
  validateRetryOptions(opts);
  const attempts = opts.attempts ?? 5;
  const base = opts.baseMs ?? 200;
  const cap = opts.capMs ?? 10_000;
  const budget = opts.budgetMs ?? 25_000;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? abortableSleep;
  return {
    async run<T>(fn: () => Promise<T>, ctx: RetryContext): Promise<T> {
      const started = now();
      for (let attempt = 1;; attempt++) {
        try {
          return await fn();
        } catch (err) {
          const left = budget - (now() - started);
          if (attempt >= attempts || !isRetryable(err) || ctx.signal?.aborted || left <= 0) {
            throw err;
          }
          const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
          const delayMs = Math.min(Math.floor(random() * ceiling), left);
          opts.onRetry?.({
            op: ctx.op,
            key: ctx.key,
            attempt,
            delayMs,
            error: err,
            category: categoryOf(err),
          });
          await sleep(delayMs, ctx.signal);
        }
      }
    },
  };
}

/**
 * Wraps a store so that retryable failures are retried under one policy. A put body is
 * replayed by opening it again; a backend that makes several requests for one put gets the
 * policy as `opts.retrier` and retries each of them. A put-if-absent whose retry meets
 * `precondition` checks whether the object there is the one it wrote (an earlier attempt
 * landed and its answer was lost) and then succeeds. A listing that fails midway restarts
 * without yielding any key twice.
 *
 * @param store The store to wrap.
 * @param opts Attempts, backoff, budget and injected time.
 * @returns A store with the same contract.
 * @throws {RangeError} For invalid options.
 *
 * @example
 * ```ts
 * import { withRetry } from "./retry.ts";
 * import { MemoryStore } from "./memory.ts";
 * const store = withRetry(new MemoryStore(), { attempts: 3 });
 * await store.putAtomic("k", new Uint8Array([1]));
 * ```
 */
export function withRetry(store: SyncStore, opts: RetryOptions = {}): SyncStore {
  return new RetryStore(store, createRetrier(opts));
}

class RetryStore implements SyncStore {
  readonly name: string;
  readonly #inner: SyncStore;
  readonly #retrier: Retrier;

  constructor(inner: SyncStore, retrier: Retrier) {
    this.#inner = inner;
    this.name = inner.name;
    this.#retrier = retrier;
  }

  get capabilities(): StoreCapabilities {
    return this.#inner.capabilities;
  }

  #run<T>(op: string, key: string, signal: AbortSignal | undefined, fn: () => Promise<T>) {
    return this.#retrier.run(fn, { op, key, signal });
  }

  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    // A listing that fails midway restarts; keys already yielded are not yielded again.
    const seen = new Set<string>();
    let iterator = this.#inner.list(prefix, opts)[Symbol.asyncIterator]();
    let broken = false;
    while (true) {
      const next = await this.#run("list", prefix, opts.signal, async () => {
        if (broken) {
          iterator = this.#inner.list(prefix, opts)[Symbol.asyncIterator]();
          broken = false;
        }
        try {
          while (true) {
            const result = await iterator.next();
            if (result.done || !seen.has(result.value.key)) return result;
          }
        } catch (err) {
          broken = true;
          throw err;
        }
      });
      if (next.done) return;
      seen.add(next.value.key);
      yield next.value;
    }
  }

  get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    return this.#run("get", key, opts.signal, () => this.#inner.get(key, opts));
  }

  getIfChanged(key: string, etag: string, opts: GetOptions = {}): Promise<GetResult | null> {
    return this.#run("get", key, opts.signal, () => this.#inner.getIfChanged(key, etag, opts));
  }

  getStream(key: string, opts: GetStreamOptions = {}): Promise<StreamResult> {
    return this.#run(
      "get",
      key,
      opts.signal,
      () => this.#inner.getStream(key, { ...opts, retrier: this.#retrier }),
    );
  }

  putAtomic(key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    let attempts = 0;
    return this.#run("put", key, opts.signal, async () => {
      attempts++;
      try {
        return await this.#inner.putAtomic(key, body, { ...opts, retrier: this.#retrier });
      } catch (err) {
        if (attempts > 1 && opts.ifAbsent && isBytes(body) && categoryOf(err) === "precondition") {
          const mine = await this.#ownObject(key, body, opts);
          if (mine !== null) return mine;
        }
        throw err;
      }
    });
  }

  /** The object at `key` if it is exactly `body` (an earlier attempt landed), else `null`. */
  async #ownObject(key: string, body: Uint8Array, opts: PutOptions): Promise<PutResult | null> {
    const there = await this.#inner.get(key, {
      maxBytes: body.byteLength,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    }).catch(() => null);
    if (there === null || there.data.byteLength !== body.byteLength) return null;
    for (let i = 0; i < body.byteLength; i++) if (there.data[i] !== body[i]) return null;
    return there.etag === undefined ? {} : { etag: there.etag };
  }

  stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo | null> {
    return this.#run("head", key, opts.signal, () => this.#inner.stat(key, opts));
  }

  delete(key: string, opts: CallOptions = {}): Promise<void> {
    return this.#run("delete", key, opts.signal, () => this.#inner.delete(key, opts));
  }

  abortStaleUploads(
    prefix: string,
    opts: { olderThanMs: number; keys?: readonly string[] } & CallOptions,
  ): Promise<number> {
    const inner = this.#inner;
    if (inner.abortStaleUploads === undefined) return Promise.resolve(0);
    return this.#run(
      "list uploads",
      prefix,
      opts.signal,
      () => inner.abortStaleUploads!(prefix, opts),
    );
  }

  close(): Promise<void> {
    return this.#inner.close?.() ?? Promise.resolve();
  }
}
