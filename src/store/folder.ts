/**
 * A store in a local or shared folder: a NAS mount, a Syncthing folder, a USB drive.
 *
 * Objects are files at their key's path under the root, written by hx's one crash-safe
 * writer (staging file, fsync, rename, fsync of the directory): a reader sees the old file
 * or the new one, never a partial one. Files that file-sync tools and editors leave beside
 * objects are never listed. The store never reads or writes through a symbolic link: a
 * key whose path would leave the root through one is absent to readers and refused to
 * writers.
 *
 * @module
 */

import { join } from "node:path";
import { TargetExistsError, writeFileAtomic } from "../_atomic_file.ts";
import { limitStream } from "./_bytes.ts";
import { isIgnoredName } from "./_folder_ignore.ts";
import {
  NotFoundError,
  PreconditionError,
  StoreError,
  throwIfAborted,
  TooLargeError,
} from "./errors.ts";
import { validateKey, validatePrefix } from "./keys.ts";
import {
  type CallOptions,
  type GetOptions,
  type GetResult,
  type GetStreamOptions,
  isBytes,
  type ObjectInfo,
  type PutBody,
  type PutOptions,
  type PutResult,
  type StoreCapabilities,
  type StreamResult,
  type SyncStore,
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
  readonly #root: string;
  /** The root with symbolic links resolved, once checked. */
  #real: string | null = null;
  /** Whether hard links enforced put-if-absent (`null` until the first such put). */
  #linksWork: boolean | null = null;

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

  /**
   * Rename is atomic. Put-if-absent is enforced by a hard link where the filesystem has
   * them: `conditionalPut` is `true` once a conditional put has shown that they work.
   */
  get capabilities(): StoreCapabilities {
    return {
      atomicReplace: true,
      conditionalPut: this.#linksWork === true,
      conditionalGet: true,
      maxConcurrency: 16,
      metersRequests: false,
    };
  }

  /** Lists files under `prefix`, skipping staging files, sync-tool leftovers and symlinks. */
  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    await this.#checkRoot(opts.signal);
    const cut = prefix.lastIndexOf("/");
    const dirKey = cut < 0 ? "" : prefix.slice(0, cut);
    if (!(await this.#inside(dirKey))) return;
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
        if (info.isFile) yield infoFromStat(key, info);
      }
    }
  }

  /** Reads a whole object, bounded by `maxBytes`. */
  async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
    return (await this.#read(key, undefined, opts))!;
  }

  /** Reads a whole object unless its etag is still `etag`. */
  getIfChanged(key: string, etag: string, opts: GetOptions = {}): Promise<GetResult | null> {
    return this.#read(key, etag, opts);
  }

  async #read(key: string, etag: string | undefined, opts: GetOptions): Promise<GetResult | null> {
    const { file, info } = await this.#open(key, opts.signal);
    try {
      if (etag !== undefined && etag === info.etag) return null;
      if (opts.maxBytes !== undefined && info.size > opts.maxBytes) {
        throw new TooLargeError(key, opts.maxBytes, { store: this.name });
      }
      // Read to the end, not just what stat promised: the bound is checked as bytes arrive.
      let data = new Uint8Array(info.size + 1);
      let at = 0;
      while (true) {
        throwIfAborted(opts.signal, this.name);
        if (at === data.byteLength) {
          if (opts.maxBytes !== undefined && at > opts.maxBytes) {
            throw new TooLargeError(key, opts.maxBytes, { store: this.name });
          }
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

  /** Writes the object with the crash-safe writer (staging file, fsync, rename, fsync dir). */
  async putAtomic(key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
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
    const dirKey = key.includes("/") ? key.slice(0, key.lastIndexOf("/")) : "";
    const path = this.#path(key);
    try {
      if (!(await this.#makeDirs(dirKey)) || !(await this.#inside(dirKey))) {
        throw new StoreError(
          "corrupt",
          `Cannot put ${key}: a component of its path is a symbolic link or a file (hx never writes outside the store)`,
          { store: this.name, key },
        );
      }
      const size = isBytes(body) ? body.byteLength : body.size;
      const { exclusive } = await writeFileAtomic(path, isBytes(body) ? body : body.open(), {
        mode: 0o644,
        ifAbsent: opts.ifAbsent === true,
        signal: opts.signal,
        onProgress: (done) => opts.onProgress?.(done, size),
      });
      if (opts.ifAbsent) this.#linksWork = exclusive;
      const etag = infoFromStat(key, await Deno.lstat(path)).etag;
      return etag === undefined ? {} : { etag };
    } catch (err) {
      if (err instanceof TargetExistsError) throw new PreconditionError(key, { store: this.name });
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
      if (!info.isFile || !(await this.#inside(parentKey(key)))) return null;
      return infoFromStat(key, info);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        return null;
      }
      throw this.#fsError(err, `stat ${key}`, key);
    }
  }

  /** Removes a file if present (never through a symbolic link). */
  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    validateKey(key);
    await this.#checkRoot(opts.signal);
    try {
      if (!(await this.#inside(parentKey(key)))) return;
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
      if (!link.isFile || !(await this.#inside(parentKey(key)))) {
        throw new NotFoundError(key, { store: this.name });
      }
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

  /**
   * Creates the directories of `dirKey` one level at a time, refusing to pass through a
   * symbolic link (`mkdir -p` would follow one out of the root).
   *
   * @returns `false` if a component is a symbolic link or not a directory.
   */
  async #makeDirs(dirKey: string): Promise<boolean> {
    let path = this.#root;
    for (const part of dirKey === "" ? [] : dirKey.split("/")) {
      path = join(path, part);
      try {
        const info = await Deno.lstat(path);
        if (info.isSymlink || !info.isDirectory) return false;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        try {
          await Deno.mkdir(path);
        } catch (made) {
          if (!(made instanceof Deno.errors.AlreadyExists)) throw made;
        }
      }
    }
    return true;
  }

  /**
   * Whether the directory of `dirKey` is really where its key says, under the root: no
   * component of its path is a symbolic link. A missing directory is inside.
   */
  async #inside(dirKey: string): Promise<boolean> {
    if (dirKey === "") return true;
    let real: string;
    try {
      real = await Deno.realPath(this.#path(dirKey));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        return true;
      }
      throw err;
    }
    return real === join(this.#real!, ...dirKey.split("/"));
  }

  async #checkRoot(signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal, this.name);
    if (this.#real !== null) return;
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
    this.#real = await Deno.realPath(this.#root);
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

function parentKey(key: string): string {
  const cut = key.lastIndexOf("/");
  return cut < 0 ? "" : key.slice(0, cut);
}

function infoFromStat(key: string, info: Deno.FileInfo): ObjectInfo {
  const mtime = info.mtime?.getTime() ?? 0;
  const tag = [info.ino ?? 0, info.size, mtime, info.ctime?.getTime() ?? 0].join("-");
  const out: ObjectInfo = { key, size: info.size, etag: `"${tag}"` };
  if (info.mtime !== null) out.lastModified = info.mtime;
  return out;
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "AbortError" || err.name === "TimeoutError");
}
