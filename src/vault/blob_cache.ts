/**
 * The local blob cache: plaintext blob contents under `$HX_HOME/blobs/<sha256>`, written
 * through a temporary file and renamed, so a cached blob is always whole.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";

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

/** Writes `source` to `tmp`, hashing it; removes `tmp` if anything fails. */
async function writeHashed(
  tmp: string,
  source: AsyncIterable<Uint8Array>,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
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
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  return { sha256: hash.digest("hex"), size };
}

/**
 * Streams bytes into the cache while hashing them; the file appears under its SHA-256 only
 * once complete (and, when `expected` is given, only if the hash matches).
 *
 * @param dir The cache directory.
 * @param source The content.
 * @param expected The SHA-256 the content must have, if known.
 * @returns The content's SHA-256 and size.
 * @throws {HashMismatch} When `expected` differs; errors of the source as they are.
 */
export async function cacheStream(
  dir: string,
  source: AsyncIterable<Uint8Array>,
  expected?: string,
): Promise<{ sha256: string; size: number }> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.tmp-${crypto.randomUUID()}`);
  const result = await writeHashed(tmp, source);
  return await publish(tmp, blobPath(dir, result.sha256), result, expected);
}

/**
 * Streams bytes to `target` (through a temporary file beside it) while hashing them; the
 * file appears only once complete and only if its SHA-256 is `expected`.
 *
 * @param target The file to write.
 * @param source The content.
 * @param expected The SHA-256 the content must have.
 * @returns The content's SHA-256 and size.
 * @throws {HashMismatch} When the content differs.
 */
export async function writeVerified(
  target: string,
  source: ReadableStream<Uint8Array>,
  expected: string,
): Promise<{ sha256: string; size: number }> {
  const tmp = join(dirname(target), `.${basename(target)}.hx-tmp-${crypto.randomUUID()}`);
  return await publish(tmp, target, await writeHashed(tmp, source), expected);
}

async function publish(
  tmp: string,
  target: string,
  result: { sha256: string; size: number },
  expected: string | undefined,
): Promise<{ sha256: string; size: number }> {
  try {
    if (expected !== undefined && result.sha256 !== expected) {
      throw new HashMismatch(expected, result.sha256);
    }
    await Deno.rename(tmp, target);
    return result;
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
