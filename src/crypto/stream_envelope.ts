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

import { IntegrityError } from "../errors.ts";
import { decodeHeader, MAX_HEADER_BYTES } from "../object/frame.ts";
import { FORMAT_VERSION, type HeaderFields, MAGIC, type ObjectHeader } from "../object/header.ts";
import { fromBase64Url, toBase64Url, utf8 } from "../_encoding.ts";
import { ByteReader, handBack, ownedByteStream, type OwnedSource } from "../_byte_stream.ts";
import { checkExpectations, type Expectations, slicer } from "./envelope.ts";
import type { VaultKey } from "./vault_key.ts";

/** Plaintext bytes per chunk of new objects. */
export const STREAM_CHUNK = 1024 * 1024;
/** Bytes read from a source at once; the chunks in them are sealed or opened together. */
const READ_BYTES = 1024 * 1024;
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
 * into two buffers used in turn: a piece stays valid until the call after next, and reading
 * allocates nothing per piece.
 */
function pieces(reader: ByteReader, size: number): () => Promise<Uint8Array> {
  const buffers: Uint8Array[] = [new Uint8Array(size), new Uint8Array(size)];
  let turn = 0;
  return async () => {
    const { buffer, filled } = await reader.fill(buffers[turn]!);
    buffers[turn] = buffer;
    turn ^= 1;
    return buffer.subarray(0, filled);
  };
}

/**
 * Cuts a stream into consecutive chunks of `size` bytes (the last may be shorter; an empty
 * stream is one empty chunk) and hands each to `work` in order, saying whether it is the
 * last: only the stream's end tells, so a full final chunk is held back until then. Chunks
 * are read about 1 MiB at a time; a chunk's bytes are valid only during the call to `work`,
 * which must copy them (WebCrypto does, when called).
 *
 * @returns A function that reads and hands on the next batch; `false` once the last chunk
 *   has been handed on.
 */
function chunker(
  reader: ByteReader,
  size: number,
  work: (chunk: Uint8Array, last: boolean) => void,
): () => Promise<boolean> {
  const read = pieces(reader, size * Math.max(1, Math.floor(READ_BYTES / size)));
  let held: Uint8Array | null = null; // in the other buffer, which the next read leaves alone
  let ended = false;
  return async () => {
    if (ended) return false;
    const batch = await read();
    if (batch.byteLength === 0) {
      work(held ?? batch, true);
      ended = true;
      return false;
    }
    if (held !== null) work(held, false);
    let at = 0;
    for (; at + size < batch.byteLength; at += size) work(batch.subarray(at, at + size), false);
    held = batch.subarray(at);
    if (reader.ended) {
      work(held, true);
      ended = true;
      return false;
    }
    return true;
  };
}

/**
 * Seals a plaintext stream into an object stream: the framed header, then the chunks. The
 * source is opened (and the object key made) when the stream is first read. The result is a
 * byte stream: read with a BYOB reader, nothing is allocated per chunk that outlives it.
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
  let sealed: OwnedSource | null = null;
  return ownedByteStream({
    async next() {
      if (sealed === null) {
        const source = typeof plaintext === "function" ? await plaintext() : plaintext;
        sealed = await sealedChunks(fields, source, opts);
      }
      return await sealed.next();
    },
    recycle: (chunk) => sealed !== null && handBack(sealed, chunk),
    cancel: (reason) => sealed?.cancel?.(reason),
  });
}

async function sealedChunks(
  fields: HeaderFields,
  plaintext: ReadableStream<Uint8Array>,
  opts: SealStreamOptions,
): Promise<OwnedSource> {
  const chunkSize = opts.chunkSize ?? STREAM_CHUNK;
  const compression = opts.compress ? "gzip" : "none";
  const base = {
    magic: MAGIC,
    version: FORMAT_VERSION,
    ...fields,
    byte_len_plain: opts.plainLength,
    compression,
  } as const;
  const payload: ReadableStream<Uint8Array> = opts.compress
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

  const reader = new ByteReader(payload);
  let leadSent = false;
  const cancel = (reason: unknown) => reader.cancel(reason);
  if (objectKey === null || prefix === null) {
    const read = pieces(reader, READ_BYTES);
    return {
      async next() {
        if (!leadSent) {
          leadSent = true;
          return lead;
        }
        const piece = await read();
        return piece.byteLength === 0 ? null : piece;
      },
      recycle() {}, // pieces are read into two buffers used in turn
      cancel,
    };
  }
  const key = objectKey;
  const noncePrefix = prefix;
  let index = 0;
  const inflight: Promise<ArrayBuffer>[] = [];
  // WebCrypto copies its input when called, so a batch's buffer is free for the next read
  // as soon as encrypt() has been called on its chunks; they are encrypted off the JS
  // thread while the next batch is read, and handed out in order.
  const sealNext = chunker(reader, chunkSize, (chunk, last) => {
    const sealed = crypto.subtle.encrypt(
      {
        name: "AES-GCM",
        iv: nonceFor(noncePrefix, index++, last) as BufferSource,
        additionalData: headerBytes as BufferSource,
      },
      key,
      chunk as BufferSource,
    );
    sealed.catch(() => {}); // handled when its turn comes
    inflight.push(sealed);
  });
  const ahead = Math.max(2, Math.floor(READ_BYTES / chunkSize));
  let more = true;
  return {
    async next() {
      if (!leadSent) {
        leadSent = true;
        return lead;
      }
      while (more && inflight.length < ahead) more = await sealNext();
      const sealed = inflight.shift();
      return sealed === undefined ? null : new Uint8Array(await sealed);
    },
    cancel, // without recycle: sealed chunks are given away, or freed once copied out
  };
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
  reader: ByteReader,
): Promise<{ header: ObjectHeader; headerBytes: Uint8Array }> {
  const truncated = () =>
    new IntegrityError("truncated", "Cannot read object: it ends inside its header");
  const { buffer: prefix, filled } = await reader.fill(new Uint8Array(4));
  if (filled < 4) throw truncated();
  const len = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0, false);
  if (len > MAX_HEADER_BYTES) {
    throw new IntegrityError(
      "bad_header",
      `Cannot read object: header length ${len} exceeds ${MAX_HEADER_BYTES} bytes`,
    );
  }
  const frame = new Uint8Array(4 + len);
  frame.set(prefix);
  const read = await reader.fill(frame, 4);
  if (read.filled < frame.byteLength) throw truncated();
  const { header, headerBytes } = decodeHeader(read.buffer);
  return { header, headerBytes: headerBytes.slice() };
}

/**
 * Checks and opens an object stream: header and expectations first, then every chunk is
 * authenticated before its plaintext is passed on; the stream errors on any violation.
 * The plaintext is a byte stream, like {@linkcode sealStream}'s output.
 *
 * @param object The object as read from the store.
 * @param opts Key, expectations and the plaintext bound.
 * @returns The header and the plaintext stream (decompressed, bounded by the declared length).
 */
export async function openStream(
  object: ReadableStream<Uint8Array>,
  opts: OpenStreamOptions,
): Promise<{ header: ObjectHeader; plaintext: ReadableStream<Uint8Array> }> {
  const reader = new ByteReader(object);
  let header: ObjectHeader;
  let body: OwnedSource;
  try {
    const read = await readHeader(reader);
    header = read.header;
    checkExpectations(header, opts.expect);
    if (header.byte_len_plain > opts.maxPlainBytes) {
      throw new IntegrityError(
        "too_large",
        `Cannot open object: it declares ${header.byte_len_plain} bytes, above the ${opts.maxPlainBytes} allowed`,
      );
    }
    body = await bodyOf(header, read.headerBytes, reader, opts.key);
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  }
  if (header.compression === "gzip") {
    // Small slices, one at a time: the length check below stops a gzip bomb within a few
    // MiB of the declared length, instead of after a decrypted chunk expanded whole.
    const plaintext = ownedByteStream(body)
      .pipeThrough(slicer())
      .pipeThrough(
        new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
      )
      .pipeThrough(exactLength(header.byte_len_plain));
    return { header, plaintext };
  }
  return { header, plaintext: ownedByteStream(exactSource(body, header.byte_len_plain)) };
}

/** The chunks of an object's body after its header: decrypted, or as stored. */
async function bodyOf(
  header: ObjectHeader,
  headerBytes: Uint8Array,
  reader: ByteReader,
  key: VaultKey | null,
): Promise<OwnedSource> {
  const c = header.crypto;
  const cancel = (reason: unknown) => reader.cancel(reason);
  if (key === null) {
    if (c.alg !== "none") {
      throw new IntegrityError(
        "wrong_key",
        "Cannot open object: it is encrypted, but this vault is not",
      );
    }
    const read = pieces(reader, READ_BYTES);
    return {
      async next() {
        const piece = await read();
        return piece.byteLength === 0 ? null : piece;
      },
      recycle() {}, // pieces are read into two buffers used in turn
      cancel,
    };
  }
  if (c.alg !== "A256GCM-STREAM") {
    throw new IntegrityError(
      "bad_header",
      `Cannot open object: ${c.alg} is not a stream encryption`,
    );
  }
  if (c.key_id !== key.keyId) {
    throw new IntegrityError(
      "wrong_key",
      `Cannot open object: it was encrypted with key ${c.key_id}, not this vault's key ${key.keyId}`,
    );
  }
  let objectKey: CryptoKey;
  let prefix: Uint8Array;
  try {
    prefix = fromBase64Url(c.nonce);
    objectKey = await key.unwrapObjectKey(fromBase64Url(c.wrapped_key));
  } catch (err) {
    throw new IntegrityError("decrypt_failed", "Cannot open object: its wrapped key is invalid", {
      cause: err,
    });
  }
  if (prefix.byteLength !== 7) {
    throw new IntegrityError("bad_header", "Cannot open object: its nonce prefix is not 7 bytes");
  }
  return decryptedChunks(objectKey, prefix, reader, c.chunk_size + TAG, headerBytes);
}

function decryptedChunks(
  key: CryptoKey,
  prefix: Uint8Array,
  reader: ByteReader,
  sealedSize: number,
  headerBytes: Uint8Array,
): OwnedSource {
  let index = 0;
  const inflight: Promise<Uint8Array>[] = [];
  // Decryption copies its input when called, so a batch's chunks are decrypted (off the JS
  // thread) while the next batch is read; failures surface, in order, when their turn to be
  // handed out comes.
  const openNext = chunker(reader, sealedSize, (chunk, last) => {
    if (last && chunk.byteLength < TAG) {
      throw new IntegrityError("truncated", "Cannot open object: it ends inside a chunk");
    }
    const at = index++;
    const opened = crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: nonceFor(prefix, at, last) as BufferSource,
        additionalData: headerBytes as BufferSource,
      },
      key,
      chunk as BufferSource,
    ).then((plain) => new Uint8Array(plain), (err) => {
      throw new IntegrityError(
        "decrypt_failed",
        `Cannot open object: chunk ${at} failed authentication (truncated, reordered or tampered with)`,
        { cause: err },
      );
    });
    opened.catch(() => {}); // handled when its turn comes
    inflight.push(opened);
  });
  const ahead = Math.max(2, Math.floor(READ_BYTES / sealedSize));
  let more = true;
  return {
    async next() {
      while (more && inflight.length < ahead) more = await openNext();
      const opened = inflight.shift();
      return opened === undefined ? null : await opened;
    },
    cancel: (reason) => reader.cancel(reason),
    // without recycle: decrypted chunks are given away, or freed once copied out
  };
}

/** Passes chunks on, failing once more than `expected` bytes came, or fewer at the end. */
function exactSource(source: OwnedSource, expected: number): OwnedSource {
  let total = 0;
  return {
    async next() {
      const chunk = await source.next();
      if (chunk === null) {
        if (total !== expected) throw wrongLength(total, expected);
        return null;
      }
      total += chunk.byteLength;
      if (total > expected) throw tooMuch(expected);
      return chunk;
    },
    ...(source.recycle === undefined ? {} : { recycle: source.recycle }),
    ...(source.cancel === undefined ? {} : { cancel: source.cancel }),
  };
}

function tooMuch(expected: number): IntegrityError {
  return new IntegrityError(
    "too_large",
    `Cannot open object: it holds more than the ${expected} bytes its header declares`,
  );
}

function wrongLength(total: number, expected: number): IntegrityError {
  return new IntegrityError(
    "bad_payload",
    `Cannot open object: it holds ${total} bytes, its header declares ${expected}`,
  );
}

function exactLength(expected: number): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.byteLength;
      if (total > expected) throw tooMuch(expected);
      controller.enqueue(chunk);
    },
    flush() {
      if (total !== expected) throw wrongLength(total, expected);
    },
  });
}
