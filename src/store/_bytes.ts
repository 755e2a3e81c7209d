// Private helpers for moving bytes in and out of stores with bounds.

import { abortError, TooLargeError } from "./errors.ts";

/** Where a bounded read came from, for error messages. */
export interface ReadContext {
  key: string;
  store: string;
  maxBytes?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Reads a whole stream into one array, failing with `too_large` past `maxBytes`. */
export async function collect(
  stream: ReadableStream<Uint8Array>,
  ctx: ReadContext,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await readAbortable(reader, ctx.signal, ctx.store);
      if (done) break;
      total += value.byteLength;
      if (ctx.maxBytes !== undefined && total > ctx.maxBytes) {
        throw new TooLargeError(ctx.key, ctx.maxBytes, { store: ctx.store });
      }
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
  return concat(chunks, total);
}

/** Joins chunks into one array. */
export function concat(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const size = total ?? chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A stream that errors with `too_large` once more than `maxBytes` pass through it. */
export function limitStream(
  stream: ReadableStream<Uint8Array>,
  ctx: ReadContext & { maxBytes: number },
): ReadableStream<Uint8Array> {
  let total = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        if (total > ctx.maxBytes) {
          controller.error(new TooLargeError(ctx.key, ctx.maxBytes, { store: ctx.store }));
          return;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/** A stream of one array, in chunks of at most `chunkSize` bytes. */
export function streamOf(data: Uint8Array, chunkSize = 1 << 20): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= data.byteLength) {
        controller.close();
        return;
      }
      const end = Math.min(at + chunkSize, data.byteLength);
      controller.enqueue(data.slice(at, end));
      at = end;
    },
  });
}

/**
 * Reads the next chunk, rejecting as soon as `signal` aborts even if the source never
 * delivers another chunk.
 */
export function readAbortable<T>(
  reader: ReadableStreamDefaultReader<T>,
  signal: AbortSignal | undefined,
  store: string,
): Promise<ReadableStreamReadResult<T>> {
  if (signal === undefined) return reader.read();
  if (signal.aborted) return Promise.reject(abortError(signal, store));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, store));
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
