/**
 * Envelope encryption of whole objects: a fresh AES-256-GCM key per object, wrapped under
 * the vault's wrapping sub-key, with the exact stored header bytes as associated data.
 *
 * @module
 */

import { gunzipSync, gzipSync } from "node:zlib";
import { fromBase64Url, toBase64Url, utf8 } from "../_encoding.ts";
import { IntegrityError } from "../errors.ts";
import { decodeFrame, encodeFrame } from "../object/frame.ts";
import type { Compression, HeaderFields, ObjectHeader } from "../object/header.ts";
import { FORMAT_VERSION, MAGIC } from "../object/header.ts";
import type { VaultKey } from "./vault_key.ts";

/** Options of {@linkcode sealObject}. */
export interface SealOptions {
  /** The vault key; `null` writes an unencrypted object (`--no-encrypt` vaults only). */
  key: VaultKey | null;
  /** Gzip the payload before encryption. Default `true`. */
  compress?: boolean;
}

/** What a reader requires of an object's header before it decrypts anything. */
export interface Expectations {
  object_type: ObjectHeader["object_type"];
  vault_id: string;
  node_id?: string;
  segment_id?: string;
  tombstone_id?: string;
  blob_hash?: string;
  slot_id?: string;
}

/** Options of {@linkcode openObject}. */
export interface OpenOptions {
  /** The vault key; `null` for an unencrypted vault. */
  key: VaultKey | null;
  /** Fields the header must carry. */
  expect: Expectations;
  /** Largest plaintext accepted, checked before decrypting or decompressing. */
  maxPlainBytes: number;
}

/** An opened object. */
export interface OpenedObject {
  header: ObjectHeader;
  payload: Uint8Array;
}

/**
 * The zlib level of whole objects. On a segment of 10k shell commands (2.7 MB of JSON),
 * level 6 (zlib's default) takes ~18 ms for 155 KB and level 3 ~8 ms for 186 KB: a push of
 * 100k events ~0.1 s (10 %) quicker for a fifth more bytes, which for history are few.
 */
const GZIP_LEVEL = 3;

/**
 * Gzips bytes ({@linkcode GZIP_LEVEL}). `node:zlib` does it in one call, about twice as fast
 * as a `CompressionStream` fed the same bytes; the output is the same format.
 */
export function gzip(data: Uint8Array): Uint8Array {
  const out = gzipSync(data, { level: GZIP_LEVEL });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * The compressed bytes of a streamed object (a blob) are fed to its inflater in slices of this
 * size, one at a time: deflate expands at most ~1032 times, so one slice yields at most ~4 MiB
 * before the bound is checked again.
 */
export const INFLATE_SLICE = 4096;

/**
 * Cuts a stream into pieces of at most `size` bytes (no copy), so that what reads it sees
 * small pieces one at a time.
 *
 * @param size The largest piece.
 * @returns The transform.
 */
export function slicer(size = INFLATE_SLICE): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>(
    {
      transform(chunk, controller) {
        for (let at = 0; at < chunk.byteLength; at += size) {
          controller.enqueue(chunk.subarray(at, Math.min(at + size, chunk.byteLength)));
        }
      },
    },
    { highWaterMark: 1 },
    { highWaterMark: 0 },
  );
}

function tooLarge(limit: number): IntegrityError {
  return new IntegrityError(
    "too_large",
    `Cannot decompress object: it expands beyond its declared ${limit} bytes`,
  );
}

/**
 * Gunzips bytes, refusing to produce more than `limit` bytes. `node:zlib` inflates in one call,
 * 2.5-4 times quicker than a `DecompressionStream` (a segment of 10k commands: ~1 ms against
 * ~3), and checks its output bound as it goes: a gzip bomb stops within a few MiB of it instead
 * of expanding whole (a test measures the peak in a process of its own).
 *
 * @param data The compressed bytes.
 * @param limit The largest output accepted.
 * @returns The output.
 * @throws {IntegrityError} `too_large` past the limit; `bad_payload` for invalid gzip.
 */
export function gunzipBounded(data: Uint8Array, limit: number): Uint8Array {
  let out: Uint8Array;
  try {
    // At least 1: a bound of 0 is refused by node:zlib (the length check below still holds).
    out = gunzipSync(data, { maxOutputLength: Math.max(1, limit) });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge(limit);
    throw new IntegrityError("bad_payload", "Cannot decompress object: not valid gzip", {
      cause: err,
    });
  }
  if (out.byteLength > limit) throw tooLarge(limit);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Encrypts a payload into a framed object.
 *
 * @param fields The routing fields of the header.
 * @param payload The plaintext.
 * @param opts The vault key (or `null`) and compression.
 * @returns The object bytes, ready for `putAtomic`.
 *
 * @example
 * ```ts
 * import { openObject, sealObject } from "./envelope.ts";
 * import { VaultKey } from "./vault_key.ts";
 * const key = await VaultKey.generate();
 * const vault_id = crypto.randomUUID();
 * const bytes = await sealObject(
 *   { object_type: "tombstone", vault_id, created_at: new Date().toISOString() },
 *   new TextEncoder().encode("{}"),
 *   { key },
 * );
 * const opened = await openObject(bytes, {
 *   key, expect: { object_type: "tombstone", vault_id }, maxPlainBytes: 1024,
 * });
 * console.assert(new TextDecoder().decode(opened.payload) === "{}");
 * ```
 */
export async function sealObject(
  fields: HeaderFields,
  payload: Uint8Array,
  opts: SealOptions,
): Promise<Uint8Array> {
  const compression: Compression = (opts.compress ?? true) ? "gzip" : "none";
  const body = compression === "gzip" ? gzip(payload) : payload;
  const base = { ...fields, byte_len_plain: payload.byteLength, compression };
  if (opts.key === null) {
    const header: ObjectHeader = {
      magic: MAGIC,
      version: FORMAT_VERSION,
      ...base,
      crypto: { alg: "none" },
    };
    return encodeFrame(utf8.encode(JSON.stringify(header)), body);
  }
  const objectKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
    "encrypt",
  ]);
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const header: ObjectHeader = {
    magic: MAGIC,
    version: FORMAT_VERSION,
    ...base,
    crypto: {
      alg: "A256GCM",
      key_id: opts.key.keyId,
      nonce: toBase64Url(nonce),
      wrapped_key: toBase64Url(await opts.key.wrapObjectKey(objectKey)),
    },
  };
  const headerBytes = utf8.encode(JSON.stringify(header));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: headerBytes },
    objectKey,
    body as BufferSource,
  );
  return encodeFrame(headerBytes, new Uint8Array(ciphertext));
}

/**
 * Checks the header fields a reader requires, before any decryption.
 *
 * @param header The object's header.
 * @param expect What the reader requires.
 * @throws {IntegrityError} `wrong_kind`, `wrong_vault`, `wrong_node` or `wrong_id`.
 */
export function checkExpectations(header: ObjectHeader, expect: Expectations): void {
  if (header.object_type !== expect.object_type) {
    throw new IntegrityError(
      "wrong_kind",
      `Cannot open object: it is a ${header.object_type}, not a ${expect.object_type}`,
    );
  }
  if (header.vault_id !== expect.vault_id) {
    throw new IntegrityError(
      "wrong_vault",
      `Cannot open object: it belongs to vault ${header.vault_id}, not ${expect.vault_id}`,
    );
  }
  if (expect.node_id !== undefined && header.node_id !== expect.node_id) {
    throw new IntegrityError(
      "wrong_node",
      `Cannot open object: it claims node ${
        header.node_id ?? "(none)"
      }, but its place says ${expect.node_id}`,
    );
  }
  for (const field of ["segment_id", "tombstone_id", "blob_hash", "slot_id"] as const) {
    const want = expect[field];
    if (want !== undefined && header[field] !== want) {
      throw new IntegrityError(
        "wrong_id",
        `Cannot open object: its ${field} is ${header[field] ?? "(none)"}, expected ${want}`,
      );
    }
  }
}

/**
 * Checks, decrypts and decompresses an object. Every check that needs no key comes first;
 * a wrong key is named as such (by its fingerprint) rather than met as a decrypt failure.
 *
 * @param bytes The object as read from the store.
 * @param opts Key, expectations and the plaintext bound.
 * @returns The header and the plaintext payload.
 * @throws {IntegrityError} For every way the object can be wrong.
 */
export async function openObject(bytes: Uint8Array, opts: OpenOptions): Promise<OpenedObject> {
  const { header, headerBytes, body } = decodeFrame(bytes);
  checkExpectations(header, opts.expect);
  if (header.byte_len_plain > opts.maxPlainBytes) {
    throw new IntegrityError(
      "too_large",
      `Cannot open object: it declares ${header.byte_len_plain} bytes, above the ${opts.maxPlainBytes} allowed`,
    );
  }
  let plain: Uint8Array;
  const c = header.crypto;
  if (opts.key === null) {
    if (c.alg !== "none") {
      throw new IntegrityError(
        "wrong_key",
        "Cannot open object: it is encrypted, but this vault is not",
      );
    }
    plain = body;
  } else {
    if (c.alg === "none") {
      throw new IntegrityError(
        "bad_header",
        "Cannot open object: it is unencrypted in an encrypted vault",
      );
    }
    if (c.alg !== "A256GCM") {
      throw new IntegrityError(
        "bad_header",
        `Cannot open object: ${c.alg} is not used for this kind`,
      );
    }
    if (c.key_id !== opts.key.keyId) {
      throw new IntegrityError(
        "wrong_key",
        `Cannot open object: it was encrypted with key ${c.key_id}, not this vault's key ${opts.key.keyId}`,
      );
    }
    plain = await decrypt(body, headerBytes, c.nonce, c.wrapped_key, opts.key);
  }
  const payload = header.compression === "gzip"
    ? gunzipBounded(plain, header.byte_len_plain)
    : plain;
  if (payload.byteLength !== header.byte_len_plain) {
    throw new IntegrityError(
      "bad_payload",
      `Cannot open object: its payload is ${payload.byteLength} bytes, the header says ${header.byte_len_plain}`,
    );
  }
  return { header, payload };
}

async function decrypt(
  body: Uint8Array,
  headerBytes: Uint8Array,
  nonceText: string,
  wrappedText: string,
  key: VaultKey,
): Promise<Uint8Array> {
  let objectKey: CryptoKey;
  let nonce: Uint8Array;
  try {
    nonce = fromBase64Url(nonceText);
    objectKey = await key.unwrapObjectKey(fromBase64Url(wrappedText));
  } catch (err) {
    throw new IntegrityError("decrypt_failed", "Cannot open object: its wrapped key is invalid", {
      cause: err,
    });
  }
  if (nonce.byteLength !== 12) {
    throw new IntegrityError("bad_header", "Cannot open object: its nonce is not 12 bytes");
  }
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce as BufferSource, additionalData: headerBytes as BufferSource },
      objectKey,
      body as BufferSource,
    );
    return new Uint8Array(plain);
  } catch (err) {
    throw new IntegrityError(
      "decrypt_failed",
      "Cannot open object: authentication failed (it was truncated or tampered with)",
      { cause: err },
    );
  }
}
