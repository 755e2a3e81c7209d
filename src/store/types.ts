/**
 * The storage contract every hx backend implements.
 *
 * A store holds immutable objects under `/`-separated keys. It knows nothing about vaults,
 * encryption or history: it moves bytes, atomically.
 *
 * @module
 */

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

/** Options of {@linkcode SyncStore.get}. */
export interface GetOptions extends CallOptions {
  /**
   * Refuse objects larger than this many bytes with a `too_large` error, checked while
   * reading so that an oversized object is never held in memory whole.
   */
  maxBytes?: number;
  /** Return `"not-modified"` instead of the data when the object's etag equals this. */
  ifNoneMatch?: string;
}

/** Options of {@linkcode SyncStore.getStream}. */
export interface GetStreamOptions extends CallOptions {
  /** The stream errors with `too_large` once more than this many bytes have been read. */
  maxBytes?: number;
}

/** What {@linkcode SyncStore.get} returns for an object that exists. */
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

/** Options of {@linkcode SyncStore.putAtomic}. */
export interface PutOptions extends CallOptions {
  /**
   * Write only if no object exists at the key; otherwise reject with a `precondition`
   * error. Backends without native support emulate it with a check before the write
   * ({@linkcode StoreCapabilities.conditionalPut} says which).
   */
  ifAbsent?: boolean;
  /** Size of a streamed body when known; lets backends pick single or multipart upload. */
  size?: number;
  /** Called as bytes are written, with the total when known. */
  onProgress?: (done: number, total?: number) => void;
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
  /** `ifNoneMatch` on `get` avoids transferring unchanged objects. */
  conditionalGet: boolean;
  /** How many calls the backend serves well at once. */
  maxConcurrency: number;
}

/**
 * The backend contract of hx.
 *
 * - Keys are validated before any I/O ({@linkcode validateKey}): relative, `/`-separated,
 *   no `..`, `.` or empty segments, no backslash or NUL, at most 1024 bytes. A bad key
 *   rejects with an `invalid_input` {@linkcode StoreError}.
 * - `list` yields every object under the prefix exactly once, in no promised order, and
 *   never yields a backend's own staging files.
 * - `get`, `getStream` and `stat` on a missing key: `get`/`getStream` reject with
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
  /** The whole object, or `"not-modified"` when `ifNoneMatch` matched. */
  get(key: string, opts?: GetOptions): Promise<GetResult | "not-modified">;
  /** The object as a stream, for objects too large to hold in memory. */
  getStream(key: string, opts?: GetStreamOptions): Promise<StreamResult>;
  /** Publish `data` at `key` atomically. */
  putAtomic(
    key: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    opts?: PutOptions,
  ): Promise<PutResult>;
  /** Size and etag of the object, or `null` if absent. */
  stat(key: string, opts?: CallOptions): Promise<ObjectInfo | null>;
  /** Remove the object; succeeds if it is already absent. */
  delete(key: string, opts?: CallOptions): Promise<void>;
  /** Release resources (connections, servers). Optional. */
  close?(): Promise<void>;
}
