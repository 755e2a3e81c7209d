/**
 * Envelope encryption for objects too large to hold in memory (blobs): the STREAM
 * construction over AES-256-GCM. The payload is cut into chunks of `chunk_size` bytes; chunk
 * `i` is sealed with the object's key under the nonce `prefix(7) | u32 i | u8 last`, with the
 * stored header bytes as AAD. Reordered, dropped, duplicated or truncated chunks fail to
 * authenticate, and so does a stream cut at a chunk boundary (its last chunk was not sealed
 * as last). Memory stays at a few chunks whatever the object's size.
 *
 * @module
 */

import { fromBase64Url, toBase64Url, utf8 } from "../_encoding.ts";
import { IntegrityError } from "../errors.ts";
import { decodeHeader, MAX_HEADER_BYTES } from "../object/frame.ts";
import { FORMAT_VERSION, type HeaderFields, MAGIC, type ObjectHeader } from "../object/header.ts";
import { checkExpectations, type Expectations, slicer } from "./envelope.ts";
import type { VaultKey } from "./vault_key.ts";

/** Plaintext bytes per chunk of new objects. */
export const STREAM_CHUNK = 1024 * 1024;
/** Chunks encrypted or decrypted at once. */
const CRYPTO_DEPTH = 2;
const TAG = 16;

/** Options of {@linkcode sealStream}. */
export interface SealStreamOptions {
  /** The vault key; `null` writes the body unencrypted (`--no-encrypt` vaults). */
  key: VaultKey | null;
  /** The plaintext length (before compression), recorded in the header. */
  plainLength: number;
  /** Gzip before encryption. */
  compress: boolean;
  /** Chunk size (default {@linkcode STREAM_CHUNK}). */
  chunkSize?: number;
}

function nonceFor(prefix: Uint8Array, index: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  nonce.set(prefix, 0);
  new DataView(nonce.buffer).setUint32(7, index, false);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * Reads a stream in pieces of exactly `size` bytes (the last may be shorter, then empty),
 * into two buffers used in turn, so that reading allocates nothing per piece. A byte stream
 * (a file's) is read with a BYOB reader straight into the buffers.
 */
class ChunkFiller {
  readonly #size: number;
  readonly #byob: ReadableStreamBYOBReader | null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null;
  #buffers: [Uint8Array, Uint8Array];
  #turn = 0;
  #carry: Uint8Array | null = null;
  #ended = false;

  constructor(source: ReadableStream<Uint8Array>, size: number) {
    this.#size = size;
    this.#buffers = [new Uint8Array(size), new Uint8Array(size)];
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = source.getReader({ mode: "byob" });
    } catch {
      byob = null; // not a byte stream
    }
    this.#byob = byob;
    this.#reader = byob === null ? source.getReader() : null;
  }

  /** The next piece; it stays valid until the call after next. */
  async fill(): Promise<Uint8Array> {
    const turn = this.#turn;
    this.#turn ^= 1;
    let buffer = this.#buffers[turn]!;
    let filled = 0;
    while (filled < this.#size && !this.#ended) {
      if (this.#byob !== null) {
        const { done, value } = await this.#byob.read(
          new Uint8Array(buffer.buffer, filled, this.#size - filled),
        );
        if (value !== undefined) {
          buffer = new Uint8Array(value.buffer); // the read transferred the buffer
          filled += value.byteLength;
        }
        if (done) this.#ended = true;
      } else {
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
        const n = Math.min(chunk.byteLength, this.#size - filled);
        buffer.set(chunk.subarray(0, n), filled);
        filled += n;
        if (n < chunk.byteLength) this.#carry = chunk.subarray(n);
      }
    }
    this.#buffers[turn] = buffer;
    return buffer.subarray(0, filled);
  }

  cancel(reason: unknown): Promise<void> {
    return (this.#byob ?? this.#reader)!.cancel(reason);
  }
}

/**
 * Seals a plaintext stream into an object stream: the framed header, then the chunks. The
 * source is opened (and the object key made) when the stream is first read.
 *
 * @param fields Routing fields of the header.
 * @param plaintext The payload, or a function that opens it.
 * @param opts Key, plaintext length, compression and chunk size.
 * @returns The object as a stream.
 */
export function sealStream(
  fields: HeaderFields,
  plaintext: ReadableStream<Uint8Array> | (() => Promise<ReadableStream<Uint8Array>>),
  opts: SealStreamOptions,
): ReadableStream<Uint8Array> {
  let sealed: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async start() {
      const source = typeof plaintext === "function" ? await plaintext() : plaintext;
      sealed = (await sealOpened(fields, source, opts)).getReader();
    },
    async pull(controller) {
      const { done, value } = await sealed!.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return sealed?.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

async function sealOpened(
  fields: HeaderFields,
  plaintext: ReadableStream<Uint8Array>,
  opts: SealStreamOptions,
): Promise<ReadableStream<Uint8Array>> {
  const chunkSize = opts.chunkSize ?? STREAM_CHUNK;
  const compression = opts.compress ? "gzip" : "none";
  const base = {
    magic: MAGIC,
    version: FORMAT_VERSION,
    ...fields,
    byte_len_plain: opts.plainLength,
    compression,
  } as const;
  let payload: ReadableStream<Uint8Array> = opts.compress
    ? plaintext.pipeThrough(
      new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    )
    : plaintext;
  let header: ObjectHeader;
  let objectKey: CryptoKey | null = null;
  let prefix: Uint8Array | null = null;
  if (opts.key === null) {
    header = { ...base, crypto: { alg: "none" } };
  } else {
    objectKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
      "encrypt",
    ]);
    prefix = crypto.getRandomValues(new Uint8Array(7));
    header = {
      ...base,
      crypto: {
        alg: "A256GCM-STREAM",
        key_id: opts.key.keyId,
        nonce: toBase64Url(prefix),
        wrapped_key: toBase64Url(await opts.key.wrapObjectKey(objectKey)),
        chunk_size: chunkSize,
      },
    };
  }
  const headerBytes = utf8.encode(JSON.stringify(header));
  const lead = new Uint8Array(4 + headerBytes.byteLength);
  new DataView(lead.buffer).setUint32(0, headerBytes.byteLength, false);
  lead.set(headerBytes, 4);

  if (objectKey !== null && prefix !== null) {
    const key = objectKey;
    const noncePrefix = prefix;
    const filler = new ChunkFiller(payload, chunkSize);
    let index = 0;
    let current: Uint8Array | null = null;
    let ended = false;
    const inflight: Promise<ArrayBuffer>[] = [];
    // WebCrypto copies its input when called, so a piece's buffer is free for the next
    // fill as soon as encrypt() has been called on it; several pieces are encrypted at once
    // (off the JS thread), and emitted in order.
    const seal = (chunk: Uint8Array, last: boolean) =>
      crypto.subtle.encrypt(
        {
          name: "AES-GCM",
          iv: nonceFor(noncePrefix, index++, last) as BufferSource,
          additionalData: headerBytes as BufferSource,
        },
        key,
        chunk as BufferSource,
      );
    payload = new ReadableStream<Uint8Array>({
      // One piece of lookahead: a piece is sealed as last only once the source has ended.
      async pull(controller) {
        while (!ended && inflight.length < CRYPTO_DEPTH) {
          current ??= await filler.fill();
          const next = await filler.fill();
          const last = next.byteLength === 0;
          inflight.push(seal(current, last));
          current = next;
          if (last) ended = true;
        }
        const sealed = inflight.shift();
        if (sealed === undefined) return controller.close();
        controller.enqueue(new Uint8Array(await sealed));
      },
      cancel(reason) {
        return filler.cancel(reason);
      },
    }, { highWaterMark: 0 });
  }
  let leadSent = false;
  const reader = payload.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!leadSent) {
        leadSent = true;
        controller.enqueue(lead);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Options of {@linkcode openStream}. */
export interface OpenStreamOptions {
  key: VaultKey | null;
  expect: Expectations;
  /** Largest plaintext accepted (checked against the header before anything else). */
  maxPlainBytes: number;
}

/** Reads the framed header off the front of a stream, bounded by the header limit. */
async function readHeader(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ header: ObjectHeader; headerBytes: Uint8Array; rest: Uint8Array }> {
  let buffer: Uint8Array = new Uint8Array();
  while (true) {
    if (buffer.byteLength >= 4) {
      const len = new DataView(buffer.buffer, buffer.byteOffset, 4).getUint32(0, false);
      if (len > MAX_HEADER_BYTES) {
        throw new IntegrityError(
          "bad_header",
          `Cannot read object: header length ${len} exceeds ${MAX_HEADER_BYTES} bytes`,
        );
      }
      if (buffer.byteLength >= 4 + len) {
        const { header, headerBytes, bodyOffset } = decodeHeader(buffer);
        return { header, headerBytes: headerBytes.slice(), rest: buffer.slice(bodyOffset) };
      }
    }
    const { done, value } = await reader.read();
    if (done) {
      throw new IntegrityError("truncated", "Cannot read object: it ends inside its header");
    }
    const next = new Uint8Array(buffer.byteLength + value.byteLength);
    next.set(buffer);
    next.set(value, buffer.byteLength);
    buffer = next;
  }
}

/**
 * Checks and opens an object stream: header and expectations first, then every chunk is
 * authenticated before its plaintext is passed on; the stream errors on any violation.
 *
 * @param object The object as read from the store.
 * @param opts Key, expectations and the plaintext bound.
 * @returns The header and the plaintext stream (decompressed, bounded by the declared length).
 */
export async function openStream(
  object: ReadableStream<Uint8Array>,
  opts: OpenStreamOptions,
): Promise<{ header: ObjectHeader; plaintext: ReadableStream<Uint8Array> }> {
  const reader = object.getReader();
  let header: ObjectHeader;
  let headerBytes: Uint8Array;
  let rest: Uint8Array;
  try {
    ({ header, headerBytes, rest } = await readHeader(reader));
    checkExpectations(header, opts.expect);
    if (header.byte_len_plain > opts.maxPlainBytes) {
      throw new IntegrityError(
        "too_large",
        `Cannot open object: it declares ${header.byte_len_plain} bytes, above the ${opts.maxPlainBytes} allowed`,
      );
    }
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  }
  const c = header.crypto;
  let body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (rest.byteLength > 0) controller.enqueue(rest);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  if (opts.key === null) {
    if (c.alg !== "none") {
      await body.cancel();
      throw new IntegrityError(
        "wrong_key",
        "Cannot open object: it is encrypted, but this vault is not",
      );
    }
  } else {
    if (c.alg !== "A256GCM-STREAM") {
      await body.cancel();
      throw new IntegrityError(
        "bad_header",
        `Cannot open object: ${c.alg} is not a stream encryption`,
      );
    }
    if (c.key_id !== opts.key.keyId) {
      await body.cancel();
      throw new IntegrityError(
        "wrong_key",
        `Cannot open object: it was encrypted with key ${c.key_id}, not this vault's key ${opts.key.keyId}`,
      );
    }
    let objectKey: CryptoKey;
    let prefix: Uint8Array;
    try {
      prefix = fromBase64Url(c.nonce);
      objectKey = await opts.key.unwrapObjectKey(fromBase64Url(c.wrapped_key));
    } catch (err) {
      await body.cancel();
      throw new IntegrityError("decrypt_failed", "Cannot open object: its wrapped key is invalid", {
        cause: err,
      });
    }
    if (prefix.byteLength !== 7) {
      await body.cancel();
      throw new IntegrityError("bad_header", "Cannot open object: its nonce prefix is not 7 bytes");
    }
    body = body.pipeThrough(decryptChunks(objectKey, prefix, c.chunk_size, headerBytes));
  }
  if (header.compression === "gzip") {
    // Small slices, one at a time: the length check below stops a gzip bomb within a few
    // MiB of the declared length, instead of after a decrypted chunk expanded whole.
    body = body.pipeThrough(slicer()).pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  return { header, plaintext: body.pipeThrough(exactLength(header.byte_len_plain)) };
}

function decryptChunks(
  key: CryptoKey,
  prefix: Uint8Array,
  chunkSize: number,
  headerBytes: Uint8Array,
): TransformStream<Uint8Array, Uint8Array> {
  const sealed = chunkSize + TAG;
  const queue = new ByteQueue();
  let index = 0;
  const open = async (chunk: Uint8Array, last: boolean): Promise<Uint8Array> => {
    const at = index++;
    try {
      const plain = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: nonceFor(prefix, at, last) as BufferSource,
          additionalData: headerBytes as BufferSource,
        },
        key,
        chunk as BufferSource,
      );
      return new Uint8Array(plain);
    } catch (err) {
      throw new IntegrityError(
        "decrypt_failed",
        `Cannot open object: chunk ${
          index - 1
        } failed authentication (truncated, reordered or tampered with)`,
        { cause: err },
      );
    }
  };
  const inflight: Promise<Uint8Array>[] = [];
  // Decryption starts when it is called (WebCrypto copies the input), so several chunks are
  // decrypted at once; failures surface, in order, when their turn to be emitted comes.
  const start = (chunk: Uint8Array, last: boolean) => {
    const opened = open(chunk, last);
    opened.catch(() => {}); // handled when awaited in order
    inflight.push(opened);
  };
  return new TransformStream({
    async transform(chunk, controller) {
      queue.push(chunk);
      // Keep at least one sealed chunk back: only the stream's end says which one is last.
      while (queue.size > sealed) {
        start(queue.take(sealed), false);
        if (inflight.length >= CRYPTO_DEPTH) controller.enqueue(await inflight.shift()!);
      }
    },
    async flush(controller) {
      if (queue.size < TAG) {
        throw new IntegrityError("truncated", "Cannot open object: it ends inside a chunk");
      }
      start(queue.take(queue.size), true);
      while (inflight.length > 0) controller.enqueue(await inflight.shift()!);
    },
  });
}

/** A FIFO of bytes that copies each byte once when taken. */
class ByteQueue {
  #parts: Uint8Array[] = [];
  #head = 0; // offset into the first part
  size = 0;

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#parts.push(chunk);
    this.size += chunk.byteLength;
  }

  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const part = this.#parts[0]!;
      const k = Math.min(n - at, part.byteLength - this.#head);
      out.set(part.subarray(this.#head, this.#head + k), at);
      at += k;
      this.#head += k;
      if (this.#head === part.byteLength) {
        this.#parts.shift();
        this.#head = 0;
      }
    }
    this.size -= n;
    return out;
  }
}

function exactLength(expected: number): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.byteLength;
      if (total > expected) {
        throw new IntegrityError(
          "too_large",
          `Cannot open object: it holds more than the ${expected} bytes its header declares`,
        );
      }
      controller.enqueue(chunk);
    },
    flush() {
      if (total !== expected) {
        throw new IntegrityError(
          "bad_payload",
          `Cannot open object: it holds ${total} bytes, its header declares ${expected}`,
        );
      }
    },
  });
}
