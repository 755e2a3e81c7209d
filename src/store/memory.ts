/**
 * An in-memory store, for tests and for embedding hx where nothing should touch disk.
 *
 * @module
 */

import { collect, limitStream, streamOf } from "./_bytes.ts";
import { NotFoundError, PreconditionError, throwIfAborted, TooLargeError } from "./errors.ts";
import { validateKey, validatePrefix } from "./keys.ts";
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
  type StoreCapabilities,
  type StreamResult,
  type SyncStore,
} from "./types.ts";

interface Entry {
  data: Uint8Array;
  etag: string;
  lastModified: Date;
}

/**
 * A {@linkcode SyncStore} that keeps objects in a `Map`. Objects are copied in and out, so
 * callers can never change what is stored by mutating an array.
 *
 * @example Round trip
 * ```ts
 * import { MemoryStore } from "./memory.ts";
 * const store = new MemoryStore();
 * await store.putAtomic("a/b", new TextEncoder().encode("hi"));
 * const got = await store.get("a/b");
 * console.assert(new TextDecoder().decode(got.data) === "hi");
 * ```
 */
export class MemoryStore implements SyncStore {
  /** Printable name. */
  readonly name: string;
  /** Memory supports everything natively. */
  readonly capabilities: StoreCapabilities = {
    atomicReplace: true,
    conditionalPut: true,
    conditionalGet: true,
    maxConcurrency: 64,
    metersRequests: false,
  };
  #objects = new Map<string, Entry>();
  #version = 0;

  /**
   * Creates an empty store.
   *
   * @param name A label shown in messages, e.g. `memory:test`.
   */
  constructor(name = "memory:") {
    this.name = name;
  }

  /** Lists the keys under `prefix` (a snapshot taken when iteration starts). */
  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    throwIfAborted(opts.signal, this.name);
    const snapshot = [...this.#objects].filter(([key]) => key.startsWith(prefix));
    for (const [key, entry] of snapshot) {
      throwIfAborted(opts.signal, this.name);
      yield infoOf(key, entry);
    }
  }

  /** Reads a whole object. */
  get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    return settle(() => this.#read(key, opts)!);
  }

  /** Reads a whole object unless its etag is still `etag`. */
  getIfChanged(key: string, etag: string, opts: GetOptions = {}): Promise<GetResult | null> {
    return settle(() => this.#read(key, opts, etag));
  }

  #read(key: string, opts: GetOptions, etag?: string): GetResult | null {
    const entry = this.#entry(key, opts);
    if (etag !== undefined && etag === entry.etag) return null;
    if (opts.maxBytes !== undefined && entry.data.byteLength > opts.maxBytes) {
      throw new TooLargeError(key, opts.maxBytes, { store: this.name });
    }
    return { data: entry.data.slice(), etag: entry.etag };
  }

  /** Reads an object as a stream. */
  getStream(key: string, opts: GetStreamOptions = {}): Promise<StreamResult> {
    return settle(() => {
      const entry = this.#entry(key, opts);
      let stream = streamOf(entry.data.slice());
      if (opts.maxBytes !== undefined) {
        stream = limitStream(stream, { key, store: this.name, maxBytes: opts.maxBytes });
      }
      return { stream, info: infoOf(key, entry) };
    });
  }

  /** Stores an object; the map is updated in one step, after the body is complete. */
  async putAtomic(key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    validateKey(key);
    throwIfAborted(opts.signal, this.name);
    const bytes = isBytes(body)
      ? body.slice()
      : await collect(body.open(), { key, store: this.name, signal: opts.signal });
    throwIfAborted(opts.signal, this.name);
    if (opts.ifAbsent && this.#objects.has(key)) {
      throw new PreconditionError(key, { store: this.name });
    }
    const etag = `"m${++this.#version}"`;
    this.#objects.set(key, { data: bytes, etag, lastModified: new Date() });
    opts.onProgress?.(bytes.byteLength, bytes.byteLength);
    return { etag };
  }

  /** Size and etag of an object, or `null`. */
  stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo | null> {
    return settle(() => {
      validateKey(key);
      throwIfAborted(opts.signal, this.name);
      const entry = this.#objects.get(key);
      return entry === undefined ? null : infoOf(key, entry);
    });
  }

  /** Removes an object if present. */
  delete(key: string, opts: CallOptions = {}): Promise<void> {
    return settle(() => {
      validateKey(key);
      throwIfAborted(opts.signal, this.name);
      this.#objects.delete(key);
    });
  }

  #entry(key: string, opts: CallOptions): Entry {
    validateKey(key);
    throwIfAborted(opts.signal, this.name);
    const entry = this.#objects.get(key);
    if (entry === undefined) throw new NotFoundError(key, { store: this.name });
    return entry;
  }
}

/** Runs `fn` now and turns what it returns or throws into a promise. */
function settle<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}

function infoOf(key: string, entry: Entry): ObjectInfo {
  return { key, size: entry.data.byteLength, etag: entry.etag, lastModified: entry.lastModified };
}
