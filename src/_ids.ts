// Private helpers: identifiers.

import { toHex } from "./_encoding.ts";

/** The shape every hx id has: a lower-case UUID. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A lower-case hex SHA-256. */
export const SHA256_RE = /^[0-9a-f]{64}$/;

function format(bytes: Uint8Array): string {
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

let lastMs = 0;
let lastRand: Uint8Array = new Uint8Array(10);

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond time, then random bits. Ids made in the same
 * millisecond by this process still sort in creation order.
 */
export function uuidv7(now = Date.now()): string {
  const bytes = new Uint8Array(16);
  let rand: Uint8Array;
  if (now <= lastMs) {
    now = lastMs;
    rand = lastRand.slice();
    for (let i = rand.length - 1; i >= 0; i--) { // increment as a big-endian counter
      rand[i] = (rand[i]! + 1) & 0xff;
      if (rand[i] !== 0) break;
    }
  } else {
    rand = crypto.getRandomValues(new Uint8Array(10));
    rand[0]! &= 0x0f; // leave headroom for the counter above
  }
  lastMs = now;
  lastRand = rand;
  let t = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes.set(rand, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  return format(bytes);
}

/** A UUID from the first 16 bytes of a hash: deterministic ids for derived records (v8). */
export function uuidFromHash(hash: Uint8Array): string {
  const bytes = hash.slice(0, 16);
  bytes[6] = 0x80 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  return format(bytes);
}
