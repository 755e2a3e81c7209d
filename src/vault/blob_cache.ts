/**
 * The local blob cache: plaintext blob contents under `$HX_HOME/blobs/<sha256>`, written
 * through a temporary file and renamed, so a cached blob is always whole.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";

/** Where a blob's content is cached. */
export function blobPath(dir: string, sha256: string): string {
  return join(dir, sha256);
}

/** Whether a blob is cached. */
export async function isCached(dir: string, sha256: string): Promise<boolean> {
  try {
    return (await Deno.stat(blobPath(dir, sha256))).isFile;
  } catch {
    return false;
  }
}

/**
 * Streams bytes into the cache while hashing them; the file appears under its SHA-256 only
 * once complete (and, when `expected` is given, only if the hash matches).
 *
 * @param dir The cache directory.
 * @param source The content.
 * @param expected The SHA-256 the content must have, if known.
 * @returns The content's SHA-256 and size.
 * @throws {Error} From the source; {@linkcode HashMismatch} when `expected` differs.
 */
export async function cacheStream(
  dir: string,
  source: ReadableStream<Uint8Array>,
  expected?: string,
): Promise<{ sha256: string; size: number }> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.tmp-${crypto.randomUUID()}`);
  const hash = createHash("sha256");
  let size = 0;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    try {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.byteLength;
        let at = 0;
        while (at < chunk.byteLength) at += await file.write(chunk.subarray(at));
      }
      await file.sync();
    } finally {
      file.close();
    }
    const sha256 = hash.digest("hex");
    if (expected !== undefined && sha256 !== expected) throw new HashMismatch(expected, sha256);
    await Deno.rename(tmp, blobPath(dir, sha256));
    return { sha256, size };
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Content whose SHA-256 is not the one expected. */
export class HashMismatch extends Error {
  /** @param expected The SHA-256 wanted. @param actual The SHA-256 found. */
  constructor(readonly expected: string, readonly actual: string) {
    super(
      `Cannot accept blob: its SHA-256 is ${actual.slice(0, 12)}…, expected ${
        expected.slice(0, 12)
      }…`,
    );
    this.name = "HashMismatch";
  }
}

/** Deletes cached blobs (those no artifact references any more). */
export async function removeCachedBlobs(dir: string, hashes: readonly string[]): Promise<void> {
  for (const sha of hashes) await Deno.remove(blobPath(dir, sha)).catch(() => {});
}
