/**
 * The wire framing of every object: `u32 big-endian header length | header JSON | body`.
 *
 * @module
 */

import { fromUtf8 } from "../_encoding.ts";
import { IntegrityError } from "../errors.ts";
import { checkHeader, type ObjectHeader } from "./header.ts";

/** The largest header a reader accepts. */
export const MAX_HEADER_BYTES = 64 * 1024;

/** An object split into its parts. */
export interface Frame {
  /** The parsed, validated header. */
  header: ObjectHeader;
  /** The header exactly as stored: the AAD of the body. */
  headerBytes: Uint8Array;
  /** Everything after the header. */
  body: Uint8Array;
}

/**
 * Joins header bytes and body into one object.
 *
 * @param headerBytes The serialised header.
 * @param body The (encrypted) body.
 * @returns The framed object.
 */
export function encodeFrame(headerBytes: Uint8Array, body: Uint8Array): Uint8Array {
  if (headerBytes.byteLength > MAX_HEADER_BYTES) {
    throw new RangeError(`Cannot frame object: header exceeds ${MAX_HEADER_BYTES} bytes`);
  }
  const out = new Uint8Array(4 + headerBytes.byteLength + body.byteLength);
  new DataView(out.buffer).setUint32(0, headerBytes.byteLength, false);
  out.set(headerBytes, 4);
  out.set(body, 4 + headerBytes.byteLength);
  return out;
}

/**
 * Reads the header length and header of an object, bounding every length by what is
 * actually there.
 *
 * @param bytes At least the start of the object: 4 bytes, then the header.
 * @returns The header, its exact bytes and the offset where the body starts.
 * @throws {IntegrityError} `truncated`, `too_large` or `bad_header`.
 */
export function decodeHeader(
  bytes: Uint8Array,
): { header: ObjectHeader; headerBytes: Uint8Array; bodyOffset: number } {
  if (bytes.byteLength < 4) {
    throw new IntegrityError("truncated", "Cannot read object: shorter than its length prefix");
  }
  const len = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false);
  if (len > MAX_HEADER_BYTES) {
    throw new IntegrityError(
      "bad_header",
      `Cannot read object: header length ${len} exceeds ${MAX_HEADER_BYTES} bytes`,
    );
  }
  if (4 + len > bytes.byteLength) {
    throw new IntegrityError("truncated", "Cannot read object: it ends inside its header");
  }
  const headerBytes = bytes.subarray(4, 4 + len);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8.decode(headerBytes));
  } catch (err) {
    throw new IntegrityError("bad_header", "Cannot read object header: not valid JSON", {
      cause: err,
    });
  }
  return { header: checkHeader(parsed), headerBytes, bodyOffset: 4 + len };
}

/**
 * Splits a whole object into header and body.
 *
 * @param bytes The object as read from the store.
 * @returns Header, header bytes and body.
 * @throws {IntegrityError} `truncated`, `bad_header` or `unsupported_version`.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  const { header, headerBytes, bodyOffset } = decodeHeader(bytes);
  return { header, headerBytes, body: bytes.subarray(bodyOffset) };
}
