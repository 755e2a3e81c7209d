// Private helpers for moving large amounts of bytes through streams without allocating per
// chunk. Blobs go through several stages (file, encryption, HTTP, decryption, file), and a
// fresh buffer per chunk at each stage costs twice: page faults for the new memory, and
// garbage that V8 frees only when its external-memory heuristics say so (tens of MiB
// late). So:
//
// - Producers keep their buffers and offer them as byte streams (`ownedByteStream`): a reader
//   brings its own buffer (BYOB) and gets a copy, after which the producer reuses the
//   buffer, or frees it at once (`release`).
// - Consumers read with `ByteReader`, which fills a buffer they own (BYOB when the stream
//   is a byte stream, a copy otherwise).

/** Most bytes a default reader of an {@linkcode ownedByteStream} gets as a copy per read. */
const COPY_LIMIT = 1024 * 1024;

/**
 * Frees the memory behind `bytes` now, instead of at V8's next collection. Only for a
 * buffer nothing else refers to: every view of it becomes empty.
 */
export function release(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (buffer instanceof ArrayBuffer && !buffer.detached && buffer.byteLength > 0) {
    buffer.transfer(0);
  }
}

/** Where an {@linkcode ownedByteStream} gets its bytes. */
export interface OwnedSource {
  /** The next chunk, or `null` at the end. The stream is done with it before asking again. */
  next(): Promise<Uint8Array | null>;
  /**
   * Takes back a chunk whose bytes were all copied out, to reuse it. Without it, chunks
   * are the stream's to give away: a default reader gets them as they are, and a BYOB
   * reader's copy is followed by {@linkcode release}.
   */
  recycle?(chunk: Uint8Array): void;
  /** The reader gave up. */
  cancel?(reason: unknown): void | Promise<void>;
}

/** Hands a chunk back to its source: to reuse if it recycles its chunks, else freed. */
export function handBack(source: OwnedSource, chunk: Uint8Array): void {
  if (source.recycle === undefined) release(chunk);
  else source.recycle(chunk);
}

/**
 * A byte stream over chunks its producer hands out one at a time. A BYOB reader gets the
 * bytes copied into its buffer; a default reader gets each chunk itself when the producer
 * gives them away, else a copy.
 *
 * @param source The producer.
 * @returns The stream.
 */
export function ownedByteStream(source: OwnedSource): ReadableStream<Uint8Array> {
  let current: Uint8Array | null = null;
  let at = 0;
  const done = () => {
    if (current !== null) handBack(source, current);
    current = null;
  };
  return new ReadableStream({
    type: "bytes",
    async pull(controller) {
      while (current === null || at === current.byteLength) {
        done();
        const next = await source.next();
        if (next === null) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        current = next;
        at = 0;
      }
      const request = controller.byobRequest;
      if (request === null) {
        if (source.recycle === undefined) {
          const rest = at === 0 ? current : current.subarray(at);
          current = null; // given away: enqueue moves its memory to the stream
          controller.enqueue(rest);
        } else {
          const n = Math.min(COPY_LIMIT, current.byteLength - at);
          controller.enqueue(current.slice(at, at + n));
          at += n;
        }
      } else {
        const view = request.view as Uint8Array;
        const n = Math.min(view.byteLength, current.byteLength - at);
        view.set(current.subarray(at, at + n));
        at += n;
        request.respond(n);
      }
      if (current !== null && at === current.byteLength) done();
    },
    async cancel(reason) {
      done();
      await source.cancel?.(reason);
    },
  });
}

/**
 * Reads a stream into buffers its caller owns: with a BYOB reader when the stream is a byte
 * stream (no copy on this side), else by copying each chunk.
 */
export class ByteReader {
  readonly #byob: ReadableStreamBYOBReader | null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null;
  #carry: Uint8Array | null = null;
  #ended = false;

  /** @param stream The stream; it stays locked to this reader. */
  constructor(stream: ReadableStream<Uint8Array>) {
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = stream.getReader({ mode: "byob" });
    } catch {
      byob = null; // not a byte stream
    }
    this.#byob = byob;
    this.#reader = byob === null ? stream.getReader() : null;
  }

  /** Whether the stream has ended. */
  get ended(): boolean {
    return this.#ended && this.#carry === null;
  }

  /**
   * Reads until `buffer` is full from `from` on, or the stream ends.
   *
   * @param buffer The buffer to fill. A BYOB read moves its memory to a new `ArrayBuffer`
   *   object: use the returned one from then on.
   * @param from Where to start filling.
   * @returns The buffer and how far it is filled (short only at the end of the stream).
   */
  async fill(buffer: Uint8Array, from = 0): Promise<{ buffer: Uint8Array; filled: number }> {
    const { byteOffset, byteLength } = buffer; // a BYOB read detaches `buffer`
    let filled = from;
    while (filled < buffer.byteLength && !this.ended) {
      if (this.#byob !== null) {
        const { done, value } = await this.#byob.read(buffer.subarray(filled));
        if (value !== undefined) {
          buffer = new Uint8Array(value.buffer, byteOffset, byteLength);
          filled += value.byteLength;
        }
        if (done) this.#ended = true;
        continue;
      }
      let chunk = this.#carry;
      this.#carry = null;
      if (chunk === null) {
        const { done, value } = await this.#reader!.read();
        if (done) {
          this.#ended = true;
          break;
        }
        chunk = value;
      }
      const n = Math.min(chunk.byteLength, buffer.byteLength - filled);
      buffer.set(chunk.subarray(0, n), filled);
      filled += n;
      if (n < chunk.byteLength) this.#carry = chunk.subarray(n);
    }
    return { buffer, filled };
  }

  /** Cancels the stream. */
  cancel(reason?: unknown): Promise<void> {
    return (this.#byob ?? this.#reader)!.cancel(reason);
  }

  /** Unlocks the stream. */
  releaseLock(): void {
    (this.#byob ?? this.#reader)!.releaseLock();
  }
}
