/**
 * The data directory of one device (`HX_HOME`): the index, the sync configuration, the
 * vault key, cached blobs and the sync lock. The configuration and key live outside the
 * index, so deleting the index and pulling again rebuilds history.
 *
 * @module
 */

import { joinPath as join } from "../_path.ts";
import { writeFileAtomic } from "../_atomic_file.ts";
import { HxError } from "../errors.ts";

/** What `hx sync init` or `join` wrote: which store and vault this device syncs with. */
export interface SyncConfig {
  /** The store URI as given (may hold credentials: the file is private). */
  store: string;
  /** The vault this device syncs with. */
  vault_id: string;
  /** Whether the vault encrypts objects (`false` only for `--no-encrypt` vaults). */
  encrypted: boolean;
  /** When this device was set up (ms). */
  joined_at: number;
  /** Minutes between automatic syncs after `hx record`; 0 turns auto-sync off. */
  auto_sync_minutes?: number;
  /** Fingerprint of the key last proven against the vault descriptor's key check. */
  verified_key_id?: string;
}

/**
 * Where hx keeps a device's data: `$HX_HOME`, else `$XDG_DATA_HOME/hx`, else
 * `~/.local/share/hx` (`%LOCALAPPDATA%\hx` on Windows).
 *
 * @param getEnv Reads an environment variable.
 * @returns The directory path.
 * @throws {HxError} `invalid_input` when no home directory can be found.
 */
export function defaultHomePath(
  getEnv: (name: string) => string | undefined = Deno.env.get,
): string {
  const explicit = getEnv("HX_HOME");
  if (explicit) return explicit;
  if (Deno.build.os === "windows") {
    const local = getEnv("LOCALAPPDATA");
    if (local) return join(local, "hx");
  }
  const xdg = getEnv("XDG_DATA_HOME");
  if (xdg) return join(xdg, "hx");
  const home = getEnv("HOME") ?? getEnv("USERPROFILE");
  if (!home) {
    throw new HxError("invalid_input", "Cannot find the data directory: set HX_HOME or HOME");
  }
  return join(home, ".local", "share", "hx");
}

/**
 * One device's data directory.
 *
 * @example
 * ```ts
 * import { HxHome } from "./home.ts";
 * const home = new HxHome(await Deno.makeTempDir());
 * console.assert(home.readConfig() === null);
 * ```
 */
export class HxHome {
  /** The directory. */
  readonly path: string;

  /**
   * Uses a data directory (created on first write).
   *
   * @param path The directory.
   * @param opts The auto-sync interval the settings file gives, if any.
   */
  constructor(path: string, opts: { autoSyncMinutes?: number | null } = {}) {
    this.path = path;
    this.autoSyncOverride = opts.autoSyncMinutes ?? null;
  }

  /** Minutes between automatic syncs set by the settings file (`null`: `hx sync auto` decides). */
  readonly autoSyncOverride: number | null;

  /** The index database. */
  get dbPath(): string {
    return join(this.path, "hx.db");
  }

  /** The sync configuration. */
  get configPath(): string {
    return join(this.path, "sync.json");
  }

  /** The lock that keeps sync runs from overlapping. */
  get lockPath(): string {
    return join(this.path, "sync.lock");
  }

  /** Cached blob contents, by plaintext SHA-256. */
  get blobsDir(): string {
    return join(this.path, "blobs");
  }

  /** Present while recording is paused (`hx pause`). */
  get pausePath(): string {
    return join(this.path, "paused");
  }

  /** Where `hx record` notes its failures, for `hx doctor` (the shell never sees them). */
  get recordLogPath(): string {
    return join(this.path, "record-errors.log");
  }

  /** Until when recording is paused (ms; `Infinity` until resumed), or `null` if not paused. */
  pausedUntil(now: number): number | null {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.pausePath); // small; sync skips a thread hop per command
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
    const until = text.trim() === "" ? Infinity : Number(text.trim());
    if (!Number.isFinite(until)) return Infinity;
    return until > now ? until : null;
  }

  /** Pauses recording until `until` (ms), or until resumed when omitted. */
  async pause(until?: number): Promise<void> {
    this.ensure();
    await writePrivate(this.pausePath, until === undefined ? "" : String(until));
  }

  /** Resumes recording. */
  async resume(): Promise<void> {
    await Deno.remove(this.pausePath).catch(() => {});
  }

  /** Appends a line to the record failure log, keeping its last 100 lines. */
  async logRecordFailure(line: string): Promise<void> {
    this.ensure();
    let lines: string[] = [];
    try {
      lines = (await Deno.readTextFile(this.recordLogPath)).split("\n").filter((l) => l !== "");
    } catch { /* no log yet */ }
    lines.push(line);
    await writePrivate(this.recordLogPath, lines.slice(-100).join("\n") + "\n");
  }

  /** The record failure log, oldest first. */
  async recordFailures(): Promise<string[]> {
    try {
      return (await Deno.readTextFile(this.recordLogPath)).split("\n").filter((l) => l !== "");
    } catch {
      return [];
    }
  }

  /** The file holding a vault's key export string. */
  keyPath(vaultId: string): string {
    return join(this.path, "keys", `${vaultId}.key`);
  }

  /**
   * Creates the directory, private to the user (mode 0700), if needed; makes an existing one
   * private too.
   *
   * @throws {HxError} `auth` (code `home_unwritable`) when it cannot be created.
   */
  ensure(): void {
    try {
      // Sync: this runs for every recorded command, and each call is one quick syscall.
      Deno.mkdirSync(this.path, { recursive: true, mode: 0o700 });
      if (Deno.build.os !== "windows") {
        const mode = Deno.statSync(this.path).mode;
        if (mode !== null && (mode & 0o077) !== 0) Deno.chmodSync(this.path, mode & 0o700);
      }
    } catch (err) {
      throw new HxError(
        "auth",
        `Cannot use the data directory ${this.path}: ${(err as Error).message}`,
        {
          code: "home_unwritable",
          cause: err,
        },
      );
    }
  }

  /**
   * Whether files can be written in the directory (created if needed): writes and removes a
   * probe file, as recording would.
   *
   * @returns `null` when they can, else why not.
   */
  writableProblem(): string | null {
    try {
      this.ensure();
      const probe = join(this.path, `.write-probe-${crypto.randomUUID()}`);
      Deno.writeTextFileSync(probe, "");
      Deno.removeSync(probe);
      return null;
    } catch (err) {
      return ((err as { cause?: Error }).cause ?? (err as Error)).message;
    }
  }

  /** The sync configuration, or `null` before `hx sync init`/`join`. */
  readConfig(): SyncConfig | null {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.configPath); // small; read for every recorded command
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
    try {
      const value = JSON.parse(text) as SyncConfig;
      if (typeof value.store !== "string" || typeof value.vault_id !== "string") throw new Error();
      return value;
    } catch {
      throw new HxError(
        "corrupt",
        `Cannot read ${this.configPath}: it is not valid (remove it and run hx sync join again)`,
      );
    }
  }

  /** Writes the sync configuration atomically, private to the user. */
  async writeConfig(config: SyncConfig): Promise<void> {
    await writePrivate(this.configPath, JSON.stringify(config, null, 2) + "\n");
  }

  /** Removes the sync configuration (used to undo a half-finished setup). */
  async removeConfig(): Promise<void> {
    await Deno.remove(this.configPath).catch(() => {});
  }

  /** The stored key export string of a vault, or `null`. */
  async readKey(vaultId: string): Promise<string | null> {
    try {
      return (await Deno.readTextFile(this.keyPath(vaultId))).trim();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  }

  /** Stores a vault's key export string with mode 0600. */
  async writeKey(vaultId: string, exported: string): Promise<void> {
    await Deno.mkdir(join(this.path, "keys"), { recursive: true, mode: 0o700 });
    await writePrivate(this.keyPath(vaultId), exported + "\n");
  }

  /** Removes a vault's key file. */
  async removeKey(vaultId: string): Promise<void> {
    await Deno.remove(this.keyPath(vaultId)).catch(() => {});
  }
}

/** Writes a file readable only by the user (0600), with hx's crash-safe writer. */
async function writePrivate(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text), { mode: 0o600 });
}
