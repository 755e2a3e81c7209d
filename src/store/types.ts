/**
 * The storage contract every hx backend implements.
 *
 * A store holds immutable objects under `/`-separated keys. It knows nothing about vaults,
 * encryption or history: it moves bytes, atomically.
 *
 * @module
 */

import type { ErrorCategory } from "./errors.ts";

/** One object as a listing or `stat` reports it. */
export interface ObjectInfo {
  /** The key, exactly as given to `putAtomic`. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** An opaque version tag that changes whenever the content changes, if the backend has one. */
  etag?: string;
  /** When the object was last written, if the backend knows. */
  lastModified?: Date;
}

/** Options every store call accepts. */
export interface CallOptions {
  /** Aborts the call; the store rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@linkcode SyncStore.get} and {@linkcode SyncStore.getIfChanged}. */
export interface GetOptions extends CallOptions {
  /**
   * Refuse objects larger than this many bytes with a `too_large` error, checked while
   * reading so that an oversized object is never held in memory whole.
   */
  maxBytes?: number;
}

/** Options of {@linkcode SyncStore.getStream}. */
export interface GetStreamOptions extends CallOptions {
  /** The stream errors with `too_large` once more than this many bytes have been read. */
  maxBytes?: number;
  /**
   * The retry policy for the requests of this call (set by the retry decorator): a backend
   * that reads a large object in several requests runs each through it.
   */
  retrier?: Retrier;
}

/** What {@linkcode SyncStore.get} returns. */
export interface GetResult {
  /** The object's bytes. */
  data: Uint8Array;
  /** The object's etag, if the backend has one. */
  etag?: string;
}

/** What {@linkcode SyncStore.getStream} returns. */
export interface StreamResult {
  /** The object's bytes; cancel it to stop reading early. */
  stream: ReadableStream<Uint8Array>;
  /** Size and etag of the object being read. */
  info: ObjectInfo;
}

/**
 * A body that can be read more than once: a retry opens it again (restic's `RewindReader`
 * in spirit). Each `open()` returns a fresh stream of the same object; the bytes may differ
 * between opens (a fresh encryption) as long as each is a whole, valid object.
 */
export interface ReplayableBody {
  /** A new stream of the body, from its start. */
  open(): ReadableStream<Uint8Array>;
  /** Its length in bytes, when known before reading (lets a backend choose single or multipart). */
  size?: number;
}

/** What `putAtomic` accepts: bytes, or a body that can be opened again on retry. */
export type PutBody = Uint8Array | ReplayableBody;

/** Context of one attempt-worthy request, for a {@linkcode Retrier}. */
export interface RetryContext {
  /** What is attempted (`put part`, `complete multipart`, …), for logs and counts. */
  op: string;
  /** The key involved. */
  key: string;
  /** Stops retrying (and waiting) when aborted. */
  signal?: AbortSignal | undefined;
}

/**
 * Runs an operation under the retry policy in force: what the retry decorator passes to a
 * backend that makes several requests for one call (each multipart part), so that every
 * request is retried by one policy with one clock.
 */
export interface Retrier {
  /** Runs `fn` until it succeeds, fails permanently, or the policy gives up. */
  run<T>(fn: () => Promise<T>, ctx: RetryContext): Promise<T>;
}

/** Options of {@linkcode SyncStore.putAtomic}. */
export interface PutOptions extends CallOptions {
  /**
   * Write only if no object exists at the key; otherwise reject with a `precondition`
   * error. Backends without native support emulate it with a check before the write
   * ({@linkcode StoreCapabilities.conditionalPut} says which).
   */
  ifAbsent?: boolean;
  /** Called as bytes are written, with the total when known. */
  onProgress?: (done: number, total?: number) => void;
  /**
   * The retry policy for the requests of this call (set by the retry decorator). A backend
   * that makes several requests for one call runs each through it, and marks what it
   * finally throws as exhausted.
   */
  retrier?: Retrier;
}

/** What {@linkcode SyncStore.putAtomic} reports about the object it published. */
export interface PutResult {
  /** The new object's etag, if the backend has one. */
  etag?: string;
}

/** What a backend can do, declared as data so callers never test for a class. */
export interface StoreCapabilities {
  /** Overwriting an existing key replaces it atomically (readers see old or new). */
  atomicReplace: boolean;
  /** `ifAbsent` is enforced by the backend itself, not by a check before the write. */
  conditionalPut: boolean;
  /** `getIfChanged` avoids transferring unchanged objects. */
  conditionalGet: boolean;
  /** How many calls the backend serves well at once. */
  maxConcurrency: number;
  /**
   * The backend reports each request it makes to the meter it was opened with (S3: every
   * HTTP request); otherwise the metering decorator counts one request per call.
   */
  metersRequests: boolean;
}

/** Requests counted by a {@linkcode RequestObserver}. */
export type RequestKind =
  | "list"
  | "get"
  | "put"
  | "head"
  | "delete"
  | "create"
  | "part"
  | "complete"
  | "abort";

/** Told about each request a store makes, and each retry: how metering sees a backend. */
export interface RequestObserver {
  /** One request was sent (counted whether or not it succeeded). */
  request(kind: RequestKind): void;
  /** Bytes of object data read or written. */
  bytes(direction: "read" | "written", n: number): void;
  /** A failed attempt is about to be retried. */
  retry(category: ErrorCategory): void;
}

/** What an opener may consult besides the URI: environment, home directory, meter. */
export interface StoreEnvironment {
  /** Reads an environment variable. Defaults to `Deno.env.get`. */
  getEnv?: (name: string) => string | undefined;
  /** The user's home directory (for `~` and `~/.aws`). Defaults to `$HOME`. */
  home?: string;
  /** Told about every request of backends that meter themselves. */
  observer?: RequestObserver;
}

/**
 * The backend contract of hx.
 *
 * - Keys are validated before any I/O ({@linkcode validateKey}): relative, `/`-separated,
 *   no `..`, `.` or empty segments, no backslash or NUL, at most 1024 bytes. A bad key
 *   rejects with an `invalid_input` {@linkcode StoreError}.
 * - `list` yields every object under the prefix exactly once, in no promised order, and
 *   never yields a backend's own staging files.
 * - `get`, `getIfChanged` and `getStream` on a missing key reject with
 *   {@linkcode NotFoundError}; `stat` resolves to `null`.
 * - `putAtomic` publishes all or nothing: until it resolves, readers see the previous
 *   object (or none), never a partial one; if it rejects, nothing new is visible.
 * - `delete` is idempotent: deleting a missing key succeeds.
 * - Every call takes an `AbortSignal`; an aborted call rejects and leaves no partial object.
 * - Every failure is a {@linkcode StoreError} with a category; the backend decides whether
 *   it is retryable.
 * - A store is safe to call concurrently, including concurrent writers of the same key
 *   (one of them wins whole).
 */
export interface SyncStore {
  /** A description safe to print: scheme and location, never a secret. */
  readonly name: string;
  /** What this backend can do. */
  readonly capabilities: StoreCapabilities;
  /** Every object whose key starts with `prefix`. */
  list(prefix: string, opts?: CallOptions): AsyncIterable<ObjectInfo>;
  /** The whole object. */
  get(key: string, opts?: GetOptions): Promise<GetResult>;
  /** The whole object, or `null` when its etag is still `etag` (nothing transferred). */
  getIfChanged(key: string, etag: string, opts?: GetOptions): Promise<GetResult | null>;
  /** The object as a stream, for objects too large to hold in memory. */
  getStream(key: string, opts?: GetStreamOptions): Promise<StreamResult>;
  /** Publish `body` at `key` atomically. */
  putAtomic(key: string, body: PutBody, opts?: PutOptions): Promise<PutResult>;
  /** Size and etag of the object, or `null` if absent. */
  stat(key: string, opts?: CallOptions): Promise<ObjectInfo | null>;
  /** Remove the object; succeeds if it is already absent. */
  delete(key: string, opts?: CallOptions): Promise<void>;
  /**
   * Aborts unfinished uploads (S3 multipart) under `prefix` started more than
   * `olderThanMs` ago, and every unfinished upload of the exact `keys` whatever its age
   * (uploads of those keys the caller is about to redo). Backends without such uploads
   * leave it out.
   *
   * @returns How many uploads were aborted.
   */
  abortStaleUploads?(
    prefix: string,
    opts: { olderThanMs: number; keys?: readonly string[] } & CallOptions,
  ): Promise<number>;
  /** Release resources (connections, servers). Optional. */
  close?(): Promise<void>;
}

/**
 * Whether a put body is plain bytes.
 *
 * @param body The body.
 * @returns `true` for a `Uint8Array`.
 */
export function isBytes(body: PutBody): body is Uint8Array {
  return body instanceof Uint8Array;
}
