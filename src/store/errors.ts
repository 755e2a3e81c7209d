/**
 * Error categories, and the typed errors of the store layer.
 *
 * A category tells a caller what kind of failure happened, whichever backend or layer
 * raised it. Whether an error is worth retrying is decided once, by the backend that knows
 * its errors, and carried on the error; the retry decorator trusts it. Nothing here knows
 * about vaults or the command line: what a user should do about a category is the CLI's
 * business.
 *
 * @module
 */

/** Every category an hx error can carry. */
export const ERROR_CATEGORIES = [
  "auth",
  "not_found",
  "throttled",
  "timeout",
  "network",
  "precondition",
  "corrupt",
  "hash_mismatch",
  "too_large",
  "invalid_input",
  "no_space",
  "unknown",
] as const;

/** What kind of failure an error reports. */
export type ErrorCategory = typeof ERROR_CATEGORIES[number];

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCategory> = new Set([
  "throttled",
  "timeout",
  "network",
]);

/**
 * Whether a category is retryable when the raiser does not say otherwise.
 *
 * @param category The category.
 * @returns `true` for `throttled`, `timeout` and `network`.
 */
export function retryableByDefault(category: ErrorCategory): boolean {
  return RETRYABLE_BY_DEFAULT.has(category);
}

/** Options of {@linkcode StoreError}. */
export interface StoreErrorOptions {
  /** The underlying error. */
  cause?: unknown;
  /** Overrides the category's default retryability. */
  retryable?: boolean;
  /** Backend-specific advice (e.g. which credential to check); never a secret. */
  hint?: string;
  /** The store's printable name (never a secret). */
  store?: string;
  /** The key involved, if any. */
  key?: string;
  /** The backend's status code (HTTP status for S3), if any. */
  status?: number;
  /** Set by a backend that already retried the requests of this call: not to be retried again. */
  exhausted?: boolean;
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
export class StoreError extends Error {
  /** What kind of failure this is. */
  readonly category: ErrorCategory;
  /** Whether repeating the same call may succeed. */
  readonly retryable: boolean;
  /** Backend-specific advice, if any. */
  readonly hint: string | undefined;
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
   * @param options Store, key, status, cause, hint and retryability.
   */
  constructor(category: ErrorCategory, message: string, options: StoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StoreError";
    this.category = category;
    this.retryable = options.exhausted ? false : options.retryable ?? retryableByDefault(category);
    this.hint = options.hint;
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
 * The error to reject with when a signal aborted a call: a `timeout` StoreError for
 * timeouts, the signal's reason if it is an Error, else an `AbortError`.
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
      retryable: false, // the caller's own deadline passed: retrying cannot help
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

/**
 * The category of any thrown value: the category an error carries (store errors and every
 * other hx error), `timeout` for an aborted timeout, `unknown` otherwise.
 *
 * @param err Anything caught.
 * @returns Its category.
 *
 * @example
 * ```ts
 * import { categoryOf, StoreError } from "./errors.ts";
 * console.assert(categoryOf(new StoreError("network", "x")) === "network");
 * console.assert(categoryOf(new Error("x")) === "unknown");
 * ```
 */
export function categoryOf(err: unknown): ErrorCategory {
  const category = (err as { category?: unknown } | null)?.category;
  if (typeof category === "string" && (ERROR_CATEGORIES as readonly string[]).includes(category)) {
    return category as ErrorCategory;
  }
  if (err instanceof DOMException && err.name === "TimeoutError") return "timeout";
  return "unknown";
}

/**
 * Whether a failure is worth another attempt: only errors that say so themselves (the
 * backend decided). Aborts never are; anything unexpected is not.
 *
 * @param err What the call threw.
 * @returns `true` if retrying may succeed.
 *
 * @example
 * ```ts
 * import { isRetryable, StoreError } from "./errors.ts";
 * console.assert(isRetryable(new StoreError("throttled", "SlowDown")));
 * console.assert(!isRetryable(new StoreError("auth", "AccessDenied")));
 * ```
 */
export function isRetryable(err: unknown): boolean {
  return (err as { retryable?: unknown } | null)?.retryable === true;
}

/**
 * The message of any thrown value, as one line.
 *
 * @param err Anything caught.
 * @returns Its message with line breaks collapsed.
 *
 * @example
 * ```ts
 * import { messageOf } from "./errors.ts";
 * console.assert(messageOf(new Error("a\nb")) === "a b");
 * ```
 */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, " ").trim();
}
