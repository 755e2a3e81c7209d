/**
 * A store in a local or shared folder: a NAS mount, a Syncthing folder, a USB drive.
 *
 * Objects are files at their key's path under the root. Writes are crash-safe: a staging
 * file in the destination directory is written, fsynced and closed, then renamed over the
 * key, and the directory is fsynced. A reader therefore sees the old file or the new one,
 * never a partial one. Files that file-sync tools and editors leave beside objects are
 * never listed.
 *
 * @module
 */

import { join } from "node:path";
import { limitStream, readAbortable } from "./_bytes.ts";
import { isIgnoredName, STAGING_MARKER } from "./_folder_ignore.ts";
import {
  NotFoundError,
  PreconditionError,
  StoreError,
  throwIfAborted,
  TooLargeError,
} from "./errors.ts";
import { validateKey, validatePrefix } from "./keys.ts";
import type {
  CallOptions,
  GetOptions,
  GetResult,
  GetStreamOptions,
  ObjectInfo,
  PutOptions,
  PutResult,
  StoreCapabilities,
  StreamResult,
  SyncStore,
} from "./types.ts";

/**
 * A {@linkcode SyncStore} on a directory. The directory must exist: a store never creates
 * its own root, so an unmounted drive is reported instead of silently filled.
 *
 * @example Round trip in a temporary directory
 * ```ts
 * import { FolderStore } from "./folder.ts";
 * const root = await Deno.makeTempDir();
 * const store = new FolderStore(root);
 * await store.putAtomic("a/b.txt", new TextEncoder().encode("hi"));
 * const keys = [];
 * for await (const info of store.list("a/")) keys.push(info.key);
 * console.assert(keys.length === 1 && keys[0] === "a/b.txt");
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export class FolderStore implements SyncStore {
  /** `folder:` and the root path. */
  readonly name: string;
  /** Rename is atomic; `link` gives put-if-absent where the filesystem has hard links. */
  readonly capabilities: StoreCapabilities = {
    atomicReplace: true,
    conditionalPut: true,
    conditionalGet: true,
    maxConcurrency: 16,
  };
  readonly #root: string;
  #rootChecked = false;

  /**
   * Opens the store on a directory (checked on first use).
   *
   * @param root Path of an existing directory.
   */
  constructor(root: string) {
    if (root === "") throw new TypeError("Cannot open a folder store: the path is empty");
    this.#root = root;
    this.name = `folder:${root}`;
  }

  /** Lists files under `prefix`, skipping staging files, sync-tool leftovers and symlinks. */
  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    await this.#checkRoot(opts.signal);
    const cut = prefix.lastIndexOf("/");
    const dirKey = cut < 0 ? "" : prefix.slice(0, cut);
    yield* this.#walk(dirKey, prefix, opts.signal);
  }

  async *#walk(dirKey: string, prefix: string, signal?: AbortSignal): AsyncIterable<ObjectInfo> {
    throwIfAborted(signal, this.name);
    const dir = this.#path(dirKey);
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return;
      throw this.#fsError(err, `list ${prefix || "/"}`, dirKey);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.isSymlink || isIgnoredName(entry.name)) continue;
      const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory) {
        // Descend only where keys under the directory can match the prefix.
        if (prefix.startsWith(`${key}/`) || `${key}/`.startsWith(prefix)) {
          yield* this.#walk(key, prefix, signal);
        }
      } else if (entry.isFile && key.startsWith(prefix)) {
        let info: Deno.FileInfo;
        try {
          info = await Deno.lstat(join(dir, entry.name));
        } catch (err) {
          if (err instanceof Deno.errors.NotFound) continue; // removed while listing
          throw this.#fsError(err, `list ${prefix || "/"}`, key);
        }
        yield infoFromStat(key, info);
      }
    }
  }

  /** Reads a whole object, bounded by `maxBytes`. */
  async get(key: string, opts: GetOptions = {}): Promise<GetResult | "not-modified"> {
    const { file, info } = await this.#open(key, opts.signal);
    try {
      if (opts.ifNoneMatch !== undefined && opts.ifNoneMatch === info.etag) return "not-modified";
      if (opts.maxBytes !== undefined && info.size > opts.maxBytes) {
        throw new TooLargeError(key, opts.maxBytes, { store: this.name });
      }
      // Read to the end, not just what stat promised: the bound is checked as bytes arrive.
      let data = new Uint8Array(info.size + 1);
      let at = 0;
      while (true) {
        throwIfAborted(opts.signal, this.name);
        if (at === data.byteLength) {
          const bigger = new Uint8Array(data.byteLength * 2);
          bigger.set(data);
          data = bigger;
        }
        const n = await file.read(data.subarray(at));
        if (n === null) break;
        at += n;
        if (opts.maxBytes !== undefined && at > opts.maxBytes) {
          throw new TooLargeError(key, opts.maxBytes, { store: this.name });
        }
      }
      const result: GetResult = { data: data.slice(0, at) };
      if (info.etag !== undefined) result.etag = info.etag;
      return result;
    } catch (err) {
      throw this.#fsError(err, `read ${key}`, key);
    } finally {
      file.close();
    }
  }

  /** Reads an object as a stream; the file is closed when the stream ends or is cancelled. */
  async getStream(key: string, opts: GetStreamOptions = {}): Promise<StreamResult> {
    const { file, info } = await this.#open(key, opts.signal);
    if (opts.maxBytes !== undefined && info.size > opts.maxBytes) {
      file.close();
      throw new TooLargeError(key, opts.maxBytes, { store: this.name });
    }
    let stream: ReadableStream<Uint8Array> = file.readable;
    if (opts.maxBytes !== undefined) {
      stream = limitStream(stream, { key, store: this.name, maxBytes: opts.maxBytes });
    }
    return { stream, info };
  }

  /** Writes a staging file, fsyncs it, renames it over the key and fsyncs the directory. */
  async putAtomic(
    key: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    opts: PutOptions = {},
  ): Promise<PutResult> {
    validateKey(key);
    const reserved = key.split("/").find(isIgnoredName);
    if (reserved !== undefined) {
      throw new StoreError(
        "invalid_input",
        `Cannot put ${key}: "${reserved}" is a name folder stores reserve for sync tools`,
        { store: this.name, key },
      );
    }
    await this.#checkRoot(opts.signal);
    const path = this.#path(key);
    const dir = path.slice(0, path.length - baseName(key).length - 1);
    const staging = join(dir, `.${baseName(key)}${STAGING_MARKER}${randomSuffix()}`);
    try {
      await Deno.mkdir(dir, { recursive: true });
      await writeFileSynced(staging, data, opts, this.name);
      throwIfAborted(opts.signal, this.name);
      if (opts.ifAbsent) {
        await publishIfAbsent(staging, path, key, this.name);
      } else {
        await Deno.rename(staging, path);
      }
      await syncDirectory(dir);
      const etag = infoFromStat(key, await Deno.lstat(path)).etag;
      return etag === undefined ? {} : { etag };
    } catch (err) {
      await Deno.remove(staging).catch(() => {});
      if (err instanceof StoreError || isAbort(err)) throw err;
      throw this.#fsError(err, `put ${key}`, key);
    }
  }

  /** Size and etag of a file, or `null`. */
  async stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo | null> {
    validateKey(key);
    await this.#checkRoot(opts.signal);
    try {
      const info = await Deno.lstat(this.#path(key));
      return info.isFile ? infoFromStat(key, info) : null;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        return null;
      }
      throw this.#fsError(err, `stat ${key}`, key);
    }
  }

  /** Removes a file if present. */
  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    validateKey(key);
    await this.#checkRoot(opts.signal);
    try {
      await Deno.remove(this.#path(key));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return;
      throw this.#fsError(err, `delete ${key}`, key);
    }
  }

  async #open(key: string, signal?: AbortSignal): Promise<{ file: Deno.FsFile; info: ObjectInfo }> {
    validateKey(key);
    await this.#checkRoot(signal);
    const path = this.#path(key);
    try {
      const link = await Deno.lstat(path);
      if (!link.isFile) throw new NotFoundError(key, { store: this.name });
      const file = await Deno.open(path, { read: true });
      try {
        return { file, info: infoFromStat(key, await file.stat()) };
      } catch (err) {
        file.close();
        throw err;
      }
    } catch (err) {
      throw this.#fsError(err, `read ${key}`, key);
    }
  }

  async #checkRoot(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal, this.name);
    if (this.#rootChecked) return;
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(this.#root);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new StoreError(
          "not_found",
          `Cannot open ${this.name}: no such directory (create it, or mount the drive)`,
          { store: this.name, cause: err },
        );
      }
      throw this.#fsError(err, "open the folder", "");
    }
    if (!info.isDirectory) {
      throw new StoreError("invalid_input", `Cannot open ${this.name}: it is not a directory`, {
        store: this.name,
      });
    }
    this.#rootChecked = true;
  }

  #path(key: string): string {
    return key === "" ? this.#root : join(this.#root, ...key.split("/"));
  }

  #fsError(err: unknown, action: string, key: string): Error {
    if (err instanceof StoreError || isAbort(err)) return err as Error;
    const opts = { store: this.name, key, cause: err };
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return new NotFoundError(key, { store: this.name, cause: err });
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      return new StoreError("auth", `Cannot ${action}: permission denied`, opts);
    }
    const code = (err as { code?: unknown }).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      return new StoreError("no_space", `Cannot ${action}: no space left on the device`, opts);
    }
    if (code === "EROFS") {
      return new StoreError("auth", `Cannot ${action}: the folder is read-only`, opts);
    }
    const detail = err instanceof Error ? err.message : String(err);
    return new StoreError("unknown", `Cannot ${action}: ${detail}`, opts);
  }
}

function infoFromStat(key: string, info: Deno.FileInfo): ObjectInfo {
  const mtime = info.mtime?.getTime() ?? 0;
  const tag = [info.ino ?? 0, info.size, mtime, info.ctime?.getTime() ?? 0].join("-");
  const out: ObjectInfo = { key, size: info.size, etag: `"${tag}"` };
  if (info.mtime !== null) out.lastModified = info.mtime;
  return out;
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "AbortError" || err.name === "TimeoutError");
}

async function writeFileSynced(
  path: string,
  data: Uint8Array | ReadableStream<Uint8Array>,
  opts: PutOptions,
  store: string,
): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    if (data instanceof Uint8Array) {
      await writeAll(file, data);
      opts.onProgress?.(data.byteLength, data.byteLength);
    } else {
      let done = 0;
      const reader = data.getReader();
      try {
        while (true) {
          const { done: end, value } = await readAbortable(reader, opts.signal, store);
          if (end) break;
          await writeAll(file, value);
          done += value.byteLength;
          opts.onProgress?.(done, opts.size);
        }
      } catch (err) {
        await reader.cancel(err).catch(() => {});
        throw err;
      } finally {
        reader.releaseLock();
      }
    }
    await file.sync();
  } finally {
    file.close();
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.byteLength) at += await file.write(data.subarray(at));
}

/**
 * Publishes `staging` at `path` only if nothing is there. A hard link fails atomically if
 * the target exists; filesystems without hard links (FAT, some network shares) fall back to
 * a check before the rename.
 */
async function publishIfAbsent(
  staging: string,
  path: string,
  key: string,
  store: string,
): Promise<void> {
  try {
    await Deno.link(staging, path);
    await Deno.remove(staging);
    return;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) throw new PreconditionError(key, { store });
  }
  const existing = await Deno.lstat(path).catch(() => null);
  if (existing !== null) throw new PreconditionError(key, { store });
  await Deno.rename(staging, path);
}

async function syncDirectory(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return; // directories cannot be opened for fsync there
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some filesystems (network mounts) refuse fsync on a directory; the rename stands.
  } finally {
    handle?.close();
  }
}
