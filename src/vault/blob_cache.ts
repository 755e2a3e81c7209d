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

/**
 * Reads a file in pieces into one reused buffer, then closes it. Each piece is valid until
 * the next is asked for, so reading allocates nothing per piece.
 *
 * @param file An open file.
 * @param size Bytes per piece.
 */
export async function* readPieces(
  file: Deno.FsFile,
  size = 1024 * 1024,
): AsyncGenerator<Uint8Array> {
  const buffer = new Uint8Array(size);
  try {
    while (true) {
      const n = await file.read(buffer);
      if (n === null) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    file.close();
  }
}

async function* hashing(
  source: AsyncIterable<Uint8Array>,
  hash: ReturnType<typeof createHash>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
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
  source: AsyncIterable<Uint8Array>,
  opts: { expected?: string | undefined; named?: boolean; what: string },
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let sha256 = "";
  const { size } = await writeFileAtomic(target, hashing(source, hash), {
    mode: 0o600,
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
 * @returns The content's SHA-256 and size.
 * @throws {IntegrityError} `hash_mismatch` when `expected` differs; errors of the source as they are.
 */
export async function cacheStream(
  dir: string,
  source: AsyncIterable<Uint8Array>,
  expected?: string,
): Promise<{ sha256: string; size: number }> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return await write(join(dir, "incoming"), source, { expected, named: true, what: "blob" });
}

/**
 * Streams bytes to `target` while hashing them; the file appears only once complete and
 * only if its SHA-256 is `expected`.
 *
 * @param target The file to write.
 * @param source The content.
 * @param expected The SHA-256 the content must have.
 * @returns The content's SHA-256 and size.
 * @throws {IntegrityError} `hash_mismatch` when the content differs.
 */
export async function writeVerified(
  target: string,
  source: ReadableStream<Uint8Array>,
  expected: string,
): Promise<{ sha256: string; size: number }> {
  return await write(target, source, { expected, what: target });
}

/** Deletes cached blobs (those no artifact references any more). */
export async function removeCachedBlobs(dir: string, hashes: readonly string[]): Promise<void> {
  for (const sha of hashes) await Deno.remove(blobPath(dir, sha)).catch(() => {});
}
