// Private helper: the one crash-safe file writer of hx. Every file that must survive a crash
// whole (store objects in a folder, the vault key, sync.json, cached blobs) is written by it:
// a staging file in the target's directory, written fully, fsynced and closed, then renamed
// over the target (or hard-linked, for "only if absent"), then the directory fsynced. On any
// failure the staging file is removed. A reader sees the old file or the new one, never a
// partial one.

import { basenameOf as basename, dirnameOf as dirname, joinPath as join } from "./_path.ts";
import { ByteReader } from "./_byte_stream.ts";

/** The marker in the names of staging files (folder stores never list them). */
export const STAGING_MARKER = ".hx-tmp-";

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Mode of a new file (default: 0o600). */
  mode?: number;
  /**
   * Publish only if nothing is at the target: a hard link, which fails atomically when the
   * target exists. Where the filesystem has no hard links the target is checked before the
   * rename instead (the result's `exclusive` is then `false`).
   */
  ifAbsent?: boolean;
  /** Aborts the write; nothing is published. */
  signal?: AbortSignal | undefined;
  /** Told the number of bytes written so far. */
  onProgress?: ((written: number) => void) | undefined;
  /** Sees every piece of the data, in order, before it is written (to hash it). */
  onData?: ((piece: Uint8Array) => void) | undefined;
  /**
   * Runs once the data is durable in the staging file, before it is published; throwing
   * cancels. It may name the final path (in the same directory), when that depends on the
   * data (a file named by its hash).
   */
  beforePublish?: () => void | string | Promise<void | string>;
}

/** What {@linkcode writeFileAtomic} reports. */
export interface AtomicWriteResult {
  /** Bytes written. */
  size: number;
  /** With `ifAbsent`: whether the filesystem enforced it atomically (a hard link). */
  exclusive: boolean;
}

/** The error `writeFileAtomic` throws when `ifAbsent` finds the target present. */
export class TargetExistsError extends Error {
  /** @param path The target that exists. */
  constructor(readonly path: string) {
    super(`Cannot write ${path}: it already exists`);
    this.name = "TargetExistsError";
  }
}

type Source = Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function aborted(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : new DOMException("The operation was aborted", "AbortError");
}

/** Resolves as `op` does, or rejects as soon as `signal` aborts. */
function abortable<T>(op: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return op;
  if (signal.aborted) return Promise.reject(aborted(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(aborted(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    op.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.byteLength) at += await file.write(data.subarray(at));
}

/** Bytes read from a stream source per write. */
const PIECE = 1024 * 1024;

async function writeSource(file: Deno.FsFile, source: Source, opts: AtomicWriteOptions) {
  if (source instanceof Uint8Array) {
    if (opts.signal?.aborted) throw aborted(opts.signal);
    opts.onData?.(source);
    await writeAll(file, source);
    opts.onProgress?.(source.byteLength);
    return source.byteLength;
  }
  let size = 0;
  const write = async (chunk: Uint8Array) => {
    opts.onData?.(chunk);
    await writeAll(file, chunk);
    size += chunk.byteLength;
    opts.onProgress?.(size);
  };
  if (source instanceof ReadableStream) {
    // Two buffers: one is written (off the JS thread) while the other is filled.
    const reader = new ByteReader(source);
    const buffers: Uint8Array[] = [new Uint8Array(PIECE)]; // the second once the first is full
    let writing: Promise<void> = Promise.resolve();
    try {
      for (let turn = 0; !reader.ended; turn ^= 1) {
        const read = await abortable(
          reader.fill(buffers[turn] ??= new Uint8Array(PIECE)),
          opts.signal,
        );
        buffers[turn] = read.buffer;
        if (read.filled === 0) continue;
        const piece = read.buffer.subarray(0, read.filled);
        opts.onData?.(piece);
        await writing;
        writing = writeAll(file, piece).then(() => {
          size += piece.byteLength;
          opts.onProgress?.(size);
        });
        writing.catch(() => {}); // awaited (and thrown) before the next write or at the end
      }
      await writing;
    } catch (err) {
      await writing.catch(() => {});
      await reader.cancel(err).catch(() => {});
      throw err;
    }
    return size;
  }
  const iterator = source[Symbol.asyncIterator]();
  try {
    while (true) {
      const { done, value } = await abortable(iterator.next(), opts.signal);
      if (done) break;
      await write(value);
    }
  } catch (err) {
    await iterator.return?.().catch(() => {});
    throw err;
  }
  return size;
}

/**
 * Fsyncs a directory, so that a rename in it survives a crash. Filesystems that refuse
 * (some network mounts) are left as they are: the rename stands.
 *
 * @param dir The directory.
 */
export async function syncDirectory(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return; // directories cannot be opened for fsync there
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // not supported here
  } finally {
    handle?.close();
  }
}

/**
 * Writes `source` to `path` crash-safely. The directory must exist.
 *
 * @param path The target file.
 * @param source Bytes, or chunks from an iterable or stream.
 * @param opts Mode, only-if-absent, abort, progress and a last check before publishing.
 * @returns The size written and whether `ifAbsent` was enforced atomically.
 * @throws {TargetExistsError} With `ifAbsent`, when the target exists.
 */
export async function writeFileAtomic(
  path: string,
  source: Source,
  opts: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const dir = dirname(path);
  const staging = join(dir, `.${basename(path)}${STAGING_MARKER}${randomSuffix()}`);
  let size = 0;
  let exclusive = false;
  try {
    const file = await Deno.open(staging, {
      write: true,
      createNew: true,
      mode: opts.mode ?? 0o600,
    });
    try {
      size = await writeSource(file, source, opts);
      await file.sync();
    } finally {
      file.close();
    }
    if (opts.signal?.aborted) throw aborted(opts.signal);
    const named = await opts.beforePublish?.();
    const target = typeof named === "string" ? named : path;
    if (opts.ifAbsent) {
      exclusive = await publishIfAbsent(staging, target);
    } else {
      await Deno.rename(staging, target);
    }
  } catch (err) {
    await Deno.remove(staging).catch(() => {});
    throw err;
  }
  await syncDirectory(dir);
  return { size, exclusive };
}

/**
 * Publishes `staging` at `path` only if nothing is there. A hard link fails atomically if
 * the target exists; filesystems without hard links (FAT, some network shares) fall back to
 * a check before the rename.
 *
 * @returns Whether the hard link enforced it.
 */
async function publishIfAbsent(staging: string, path: string): Promise<boolean> {
  try {
    await Deno.link(staging, path);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) throw new TargetExistsError(path);
    const existing = await Deno.lstat(path).catch(() => null);
    if (existing !== null) throw new TargetExistsError(path);
    await Deno.rename(staging, path);
    return false;
  }
  await Deno.remove(staging);
  return true;
}
