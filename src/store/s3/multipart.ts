/**
 * Multipart upload, written by hand: parts are cut from the source into buffers of the
 * part size (so each has a length and can be sent again), at most `concurrency` are in
 * flight, each request (create, every part, complete) runs through the retry policy the
 * store was given, CompleteMultipartUpload is checked for an error body even on 200, and
 * the upload is aborted on any failure. Readers see nothing until Complete succeeds, then
 * the whole object. Memory is bounded by part size × (concurrency + 1), never by the
 * object's size; a source that is already in memory is sent from it without a copy.
 *
 * @module
 */

import { ByteReader } from "../../_byte_stream.ts";
import { abortError, StoreError } from "../errors.ts";
import type { ObjectInfo, Retrier } from "../types.ts";
import { errorFromBody } from "./errors.ts";
import type { S3Transport } from "./transport.ts";
import { completeBody, parseCompleteResult, parseUploadId } from "./xml.ts";

/** Where the bytes of a multipart upload come from. */
export type PartSource =
  | { kind: "bytes"; data: Uint8Array }
  | {
    kind: "stream";
    /** Chunks already read from the stream. */
    head: readonly Uint8Array[];
    /** The rest (read straight into part buffers when it is a byte stream). */
    stream: ReadableStream<Uint8Array>;
  };

/** Options of {@linkcode uploadMultipart}. */
export interface MultipartOptions {
  partSize: number;
  concurrency: number;
  signal?: AbortSignal | undefined;
  /** Total size when known, for progress. */
  size?: number | undefined;
  onProgress?: ((done: number, total?: number) => void) | undefined;
  /** The retry policy of each request; without one, each is tried once. */
  retrier?: Retrier | undefined;
  /** Reads the object's info (to learn whether a Complete whose answer was lost landed). */
  stat: () => Promise<ObjectInfo | null>;
}

const ONCE: Retrier = { run: (fn) => fn() };

/**
 * A copy of a failure that the retry decorator will not retry again: the requests of the
 * upload were already retried.
 */
function exhausted(err: unknown): unknown {
  if (!(err instanceof StoreError) || !err.retryable) return err;
  return new StoreError(err.category, err.message, {
    cause: err,
    exhausted: true,
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    ...(err.store === undefined ? {} : { store: err.store }),
    ...(err.key === undefined ? {} : { key: err.key }),
    ...(err.status === undefined ? {} : { status: err.status }),
  });
}

/**
 * Uploads `source` as one object at `key`.
 *
 * @param t The transport.
 * @param key The object key.
 * @param source The bytes, or a stream and what was already read from it.
 * @param opts Part size, concurrency, signal, progress and retry policy.
 * @returns The new object's etag, if the server gave one.
 */
export async function uploadMultipart(
  t: S3Transport,
  key: string,
  source: PartSource,
  opts: MultipartOptions,
): Promise<{ etag?: string }> {
  const retrier = opts.retrier ?? ONCE;
  const signal = opts.signal;
  let uploadId: string;
  try {
    uploadId = await retrier.run(async () => {
      const { text } = await t.text({
        method: "POST",
        key,
        query: { uploads: "" },
        action: `start uploading ${key}`,
        kind: "create",
        signal,
      });
      try {
        return parseUploadId(text);
      } catch (err) {
        throw new StoreError(
          "unknown",
          `Cannot start uploading ${key}: ${(err as Error).message}`,
          {
            store: t.name,
            key,
            retryable: true,
          },
        );
      }
    }, { op: "create multipart", key, signal });
  } catch (err) {
    if (source.kind === "stream") await source.stream.cancel(err).catch(() => {});
    throw exhausted(err);
  }

  const parts: { partNumber: number; etag: string }[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  let partNumber = 0;
  let done = 0;
  let total = 0;
  const pool: Uint8Array[] = [];
  let readFrom: ByteReader | null = null;

  const sendPart = (n: number, body: Uint8Array) =>
    retrier.run(async () => {
      const res = await t.empty({
        method: "PUT",
        key,
        query: { partNumber: String(n), uploadId },
        body,
        action: `upload part ${n} of ${key}`,
        kind: "part",
        signal,
      });
      const etag = res.headers.get("etag");
      if (etag === null) {
        throw new StoreError(
          "unknown",
          `Cannot upload part ${n} of ${key}: no ETag in the answer`,
          {
            store: t.name,
            key,
            retryable: true,
          },
        );
      }
      return etag;
    }, { op: "put part", key: `${key} part ${n}`, signal });

  const launch = (body: Uint8Array, pooled: boolean) => {
    const n = ++partNumber;
    const task = sendPart(n, body).then((etag) => {
      parts.push({ partNumber: n, etag });
      done += body.byteLength;
      t.countBytes("written", body.byteLength);
      opts.onProgress?.(done, opts.size);
    }, (error) => {
      failure ??= { error };
    }).finally(() => {
      inflight.delete(task);
      if (pooled && body.byteLength === opts.partSize) pool.push(body);
    });
    inflight.add(task);
  };
  const waitForSlot = async () => {
    while (inflight.size >= opts.concurrency) await Promise.race(inflight);
    if (failure !== null) throw failure.error;
    if (signal?.aborted) throw abortError(signal, t.name);
  };

  try {
    if (source.kind === "bytes") {
      const data = source.data;
      total = data.byteLength;
      for (let at = 0; at < data.byteLength || partNumber === 0; at += opts.partSize) {
        await waitForSlot();
        launch(data.subarray(at, Math.min(at + opts.partSize, data.byteLength)), false);
      }
    } else {
      const fresh = () => pool.pop() ?? new Uint8Array(opts.partSize);
      let buffer = fresh();
      let filled = 0;
      const launchFull = async () => {
        await waitForSlot();
        launch(buffer, true);
        buffer = fresh();
        filled = 0;
      };
      for (const chunk of source.head) {
        for (let at = 0; at < chunk.byteLength;) {
          const n = Math.min(chunk.byteLength - at, opts.partSize - filled);
          buffer.set(chunk.subarray(at, at + n), filled);
          filled += n;
          total += n;
          at += n;
          if (filled === opts.partSize) await launchFull();
        }
      }
      const reader = new ByteReader(source.stream);
      readFrom = reader;
      while (!reader.ended) {
        if (signal?.aborted) throw abortError(signal, t.name);
        const read = await reader.fill(buffer, filled);
        total += read.filled - filled;
        buffer = read.buffer;
        filled = read.filled;
        if (filled === opts.partSize) await launchFull();
      }
      if (filled > 0 || partNumber === 0) {
        await waitForSlot();
        launch(buffer.subarray(0, filled), false);
      }
    }
    await Promise.all(inflight);
    if (failure !== null) throw (failure as { error: unknown }).error;
    parts.sort((a, b) => a.partNumber - b.partNumber);
    return await complete(t, key, uploadId, parts, total, opts, retrier);
  } catch (err) {
    await Promise.allSettled(inflight);
    if (source.kind === "stream") {
      await (readFrom ?? source.stream).cancel(err).catch(() => {});
    }
    // Retried like every request, and without the caller's signal: an upload the user
    // cancelled must still be aborted, or its parts stay stored (and billed) on the server.
    await retrier.run(
      () =>
        t.empty({
          method: "DELETE",
          key,
          query: { uploadId },
          accept: [404],
          action: `abort the upload of ${key}`,
          kind: "abort",
        }),
      { op: "abort multipart", key },
    ).catch(() => {});
    throw exhausted(err);
  }
}

async function complete(
  t: S3Transport,
  key: string,
  uploadId: string,
  parts: { partNumber: number; etag: string }[],
  total: number,
  opts: MultipartOptions,
  retrier: Retrier,
): Promise<{ etag?: string }> {
  let attempts = 0;
  const body = new TextEncoder().encode(completeBody(parts));
  try {
    return await retrier.run(async () => {
      attempts++;
      const { text } = await t.text({
        method: "POST",
        key,
        query: { uploadId },
        body,
        action: `complete the upload of ${key}`,
        kind: "complete",
        signal: opts.signal,
      });
      const result = parseCompleteResult(text);
      if (result !== null) return result.etag === undefined ? {} : { etag: result.etag };
      // 200 with an <Error> body (S3 may fail a Complete after sending its headers).
      throw errorFromBody(500, text, {
        action: `complete the upload of ${key}`,
        store: t.name,
        key,
      });
    }, { op: "complete multipart", key, signal: opts.signal });
  } catch (err) {
    // An earlier attempt may have completed the upload and lost its answer: S3 then says
    // NoSuchUpload to the retry (other servers fail otherwise). The object tells.
    if (attempts > 1 && !opts.signal?.aborted) {
      const info = await opts.stat().catch(() => null);
      if (info !== null && info.size === total) {
        return info.etag === undefined ? {} : { etag: info.etag };
      }
    }
    throw err;
  }
}
