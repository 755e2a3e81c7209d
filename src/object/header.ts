/**
 * The plaintext header every object on the store starts with, and its strict parser.
 *
 * @module
 */

import { SHA256_RE, UUID_RE } from "../_ids.ts";
import { IntegrityError } from "../errors.ts";

/** The magic string of every hx object. */
export const MAGIC = "HXOBJ";
/** The object format version this code writes and reads. */
export const FORMAT_VERSION = 1;

/** The kinds of object on the store. */
export const OBJECT_TYPES = [
  "vault",
  "key_slot",
  "segment",
  "blob",
  "tombstone",
  "manifest",
] as const;
/** One kind of object on the store. */
export type ObjectType = typeof OBJECT_TYPES[number];

/** How a body was compressed before encryption. */
export type Compression = "none" | "gzip";

/** How the body is protected. */
export type CryptoInfo =
  | { alg: "none" }
  | {
    /** One AES-256-GCM message; AAD is the stored header bytes. */
    alg: "A256GCM";
    key_id: string;
    nonce: string;
    wrapped_key: string;
  }
  | {
    /** Chunked AES-256-GCM (STREAM construction) for objects too large to hold in memory. */
    alg: "A256GCM-STREAM";
    key_id: string;
    nonce: string;
    wrapped_key: string;
    chunk_size: number;
  };

/** The header of an object, as stored (JSON) before its body. */
export interface ObjectHeader {
  magic: typeof MAGIC;
  version: number;
  object_type: ObjectType;
  vault_id: string;
  created_at: string;
  node_id?: string;
  segment_id?: string;
  tombstone_id?: string;
  slot_id?: string;
  blob_hash?: string;
  byte_len_plain: number;
  compression: Compression;
  crypto: CryptoInfo;
}

/** Routing fields a writer provides; the codec adds magic, version, length and crypto. */
export type HeaderFields = Omit<
  ObjectHeader,
  "magic" | "version" | "crypto" | "compression" | "byte_len_plain"
>;

const B64URL_RE = /^[A-Za-z0-9_-]+$/;
const KEY_ID_RE = /^[0-9a-f]{32}$/;
const MAX_CHUNK = 16 * 1024 * 1024;

function bad(message: string): never {
  throw new IntegrityError("bad_header", `Cannot read object header: ${message}`);
}

function str(h: Record<string, unknown>, field: string, re?: RegExp, optional = false): void {
  const value = h[field];
  if (value === undefined && optional) return;
  if (typeof value !== "string" || value.length > 256 || (re !== undefined && !re.test(value))) {
    bad(`field "${field}" is missing or malformed`);
  }
}

function parseCrypto(value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    bad('field "crypto" is missing');
  }
  const c = value as Record<string, unknown>;
  if (c.alg === "none") return;
  if (c.alg !== "A256GCM" && c.alg !== "A256GCM-STREAM") bad("unknown crypto algorithm");
  str(c, "key_id", KEY_ID_RE);
  str(c, "nonce", B64URL_RE);
  str(c, "wrapped_key", B64URL_RE);
  if (c.alg === "A256GCM-STREAM") {
    const size = c.chunk_size;
    if (typeof size !== "number" || !Number.isInteger(size) || size < 1024 || size > MAX_CHUNK) {
      bad('field "crypto.chunk_size" is out of range');
    }
  }
}

/**
 * Validates a parsed header: every field present with the right type and shape.
 *
 * @param value What `JSON.parse` returned for the header bytes.
 * @returns The same value, typed.
 * @throws {IntegrityError} `bad_header` or `unsupported_version`.
 */
export function checkHeader(value: unknown): ObjectHeader {
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad("not an object");
  const h = value as Record<string, unknown>;
  if (h.magic !== MAGIC) bad("wrong magic (not an hx object)");
  if (typeof h.version !== "number" || !Number.isInteger(h.version)) bad("no version");
  if (h.version !== FORMAT_VERSION) {
    throw new IntegrityError(
      "unsupported_version",
      `Cannot read object: format version ${h.version} is not supported (this hx reads ${FORMAT_VERSION}); upgrade hx`,
    );
  }
  if (!OBJECT_TYPES.includes(h.object_type as ObjectType)) bad("unknown object_type");
  str(h, "vault_id", UUID_RE);
  str(h, "created_at", /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
  str(h, "node_id", UUID_RE, true);
  str(h, "segment_id", UUID_RE, true);
  str(h, "tombstone_id", UUID_RE, true);
  str(h, "slot_id", UUID_RE, true);
  str(h, "blob_hash", SHA256_RE, true);
  const len = h.byte_len_plain;
  if (typeof len !== "number" || !Number.isSafeInteger(len) || len < 0) {
    bad('field "byte_len_plain" is malformed');
  }
  if (h.compression !== "none" && h.compression !== "gzip") bad("unknown compression");
  parseCrypto(h.crypto);
  return h as unknown as ObjectHeader;
}
