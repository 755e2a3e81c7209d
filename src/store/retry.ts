/**
 * A store decorator that retries transient failures with capped exponential backoff and
 * full jitter.
 *
 * @module
 */

import { abortError } from "./errors.ts";
import { HxError } from "../errors.ts";
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

/** Options of {@linkcode withRetry}. */
export interface RetryOptions {
  /** Total attempts per call, the first included. Default 5. */
  attempts?: number;
  /** Backoff before the second attempt, in ms, before jitter. Default 200. */
  baseMs?: number;
  /** Largest backoff, in ms. Default 10 000. */
  capMs?: number;
  /** Waits `ms` or rejects when `signal` aborts. Injected by tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A number in [0, 1). Injected by tests. */
  random?: () => number;
  /** Told about every retry, e.g. for `--verbose` output. */
  onRetry?: (
    info: { op: string; key: string; attempt: number; delayMs: number; error: unknown },
  ) => void;
}

/**
 * Whether a failure is worth another attempt. Store errors say so themselves (the backend
 * decided); aborts never are; anything unexpected is not.
 *
 * @param err What the call threw.
 * @returns `true` if retrying may succeed.
 *
 * @example
 * ```ts
 * import { isRetryable } from "./retry.ts";
 * import { StoreError } from "./errors.ts";
 * console.assert(isRetryable(new StoreError("throttled", "SlowDown")));
 * console.assert(!isRetryable(new StoreError("auth", "AccessDenied")));
 * ```
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof HxError && err.retryable;
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

/** Options of {@linkcode retrying}: the policy and the operation's name for `onRetry`. */
export interface RetryingOptions extends RetryOptions {
  /** Stops retrying (and waiting) when aborted. */
  signal?: AbortSignal | undefined;
  /** Operation name passed to `onRetry`. */
  op?: string;
  /** Key passed to `onRetry`. */
  key?: string;
}

/**
 * Runs `fn` until it succeeds, a failure is not retryable, or the attempts are used up,
 * waiting a jittered, capped, exponential backoff between attempts.
 *
 * @param fn The operation; called once per attempt.
 * @param opts Policy, signal and injected time.
 * @returns What `fn` returned.
 *
 * @example
 * ```ts
 * import { retrying } from "./retry.ts";
 * let calls = 0;
 * const value = await retrying(() => Promise.resolve(++calls), { attempts: 3 });
 * console.assert(value === 1);
 * ```
 */
export async function retrying<T>(fn: () => Promise<T>, opts: RetryingOptions = {}): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (err) {
      await retryPause(attempt, err, opts);
    }
  }
}

/**
 * After failed attempt number `attempt`: rethrows `err` if it is final (not retryable,
 * attempts used up, or aborted), otherwise waits the jittered backoff.
 *
 * @param attempt The attempt that failed, from 1.
 * @param err What it threw.
 * @param opts Policy, signal and injected time.
 */
export async function retryPause(
  attempt: number,
  err: unknown,
  opts: RetryingOptions,
): Promise<void> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  if (attempt >= attempts || !isRetryable(err) || opts.signal?.aborted) throw err;
  const ceiling = Math.min(opts.capMs ?? 10_000, (opts.baseMs ?? 200) * 2 ** (attempt - 1));
  const delayMs = Math.floor((opts.random ?? Math.random)() * ceiling);
  opts.onRetry?.({ op: opts.op ?? "call", key: opts.key ?? "", attempt, delayMs, error: err });
  await (opts.sleep ?? abortableSleep)(delayMs, opts.signal);
}

/**
 * Wraps a store so that retryable failures are retried. Streamed puts are passed through
 * once (a consumed stream cannot be replayed; backends that stream, like S3 multipart,
 * retry their own parts). A listing that fails midway is restarted without yielding any
 * key twice.
 *
 * @param store The store to wrap.
 * @param opts Attempts, backoff and injected time.
 * @returns A store with the same contract.
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
  return new RetryStore(store, opts);
}

class RetryStore implements SyncStore {
  readonly name: string;
  readonly #inner: SyncStore;
  readonly #opts: RetryOptions;

  constructor(inner: SyncStore, opts: RetryOptions) {
    this.#inner = inner;
    this.name = inner.name;
    this.#opts = opts;
  }

  get capabilities(): StoreCapabilities {
    return this.#inner.capabilities;
  }

  #run<T>(
    op: string,
    key: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    return retrying(fn, { ...this.#opts, op, key, signal });
  }

  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    // A listing that fails midway restarts; keys already yielded are not yielded again.
    const seen = new Set<string>();
    for (let attempt = 1;; attempt++) {
      try {
        for await (const info of this.#inner.list(prefix, opts)) {
          if (seen.has(info.key)) continue;
          seen.add(info.key);
          yield info;
        }
        return;
      } catch (err) {
        await retryPause(attempt, err, {
          ...this.#opts,
          op: "list",
          key: prefix,
          signal: opts.signal,
        });
      }
    }
  }

  get(key: string, opts: GetOptions = {}): Promise<GetResult | "not-modified"> {
    return this.#run("get", key, opts.signal, () => this.#inner.get(key, opts));
  }

  getStream(key: string, opts: GetStreamOptions = {}): Promise<StreamResult> {
    return this.#run("get", key, opts.signal, () => this.#inner.getStream(key, opts));
  }

  putAtomic(
    key: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    opts: PutOptions = {},
  ): Promise<PutResult> {
    if (!(data instanceof Uint8Array)) return this.#inner.putAtomic(key, data, opts);
    return this.#run("put", key, opts.signal, () => this.#inner.putAtomic(key, data, opts));
  }

  stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo | null> {
    return this.#run("head", key, opts.signal, () => this.#inner.stat(key, opts));
  }

  delete(key: string, opts: CallOptions = {}): Promise<void> {
    return this.#run("delete", key, opts.signal, () => this.#inner.delete(key, opts));
  }

  close(): Promise<void> {
    return this.#inner.close?.() ?? Promise.resolve();
  }
}
