/**
 * Multipart upload, written by hand: parts are read from the source one at a time into
 * buffers of the part size (so each has a length and can be replayed), at most
 * `concurrency` are in flight, each part is retried on its own, CompleteMultipartUpload is
 * checked for an error body even on 200, and the upload is aborted on any failure. Readers
 * see nothing until Complete succeeds, then the whole object. Memory is bounded by part
 * size × (concurrency + 1), never by the object's size.
 *
 * @module
 */

import { readAbortable } from "../_bytes.ts";
import { abortError } from "../errors.ts";
import { retrying, type RetryOptions } from "../retry.ts";
import type { ObjectInfo } from "../types.ts";

/** The requests a multipart upload makes, provided by the store. */
export interface MultipartIO {
  create(signal?: AbortSignal): Promise<string>;
  uploadPart(
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    signal?: AbortSignal,
  ): Promise<string>;
  complete(
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
    signal?: AbortSignal,
  ): Promise<{ etag?: string }>;
  abort(uploadId: string): Promise<void>;
  stat(): Promise<ObjectInfo | null>;
}

/** Options of {@linkcode uploadMultipart}. */
export interface MultipartOptions {
  partSize: number;
  concurrency: number;
  signal?: AbortSignal | undefined;
  /** Total size when known, for progress. */
  size?: number | undefined;
  onProgress?: ((done: number, total?: number) => void) | undefined;
  /** Retry policy of each part and of Complete. */
  retry?: RetryOptions;
  /** Name of the store, for abort errors. */
  store: string;
}

/**
 * Uploads `head` (bytes already read) followed by the rest of `reader` as one object.
 *
 * @param io The store's requests.
 * @param head Chunks read before deciding on multipart.
 * @param reader The rest of the source (may be already finished).
 * @param opts Part size, concurrency, signal, progress and retry policy.
 * @returns The new object's etag, if the server gave one.
 */
export async function uploadMultipart(
  io: MultipartIO,
  head: readonly Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array> | null,
  opts: MultipartOptions,
): Promise<{ etag?: string }> {
  const uploadId = await retrying(() => io.create(opts.signal), {
    ...opts.retry,
    signal: opts.signal,
  });
  const parts: { partNumber: number; etag: string }[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  let partNumber = 0;
  let done = 0;
  let total = 0;

  // Part buffers are recycled: at most concurrency + 1 exist, whatever the object's size.
  const pool: Uint8Array[] = [];
  const launch = (body: Uint8Array) => {
    const n = ++partNumber;
    const task = retrying(() => io.uploadPart(uploadId, n, body, opts.signal), {
      ...opts.retry,
      signal: opts.signal,
      op: "put part",
      key: String(n),
    }).then((etag) => {
      parts.push({ partNumber: n, etag });
      done += body.byteLength;
      opts.onProgress?.(done, opts.size);
    }, (error) => {
      failure ??= { error };
    }).finally(() => {
      inflight.delete(task);
      if (body.byteLength === opts.partSize) pool.push(body);
    });
    inflight.add(task);
  };
  const waitForSlot = async () => {
    while (inflight.size >= opts.concurrency) await Promise.race(inflight);
    if (failure !== null) throw failure.error;
    if (opts.signal?.aborted) throw abortError(opts.signal, opts.store);
  };

  try {
    const fresh = () => pool.pop() ?? new Uint8Array(opts.partSize);
    let buffer = fresh();
    let filled = 0;
    const feed = async (chunk: Uint8Array) => {
      let at = 0;
      while (at < chunk.byteLength) {
        const n = Math.min(chunk.byteLength - at, opts.partSize - filled);
        buffer.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        total += n;
        if (filled === opts.partSize) {
          await waitForSlot();
          launch(buffer);
          buffer = fresh();
          filled = 0;
        }
      }
    };
    for (const chunk of head) await feed(chunk);
    while (reader !== null) {
      const { done: end, value } = await readAbortable(reader, opts.signal, opts.store);
      if (end) break;
      await feed(value);
    }
    if (filled > 0 || partNumber === 0) {
      await waitForSlot();
      launch(buffer.subarray(0, filled));
    }
    await Promise.all(inflight);
    if (failure !== null) throw (failure as { error: unknown }).error;
    parts.sort((a, b) => a.partNumber - b.partNumber);
    return await complete(io, uploadId, parts, total, opts);
  } catch (err) {
    await Promise.allSettled(inflight);
    await reader?.cancel(err).catch(() => {});
    await io.abort(uploadId).catch(() => {});
    throw err;
  }
}

async function complete(
  io: MultipartIO,
  uploadId: string,
  parts: { partNumber: number; etag: string }[],
  total: number,
  opts: MultipartOptions,
): Promise<{ etag?: string }> {
  let attempts = 0;
  try {
    return await retrying(() => {
      attempts++;
      return io.complete(uploadId, parts, opts.signal);
    }, { ...opts.retry, signal: opts.signal, op: "complete multipart" });
  } catch (err) {
    // An earlier attempt may have completed the upload and lost its answer: S3 then says
    // NoSuchUpload to the retry (other servers fail otherwise). The object tells.
    if (attempts > 1 && !opts.signal?.aborted) {
      const info = await io.stat().catch(() => null);
      if (info !== null && info.size === total) {
        return info.etag === undefined ? {} : { etag: info.etag };
      }
    }
    throw err;
  }
}
