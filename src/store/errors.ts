/**
 * Typed errors of the store layer.
 *
 * @module
 */

import { type ErrorCategory, HxError, type HxErrorOptions } from "../errors.ts";

/** Options of {@linkcode StoreError}. */
export interface StoreErrorOptions extends HxErrorOptions {
  /** The store's printable name (never a secret). */
  store?: string;
  /** The key involved, if any. */
  key?: string;
  /** The backend's status code (HTTP status for S3), if any. */
  status?: number;
}

/**
 * A store call failed. The backend that raised it chose the category and whether a retry
 * may help; decorators trust that choice.
 *
 * @example
 * ```ts
 * import { StoreError } from "./errors.ts";
 * const err = new StoreError("throttled", "Cannot put a: SlowDown", { store: "s3://b" });
 * console.assert(err.retryable && err.store === "s3://b");
 * ```
 */
export class StoreError extends HxError {
  /** The store's printable name. */
  readonly store: string | undefined;
  /** The key involved, if any. */
  readonly key: string | undefined;
  /** The backend's status code, if any. */
  readonly status: number | undefined;

  /**
   * Creates a store error.
   *
   * @param category What kind of failure this is.
   * @param message A sentence of the form "Cannot <action>: <state>".
   * @param options Store, key, status, cause and retryability.
   */
  constructor(category: ErrorCategory, message: string, options: StoreErrorOptions = {}) {
    super(category, message, options);
    this.name = "StoreError";
    this.store = options.store;
    this.key = options.key;
    this.status = options.status;
  }
}

/**
 * The object does not exist.
 *
 * @example
 * ```ts
 * import { NotFoundError } from "./errors.ts";
 * const err = new NotFoundError("a/b", { store: "memory:" });
 * console.assert(err.category === "not_found" && err.key === "a/b");
 * ```
 */
export class NotFoundError extends StoreError {
  /**
   * Creates the error for a missing key.
   *
   * @param key The missing key.
   * @param options Store name and cause.
   */
  constructor(key: string, options: StoreErrorOptions = {}) {
    super("not_found", `Cannot read ${key}: no such object`, { ...options, key });
    this.name = "NotFoundError";
  }
}

/**
 * A put with `ifAbsent` found an object already at the key.
 *
 * @example
 * ```ts
 * import { PreconditionError } from "./errors.ts";
 * console.assert(new PreconditionError("k").category === "precondition");
 * ```
 */
export class PreconditionError extends StoreError {
  /**
   * Creates the error for a put-if-absent that found an object.
   *
   * @param key The key that already exists.
   * @param options Store name and cause.
   */
  constructor(key: string, options: StoreErrorOptions = {}) {
    super("precondition", `Cannot put ${key}: an object already exists there`, {
      ...options,
      key,
    });
    this.name = "PreconditionError";
  }
}

/**
 * An object is larger than the caller's bound.
 *
 * @example
 * ```ts
 * import { TooLargeError } from "./errors.ts";
 * console.assert(new TooLargeError("k", 10).category === "too_large");
 * ```
 */
export class TooLargeError extends StoreError {
  /**
   * Creates the error for an object above a size bound.
   *
   * @param key The oversized object's key.
   * @param maxBytes The bound it exceeded.
   * @param options Store name and cause.
   */
  constructor(key: string, maxBytes: number, options: StoreErrorOptions = {}) {
    super("too_large", `Cannot read ${key}: it is larger than ${maxBytes} bytes`, {
      ...options,
      key,
    });
    this.name = "TooLargeError";
  }
}

/**
 * The error to reject with when a signal aborted a call: the signal's reason if it is an
 * Error, a `timeout` StoreError for timeouts.
 *
 * @param signal The aborted signal.
 * @param store The store's printable name.
 * @returns The error to throw.
 */
export function abortError(signal: AbortSignal, store?: string): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") {
    return new StoreError("timeout", "Cannot complete the call: it timed out", {
      ...(store === undefined ? {} : { store }),
      cause: reason,
    });
  }
  if (reason instanceof Error) return reason;
  return new DOMException("The operation was aborted", "AbortError");
}

/**
 * Throws if the signal is aborted.
 *
 * @param signal The caller's signal, if any.
 * @param store The store's printable name.
 */
export function throwIfAborted(signal: AbortSignal | undefined, store?: string): void {
  if (signal?.aborted) throw abortError(signal, store);
}
