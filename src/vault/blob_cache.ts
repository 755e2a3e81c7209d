/**
 * The local blob cache: plaintext blob contents under `$HX_HOME/blobs/<sha256>`, written by
 * hx's crash-safe writer, so a cached blob is always whole, and appears under its hash only
 * once that hash is checked.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "../_atomic_file.ts";
import { IntegrityError } from "../errors.ts";

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

/** Content to cache: a stream (read into one buffer, BYOB when it is a byte stream) or chunks. */
export type BlobSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Options of {@linkcode cacheStream} and {@linkcode writeVerified}. */
export interface BlobWriteOptions {
  /** Told the bytes written so far. */
  onProgress?: ((written: number) => void) | undefined;
}

function mismatch(expected: string, actual: string, what: string): IntegrityError {
  return new IntegrityError(
    "hash_mismatch",
    `Cannot accept ${what}: its SHA-256 is ${actual.slice(0, 12)}…, expected ${
      expected.slice(0, 12)
    }…`,
  );
}

/**
 * Streams bytes to `target` while hashing them; the file appears only once complete, and,
 * when `expected` is given, only if its SHA-256 is that. With `named`, the file is named by
 * its hash in the directory of `target`.
 */
async function write(
  target: string,
  source: BlobSource,
  opts: BlobWriteOptions & { expected?: string | undefined; named?: boolean; what: string },
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let sha256 = "";
  const { size } = await writeFileAtomic(target, source, {
    mode: 0o600,
    onData: (piece) => hash.update(piece),
    onProgress: opts.onProgress,
    beforePublish: () => {
      sha256 = hash.digest("hex");
      if (opts.expected !== undefined && sha256 !== opts.expected) {
        throw mismatch(opts.expected, sha256, opts.what);
      }
      return opts.named ? join(dirname(target), sha256) : undefined;
    },
  });
  return { sha256, size };
}

/**
 * Streams bytes into the cache while hashing them; the file appears under its SHA-256 only
 * once complete (and, when `expected` is given, only if the hash matches).
 *
 * @param dir The cache directory.
 * @param source The content.
 * @param expected The SHA-256 the content must have, if known.
 * @param opts Progress.
 * @returns The content's SHA-256 and size.
 * @throws {IntegrityError} `hash_mismatch` when `expected` differs; errors of the source as they are.
 */
export async function cacheStream(
  dir: string,
  source: BlobSource,
  expected?: string,
  opts: BlobWriteOptions = {},
): Promise<{ sha256: string; size: number }> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return await write(join(dir, "incoming"), source, {
    ...opts,
    expected,
    named: true,
    what: "blob",
  });
}

/**
 * Streams bytes to `target` while hashing them; the file appears only once complete and
 * only if its SHA-256 is `expected`.
 *
 * @param target The file to write.
 * @param source The content.
 * @param expected The SHA-256 the content must have.
 * @param opts Progress.
 * @returns The content's SHA-256 and size.
 * @throws {IntegrityError} `hash_mismatch` when the content differs.
 */
export async function writeVerified(
  target: string,
  source: BlobSource,
  expected: string,
  opts: BlobWriteOptions = {},
): Promise<{ sha256: string; size: number }> {
  return await write(target, source, { ...opts, expected, what: target });
}

/** Deletes cached blobs (those no artifact references any more). */
export async function removeCachedBlobs(dir: string, hashes: readonly string[]): Promise<void> {
  for (const sha of hashes) await Deno.remove(blobPath(dir, sha)).catch(() => {});
}
