/**
 * A store on any S3-compatible service (AWS S3, MinIO, R2, B2, Wasabi): the store
 * operations, on the signed transport. Large objects go up as multipart uploads and come
 * down as parallel ranged GETs; every request is counted on the meter the store was opened
 * with, and retried by the retry policy passed down with each call.
 *
 * @module
 */

import { ownedByteStream } from "../../_byte_stream.ts";
import { concat, limitStream } from "../_bytes.ts";
import { PreconditionError, StoreError, throwIfAborted, TooLargeError } from "../errors.ts";
import { validateKey, validatePrefix } from "../keys.ts";
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
  type StoreCapabilities,
  type StoreEnvironment,
  type StreamResult,
  type SyncStore,
} from "../types.ts";
import { formatS3Config, type S3Config, type S3Credentials } from "./config.ts";
import { resolveS3Auth } from "./credentials.ts";
import type { HttpResponse } from "./http.ts";
import { uploadMultipart } from "./multipart.ts";
import { S3Transport } from "./transport.ts";
import { abortStaleUploads } from "./uploads.ts";
import { parseListPage } from "./xml.ts";

/** Options of {@linkcode S3Store}. */
export interface S3StoreOptions {
  config: S3Config;
  credentials: S3Credentials;
  region: string;
  /** Told about every request. */
  observer?: StoreEnvironment["observer"];
  /** This machine's clock, for signing (ms). Default `Date.now`. */
  now?: () => number;
}

const ONCE: Retrier = { run: (fn) => fn() };

/**
 * A {@linkcode SyncStore} on an S3 bucket (and an optional key prefix).
 *
 * @example Open through a URI (credentials from the environment or ~/.aws)
 * ```ts ignore
 * import { openStore } from "../open.ts";
 * const store = await openStore("s3://my-bucket/hx?region=eu-west-1");
 * ```
 */
export class S3Store implements SyncStore {
  /** The URI without secrets. */
  readonly name: string;
  /** What S3 can do; put-if-absent is native only with `conditional_put=true`. */
  readonly capabilities: StoreCapabilities;
  readonly #config: S3Config;
  readonly #t: S3Transport;

  /** @param opts Parsed config, resolved credentials and region, observer and clock. */
  constructor(opts: S3StoreOptions) {
    this.#config = opts.config;
    this.name = formatS3Config(opts.config);
    this.#t = new S3Transport(this.name, opts);
    this.capabilities = {
      atomicReplace: true,
      conditionalPut: opts.config.conditionalPut === "on",
      conditionalGet: true,
      maxConcurrency: 32,
      metersRequests: true,
    };
  }

  /** The transport, for tests and tools that send their own requests (creating a bucket). */
  get transport(): S3Transport {
    return this.#t;
  }

  /** Lists with ListObjectsV2, a page of 1000 keys per request, following continuation tokens. */
  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const full = this.#config.prefix + prefix;
    let token: string | undefined;
    do {
      const action = `list ${prefix || "/"}`;
      const { text } = await this.#t.text({
        method: "GET",
        query: {
          "list-type": "2",
          prefix: full,
          "encoding-type": "url",
          "max-keys": "1000",
          "continuation-token": token,
        },
        action,
        kind: "list",
        signal: opts.signal,
      });
      let page;
      try {
        page = parseListPage(text);
      } catch (err) {
        throw new StoreError("unknown", `Cannot ${action}: ${(err as Error).message}`, {
          store: this.name,
          cause: err,
          retryable: true,
        });
      }
      for (const o of page.objects) {
        if (!o.key.startsWith(full)) continue;
        const key = o.key.slice(this.#config.prefix.length);
        try {
          validateKey(key);
        } catch {
          continue; // a key no store call could address (e.g. with ".." segments)
        }
        const info: ObjectInfo = { key, size: o.size };
        if (o.etag !== undefined) info.etag = o.etag;
        if (o.lastModified !== undefined) info.lastModified = o.lastModified;
        yield info;
      }
      token = page.nextToken;
    } while (token !== undefined);
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    return (await this.#read(key, undefined, opts))!;
  }

  getIfChanged(key: string, etag: string, opts: GetOptions = {}): Promise<GetResult | null> {
    return this.#read(key, etag, opts);
  }

  async #read(key: string, etag: string | undefined, opts: GetOptions): Promise<GetResult | null> {
    validateKey(key);
    const action = `read ${key}`;
    const res = await this.#t.send({
      method: "GET",
      key,
      headers: etag === undefined ? {} : { "if-none-match": etag },
      accept: [304],
      action,
      kind: "get",
      signal: opts.signal,
    });
    if (res.status === 304) {
      await res.discard();
      return null;
    }
    const max = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
    if (res.contentLength !== null && res.contentLength > max) {
      res.close();
      throw new TooLargeError(key, max, { store: this.name });
    }
    let data: Uint8Array;
    try {
      data = await res.bytes(max);
    } catch (err) {
      throw this.#t.failure(err, { action, key, signal: opts.signal });
    }
    this.#t.countBytes("read", data.byteLength);
    const tag = res.headers.get("etag");
    return tag === null ? { data } : { data, etag: tag };
  }

  /**
   * Streams an object. A large one comes down as ranged GETs of the part size, several at
   * once (`concurrency`), each retried on its own and pinned to the first answer's ETag,
   * into buffers that are reused, and is handed out in order: memory stays at part size ×
   * (concurrency + 1) whatever the object's size. The stream is a byte stream: a BYOB
   * reader gets the bytes copied into its own buffer.
   */
  async getStream(key: string, opts: GetStreamOptions = {}): Promise<StreamResult> {
    validateKey(key);
    const range = this.#config.partSize;
    const retrier = opts.retrier ?? ONCE;
    const first = await this.#t.send({
      method: "GET",
      key,
      headers: { range: `bytes=0-${range - 1}` },
      accept: [416],
      action: `read ${key}`,
      kind: "get",
      signal: opts.signal,
    });
    if (first.status === 416) {
      // An empty object has no byte 0.
      await first.discard();
      return this.#whole(
        key,
        await this.#t.send({
          method: "GET",
          key,
          action: `read ${key}`,
          kind: "get",
          signal: opts.signal,
        }),
        opts,
      );
    }
    const total = first.status === 206 ? totalOf(first.headers.get("content-range")) : null;
    if (total === null || total <= range) return this.#whole(key, first, opts, total ?? undefined);
    if (opts.maxBytes !== undefined && total > opts.maxBytes) {
      first.close();
      throw new TooLargeError(key, opts.maxBytes, { store: this.name });
    }
    const etag = first.headers.get("etag");
    const info: ObjectInfo = { key, size: total };
    if (etag !== null) info.etag = etag;
    const pool: Uint8Array[] = [];
    const bufferFor = (start: number) => {
      const size = Math.min(total - start, range);
      const reused = pool.pop();
      return reused === undefined
        ? new Uint8Array(range).subarray(0, size)
        : reused.subarray(0, size);
    };
    const fetchRange = (start: number): Promise<Uint8Array> => {
      const into = bufferFor(start);
      const end = start + into.byteLength - 1;
      return retrier.run(async () => {
        const res = await this.#t.send({
          method: "GET",
          key,
          headers: {
            range: `bytes=${start}-${end}`,
            ...(etag === null ? {} : { "if-match": etag }),
          },
          action: `read bytes ${start}-${end} of ${key}`,
          kind: "get",
          signal: opts.signal,
        });
        return await this.#readRange(res, key, start, into, opts.signal);
      }, { op: "get range", key, signal: opts.signal });
    };
    const firstBody = this.#readRange(first, key, 0, bufferFor(0), opts.signal);
    firstBody.catch(() => {});
    const starts: number[] = [];
    for (let at = range; at < total; at += range) starts.push(at);
    const ahead: Promise<Uint8Array>[] = [firstBody];
    const depth = Math.max(1, this.#config.concurrency);
    const fill = () => {
      while (ahead.length < depth && starts.length > 0) {
        const p = fetchRange(starts.shift()!);
        p.catch(() => {}); // handled when its turn comes
        ahead.push(p);
      }
    };
    fill();
    const stream = ownedByteStream({
      next: async () => {
        const next = ahead.shift();
        if (next === undefined) return null;
        const chunk = await next;
        this.#t.countBytes("read", chunk.byteLength);
        return chunk;
      },
      recycle: (chunk) => {
        pool.push(new Uint8Array(chunk.buffer));
        fill();
      },
      cancel: () => {
        starts.length = 0;
      },
    });
    return { stream, info };
  }

  /** Reads one ranged answer whole into `into` (its length is the range's). */
  async #readRange(
    res: HttpResponse,
    key: string,
    start: number,
    into: Uint8Array,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    const want = into.byteLength;
    const action = `read bytes ${start}-${start + want - 1} of ${key}`;
    const wrong = (what: string) =>
      new StoreError("network", `Cannot ${action}: the answer ${what}`, {
        store: this.name,
        key,
        retryable: true,
      });
    if (res.contentLength !== null && res.contentLength !== want) {
      res.close();
      throw wrong(`holds ${res.contentLength} bytes, not the ${want} asked for`);
    }
    try {
      let at = 0;
      while (at < want) {
        const n = await res.read(into.subarray(at));
        if (n === null) break;
        at += n;
      }
      if (at !== want) throw wrong("ended early");
      if ((await res.read(new Uint8Array(1))) !== null) {
        throw wrong(`holds more than the ${want} bytes asked for`);
      }
      return into;
    } catch (err) {
      res.close();
      throw this.#t.failure(err, { action, key, signal });
    }
  }

  /** The stream of an answer that holds the whole object, read into one reused buffer. */
  #whole(key: string, res: HttpResponse, opts: GetStreamOptions, size?: number): StreamResult {
    const length = size ?? res.contentLength ?? 0;
    if (opts.maxBytes !== undefined && length > opts.maxBytes) {
      res.close();
      throw new TooLargeError(key, opts.maxBytes, { store: this.name });
    }
    const t = this.#t;
    const action = `read ${key}`;
    let got = 0;
    const piece = new Uint8Array(Math.min(Math.max(length, 1), 256 * 1024));
    let stream = ownedByteStream({
      async next() {
        try {
          const n = await res.read(piece);
          if (n === null) {
            if (got !== length) {
              throw new StoreError(
                "network",
                `Cannot ${action}: the answer ended after ${got} of ${length} bytes`,
                { store: t.name, key, retryable: true },
              );
            }
            return null;
          }
          got += n;
          t.countBytes("read", n);
          return piece.subarray(0, n);
        } catch (err) {
          res.close();
          throw t.failure(err, { action, key, signal: opts.signal });
        }
      },
      recycle() {}, // the one piece is read into again
      cancel: () => res.close(),
    });
    if (opts.maxBytes !== undefined) {
      stream = limitStream(stream, { key, store: this.name, maxBytes: opts.maxBytes });
    }
    const info: ObjectInfo = { key, size: length };
    const etag = res.headers.get("etag");
    if (etag !== null) info.etag = etag;
    return { stream, info };
  }

  /**
   * Publishes an object: one PUT up to `multipart_threshold_mib`, a multipart upload above
   * it (or for a body of unknown size that turns out larger). Put-if-absent sends
   * `If-None-Match: *` when the server is known to enforce it, and checks with HEAD first
   * otherwise.
   */
  async putAtomic(key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    validateKey(key);
    throwIfAborted(opts.signal, this.name);
    const native = this.capabilities.conditionalPut;
    if (opts.ifAbsent && !native && (await this.stat(key, opts)) !== null) {
      throw new PreconditionError(key, { store: this.name });
    }
    const threshold = this.#config.multipartThreshold;
    const multipart = {
      partSize: this.#config.partSize,
      concurrency: this.#config.concurrency,
      signal: opts.signal,
      onProgress: opts.onProgress,
      retrier: opts.retrier,
      stat: () => this.stat(key),
    };
    if (isBytes(body)) {
      if (body.byteLength <= threshold) return await this.#putSingle(key, body, opts, native);
      return await uploadMultipart(this.#t, key, { kind: "bytes", data: body }, {
        ...multipart,
        size: body.byteLength,
      });
    }
    // A body of unknown or small size is read up to the threshold first: a small one still
    // goes up in one PUT. A body known to be large goes straight to multipart.
    const stream = body.open();
    const head: Uint8Array[] = [];
    if (body.size === undefined || body.size <= threshold) {
      const reader = stream.getReader();
      let size = 0;
      try {
        while (size <= threshold) {
          throwIfAborted(opts.signal, this.name);
          const { done, value } = await reader.read();
          if (done) return await this.#putSingle(key, concat(head, size), opts, native);
          head.push(value);
          size += value.byteLength;
        }
      } catch (err) {
        await reader.cancel(err).catch(() => {});
        throw err;
      }
      reader.releaseLock();
    }
    return await uploadMultipart(this.#t, key, { kind: "stream", head, stream }, {
      ...multipart,
      size: body.size,
    });
  }

  async #putSingle(
    key: string,
    body: Uint8Array,
    opts: PutOptions,
    native: boolean,
  ): Promise<PutResult> {
    const res = await this.#t.empty({
      method: "PUT",
      key,
      body,
      headers: {
        "content-type": "application/octet-stream",
        ...(opts.ifAbsent && native ? { "if-none-match": "*" } : {}),
      },
      action: `put ${key}`,
      kind: "put",
      signal: opts.signal,
      ...(opts.onProgress === undefined
        ? {}
        : { onBodyProgress: (n: number) => opts.onProgress!(n, body.byteLength) }),
    });
    this.#t.countBytes("written", body.byteLength);
    opts.onProgress?.(body.byteLength, body.byteLength);
    const etag = res.headers.get("etag");
    return etag === null ? {} : { etag };
  }

  async stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo | null> {
    validateKey(key);
    const res = await this.#t.empty({
      method: "HEAD",
      key,
      accept: [404],
      action: `stat ${key}`,
      kind: "head",
      signal: opts.signal,
    });
    if (res.status === 404) return null;
    const info: ObjectInfo = { key, size: Number(res.headers.get("content-length") ?? "0") };
    const etag = res.headers.get("etag");
    if (etag !== null) info.etag = etag;
    const modified = res.headers.get("last-modified");
    if (modified !== null) info.lastModified = new Date(modified);
    return info;
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    validateKey(key);
    await this.#t.empty({
      method: "DELETE",
      key,
      accept: [404],
      action: `delete ${key}`,
      kind: "delete",
      signal: opts.signal,
    });
  }

  /**
   * Aborts unfinished multipart uploads: those under `prefix` older than `olderThanMs`
   * (found by listing the prefix, where the server can) and every one of the exact `keys`.
   */
  abortStaleUploads(
    prefix: string,
    opts: { olderThanMs: number; keys?: readonly string[] } & CallOptions,
  ): Promise<number> {
    validatePrefix(prefix);
    for (const key of opts.keys ?? []) validateKey(key);
    return abortStaleUploads(this.#t, prefix, opts);
  }

  /** Closes the store's connections. */
  close(): Promise<void> {
    this.#t.close();
    return Promise.resolve();
  }
}

/** The total size in a `Content-Range: bytes a-b/total` header. */
function totalOf(header: string | null): number | null {
  const m = /\/(\d+)\s*$/.exec(header ?? "");
  return m === null ? null : Number(m[1]);
}

/**
 * Opens an S3 store: resolves credentials and region (URI, environment, profile) first.
 *
 * @param config The parsed URI.
 * @param env Environment, home directory and request observer.
 * @returns The store.
 */
export async function openS3Store(config: S3Config, env: StoreEnvironment = {}): Promise<S3Store> {
  const { credentials, region } = await resolveS3Auth(config, env);
  return new S3Store({
    config,
    credentials,
    region,
    ...(env.observer === undefined ? {} : { observer: env.observer }),
  });
}
