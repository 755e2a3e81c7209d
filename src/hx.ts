/**
 * The hx library facade: one device's history and sync, as the CLI uses them.
 *
 * @module
 */

import { defaultSettings, type RecordRules, recordRules, type Settings } from "./config.ts";
import { HxError } from "./errors.ts";
import { importHistory, type ImportResult, readHistoryFile } from "./history/import_file.ts";
import type { Shell } from "./history/parsed_command.ts";
import { recordEvent, type RecordInput } from "./history/record.ts";
import type { OpenStoreOptions } from "./store/open.ts";
import { openStore } from "./store/open.ts";
import { loadSyncSetup, openSyncContext, type SyncContext } from "./sync/context.ts";
import { withLock } from "./sync/lock.ts";
import { pull, type PullOptions, type PullResult } from "./sync/pull.ts";
import { push, type PushOptions, type PushResult } from "./sync/push.ts";
import { publishManifest } from "./sync/manifest.ts";
import {
  addKeySlot,
  type InitOptions,
  type InitResult,
  initVault,
  type JoinOptions,
  joinVault,
} from "./sync/setup.ts";
import {
  clearQuarantine,
  listQuarantine,
  type QuarantineEntry,
  retryQuarantineNow,
  summarizeQuarantine,
} from "./vault/quarantine.ts";
import { type SyncStatus, syncStatus } from "./sync/status.ts";
import {
  findEvents,
  type FindQuery,
  type StoredEvent,
  streamEvents,
  type StreamQuery,
} from "./vault/events.ts";
import { defaultHomePath, HxHome } from "./vault/home.ts";
import { type ApplyResult, forget, type ForgetOptions } from "./vault/tombstones.ts";
import { forgetVaultState, type LeftState } from "./vault/leave.ts";
import { setPullSince } from "./vault/peers.ts";
import { type HistoryStats, historyStats, type StatsQuery } from "./vault/stats.ts";
import { Vault } from "./vault/vault.ts";
import { blobPath, isCached, removeCachedBlobs } from "./vault/blob_cache.ts";
import {
  type ArtifactListing,
  attachFile,
  findArtifact,
  listArtifacts,
  type StoredArtifact,
} from "./history/artifacts.ts";
import { fetchBlob } from "./sync/blobs.ts";
import { autoSyncDue, readAutoSync, recordAutoSync } from "./sync/auto.ts";
import { historyDigest, type VerifyReport, verifyStore } from "./sync/verify.ts";
import type { SlotKdf } from "./crypto/key_slot.ts";
import { verifyKey } from "./sync/context.ts";
import {
  latestSessionId,
  listPins,
  type PinnedSession,
  type SessionView,
  sessionView,
  setPinned,
} from "./vault/sessions.ts";

/** What an automatic sync attempt did. */
export type AutoSyncOutcome = "off" | "not_due" | "busy" | "synced" | "failed";
import type { TombstonePayload } from "./object/payloads.ts";
import { bulkPending, finishBulk } from "./vault/bulk.ts";

/** Options of {@linkcode Hx.open}. */
export interface HxOptions {
  /** The data directory. Default: `$HX_HOME`, else the XDG data directory. */
  home?: string;
  /** Reads environment variables (default `Deno.env.get`). */
  getEnv?: (name: string) => string | undefined;
  /** Environment, `fetch` and retry policy for stores. */
  storeOptions?: OpenStoreOptions;
  /** The clock (ms). */
  now?: () => number;
  /** This machine's host name. */
  host?: string;
  /** The user's settings (default: none, all defaults; the CLI reads the settings file). */
  settings?: Settings;
}

/**
 * One device's hx: its history index and its sync.
 *
 * @example Record, find and forget, without sync
 * ```ts
 * import { Hx } from "./hx.ts";
 * const hx = Hx.open({ home: await Deno.makeTempDir() });
 * hx.record({ cmd: "make test", session_id: "s1", started_at: Date.now() - 1000, exit_code: 0 });
 * console.assert(hx.find({ text: "make" }).length === 1);
 * hx.close();
 * ```
 */
export class Hx {
  /** The data directory. */
  readonly homePath: string;
  readonly #home: HxHome;
  readonly #opts: HxOptions;
  #index: Vault | null = null;
  #rules: RecordRules | null = null;

  private constructor(home: HxHome, opts: HxOptions) {
    this.#home = home;
    this.homePath = home.path;
    this.#opts = opts;
  }

  /**
   * Opens a device's hx. Nothing is read or created until it is used.
   *
   * @param opts Data directory, environment, store options, clock and host.
   * @returns The facade.
   */
  static open(opts: HxOptions = {}): Hx {
    const home = new HxHome(opts.home ?? defaultHomePath(opts.getEnv), {
      autoSyncMinutes: opts.settings?.sync.auto_minutes ?? null,
    });
    return new Hx(home, opts);
  }

  /** This device's node id (opens the index). */
  get nodeId(): string {
    return this.#vault.nodeId;
  }

  /** The local index, opened (and created, with the node identity) on first use. */
  get #vault(): Vault {
    if (this.#index === null) {
      this.#home.ensure();
      this.#index = Vault.open(this.#home.dbPath, {
        ...(this.#opts.now === undefined ? {} : { now: this.#opts.now }),
        ...(this.#opts.host === undefined ? {} : { host: this.#opts.host }),
      });
    }
    return this.#index;
  }

  /**
   * Checks the index: opens it and runs SQLite's quick check.
   *
   * @returns Its path, schema version, `ok` or what the check found, and whether a pull's
   *   deferred bookkeeping (a bulk write) is unfinished: under way, or left by a pull that was
   *   stopped, which the next pull completes.
   * @throws {HxError} When it cannot be opened (code `index_damaged` or `home_unwritable`).
   */
  checkIndex(): { path: string; schema: number; integrity: string; bulkPending: boolean } {
    const db = this.#vault.db;
    const integrity = db.get<{ quick_check: string }>("PRAGMA quick_check")?.quick_check ??
      "unknown";
    return {
      path: this.#home.dbPath,
      schema: db.schemaVersion(),
      integrity,
      bulkPending: bulkPending(db),
    };
  }

  /** Why files cannot be written in the data directory (recording would fail), or `null`. */
  dataDirectoryProblem(): string | null {
    return this.#home.writableProblem();
  }

  /** The latest failures of `hx record` (the shell never sees them), oldest first, and where they are logged. */
  async recordFailures(): Promise<{ path: string; lines: string[] }> {
    return { path: this.#home.recordLogPath, lines: await this.#home.recordFailures() };
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  /** What the settings keep out of recording and import, compiled on first use. */
  get #recordRules(): RecordRules {
    this.#rules ??= recordRules(this.#opts.settings ?? defaultSettings());
    return this.#rules;
  }

  /**
   * Records one finished command (what the shell hook calls), secrets redacted; `false` when
   * it was not stored (a duplicate, a forgotten time, or a command the settings ignore).
   */
  record(input: RecordInput): boolean {
    return recordEvent(this.#vault, input, { rules: this.#recordRules });
  }

  /** Imports a shell history file (read before the index is opened, so a bad path touches nothing). */
  async importFile(path: string, opts: { shell?: Shell } = {}): Promise<ImportResult> {
    const file = await readHistoryFile(path, opts);
    return importHistory(this.#vault, file, { rules: this.#recordRules });
  }

  /** Searches history, newest first. */
  find(query: FindQuery = {}): StoredEvent[] {
    return findEvents(this.#vault.db, query);
  }

  /** Statistics of history: totals, the most run commands and programs, activity per day. */
  stats(query: Omit<StatsQuery, "now">): HistoryStats {
    return historyStats(this.#vault.db, { ...query, now: this.#now() });
  }

  /** Searches history one event at a time, newest last (the newest `limit`; 0: all). */
  stream(query: StreamQuery = {}): Generator<StoredEvent> {
    return streamEvents(this.#vault.db, query);
  }

  /**
   * Forgets a window here (and cached blobs only it referenced), leaving no byte of it in the
   * index or its log, and creates the tombstone the next push publishes.
   */
  async forget(opts: ForgetOptions): Promise<{ tombstone: TombstonePayload } & ApplyResult> {
    // Forgetting recounts each command it touched through the index by command: a bulk write a
    // stopped pull left unfinished is finished first, unless a pull (its owner) runs now.
    if (bulkPending(this.#vault.db)) {
      await withLock(this.#home.lockPath, () => Promise.resolve(finishBulk(this.#vault.db)), {
        wait: false,
      });
    }
    const result = forget(this.#vault, opts);
    await removeCachedBlobs(this.#home.blobsDir, result.orphanedBlobs);
    this.#vault.db.checkpoint();
    return result;
  }

  /** Attaches a file to a session (default: this device's latest); it syncs on the next push. */
  attach(path: string, opts: { sessionId?: string } = {}): Promise<StoredArtifact> {
    return attachFile(this.#vault, this.#home.blobsDir, path, opts);
  }

  /** Lists artifacts, newest first. */
  artifacts(opts: { sessionId?: string } = {}): Promise<ArtifactListing[]> {
    return listArtifacts(this.#vault.db, this.#home.blobsDir, opts);
  }

  /**
   * Writes an artifact's content to `out`: copied from the cache, or fetched from the store
   * straight to `out` (verified before it appears; not kept in the cache).
   *
   * @param ref The artifact's id or a prefix of its SHA-256.
   * @param out Where to write it.
   * @param opts Byte progress of a fetch.
   * @returns The artifact.
   */
  async getArtifact(
    ref: string,
    out: string,
    opts: { onProgress?: (done: number, total: number) => void } = {},
  ): Promise<StoredArtifact> {
    const artifact = findArtifact(this.#vault.db, ref);
    if (await isCached(this.#home.blobsDir, artifact.sha256)) {
      await Deno.copyFile(blobPath(this.#home.blobsDir, artifact.sha256), out);
    } else {
      await this.#session((ctx) => fetchBlob(ctx, artifact, { ...opts, out }));
    }
    return artifact;
  }

  /** Creates a vault on a store and sets this device up to sync with it. */
  syncInit(opts: Omit<InitOptions, "storeOptions" | "now">): Promise<InitResult> {
    return initVault(this.#home, this.#setup(opts));
  }

  /**
   * Joins an existing vault with its key export string or a passphrase. With `since` (ms),
   * pulls fetch only objects holding history from then on; `pull({ all: true })` the rest.
   */
  async syncJoin(
    opts: Omit<JoinOptions, "storeOptions" | "now"> & { since?: number },
  ): Promise<{ vaultId: string }> {
    const { since, ...join } = opts;
    const joined = await joinVault(this.#home, this.#setup(join));
    // What the device fetches is the index's business: `sync leave` forgets it with the rest.
    setPullSince(this.#vault.db, since ?? null);
    return joined;
  }

  /**
   * Leaves the vault: pushes what this device has not published yet (unless `push` is
   * `false`), then forgets the vault in the index and removes the sync setup and the key.
   * History stays on this device; what it published stays in the vault for the others.
   *
   * @param opts `push: false` leaves without pushing first.
   * @returns The vault left, the push (if any) and the history kept.
   */
  async syncLeave(
    opts: { push?: boolean } = {},
  ): Promise<{ vaultId: string; push: PushResult | null } & LeftState> {
    const config = this.#home.readConfig();
    if (config === null) {
      throw new HxError("precondition", "Cannot leave: this device is not set up for sync", {
        code: "not_configured",
      });
    }
    return (await withLock(this.#home.lockPath, async () => {
      const pushed = opts.push === false ? null : await this.#withContext((ctx) => push(ctx, {}));
      // The index first: killed after this, the device still syncs and republishes all.
      const kept = forgetVaultState(this.#vault.db);
      await this.#home.removeConfig();
      await this.#home.removeKey(config.vault_id);
      return { vaultId: config.vault_id, push: pushed, ...kept };
    }))!;
  }

  #setup<T extends object>(opts: T): T & { storeOptions?: OpenStoreOptions; now: () => number } {
    return {
      ...opts,
      now: () => this.#now(),
      ...(this.#opts.storeOptions === undefined ? {} : { storeOptions: this.#opts.storeOptions }),
    };
  }

  /** Runs `fn` with a sync session, holding the sync lock. Fails before touching disk when sync is not set up. */
  async #session<T>(fn: (ctx: SyncContext) => Promise<T>, wait = true): Promise<T | null> {
    await loadSyncSetup(this.#home);
    return await withLock(this.#home.lockPath, () => this.#withContext(fn), { wait });
  }

  /** Runs `fn` with a sync session (the caller holds the lock). */
  async #withContext<T>(fn: (ctx: SyncContext) => Promise<T>): Promise<T> {
    const ctx = await openSyncContext(this.#home, this.#vault, this.#opts.storeOptions);
    try {
      return await fn(ctx);
    } finally {
      await ctx.store.close?.();
    }
  }

  /** Publishes this device's new history. */
  async push(opts: PushOptions = {}): Promise<PushResult> {
    return (await this.#session((ctx) => push(ctx, opts)))!;
  }

  /** Imports what other devices published. */
  async pull(opts: PullOptions = {}): Promise<PullResult> {
    return (await this.#session((ctx) => pull(ctx, opts)))!;
  }

  /**
   * Pushes then pulls in one session.
   *
   * @param opts Options of both; `wait: false` returns `null` at once if another sync runs.
   */
  async sync(
    opts: { push?: PushOptions; pull?: PullOptions; wait?: boolean } = {},
  ): Promise<{ push: PushResult; pull: PullResult } | null> {
    return await this.#session(async (ctx) => {
      const pushed = await push(ctx, opts.push ?? {});
      const pulled = await pull(ctx, opts.pull ?? {});
      // The pull found this device's manifest on the store older than it knows: rewrite it
      // now, so that no device joining next sees the older one alone.
      if (pulled.republish) pushed.manifest_seq = await publishManifest(ctx, { force: true });
      return { push: pushed, pull: pulled };
    }, opts.wait ?? true);
  }

  /**
   * Compacts this device's published history now: pulls (so that what the other devices
   * have seen is current), then pushes with every run of small objects, or objects holding
   * forgotten records, rewritten into packs, and deletes from the store what every device
   * has seen replaced. A sync does the same on its own when the manifest lists many objects
   * or after a forget; replaced objects go at a later sync, once the others have seen them.
   *
   * @returns The pull and the push (its `compaction` says what was packed and deleted).
   */
  async compact(): Promise<{ pull: PullResult; push: PushResult }> {
    return (await this.#session(async (ctx) => {
      const pulled = await pull(ctx);
      const pushed = await push(ctx, { compact: true, republish: pulled.republish });
      return { pull: pulled, push: pushed };
    }))!;
  }

  /** The sync status; works before sync is set up. */
  status(): Promise<SyncStatus> {
    return Promise.resolve(syncStatus(this.#home, this.#vault));
  }

  /** Pauses recording on this device, until `until` (ms) or until {@linkcode Hx.resume}. */
  pause(until?: number): Promise<void> {
    return this.#home.pause(until);
  }

  /** Resumes recording. */
  resume(): Promise<void> {
    return this.#home.resume();
  }

  /**
   * What the shell hook runs: records a command unless recording is paused, then runs an
   * automatic sync if one is due (the hook has already detached this process).
   *
   * @param input The command.
   * @returns Whether it was recorded, and what auto-sync did.
   */
  async recordFromShell(input: RecordInput): Promise<{ recorded: boolean; sync: AutoSyncOutcome }> {
    if (this.#home.pausedUntil(this.#now()) !== null) {
      return { recorded: false, sync: "off" };
    }
    const recorded = this.record(input);
    return { recorded, sync: await this.autoSync() };
  }

  /**
   * Runs an automatic sync if one is due: never two at once (a busy lock skips), and after a
   * failure the next attempt backs off exponentially.
   *
   * @returns What happened.
   */
  async autoSync(): Promise<AutoSyncOutcome> {
    const config = this.#home.readConfig();
    const before = readAutoSync(this.#vault.db, config, this.#home.autoSyncOverride);
    if (!before.enabled) return "off";
    if (!autoSyncDue(before, this.#now())) return "not_due";
    const outcome = await withLock(this.#home.lockPath, async (): Promise<AutoSyncOutcome> => {
      // Another process may have synced while this one waited to look: check again.
      const state = readAutoSync(this.#vault.db, config, this.#home.autoSyncOverride);
      const now = this.#now();
      if (!autoSyncDue(state, now)) return "not_due";
      try {
        await this.#withContext(async (ctx) => {
          await push(ctx);
          if ((await pull(ctx)).republish) await publishManifest(ctx, { force: true });
        });
      } catch {
        recordAutoSync(this.#vault.db, state, false, now); // the run records keep the error
        return "failed";
      }
      recordAutoSync(this.#vault.db, state, true, now);
      return "synced";
    }, { wait: false });
    return outcome ?? "busy";
  }

  /** Sets the auto-sync interval in minutes (0 turns it off). */
  async setAutoSync(minutes: number): Promise<void> {
    const { config } = await loadSyncSetup(this.#home);
    await this.#home.writeConfig({ ...config, auto_sync_minutes: minutes });
  }

  /**
   * A session with its failures in context: the given one, or the latest other than
   * `except` (the shell asking), or the shell asking's own when no other has history.
   */
  last(opts: { sessionId?: string; except?: string } = {}): SessionView {
    // "Last" skips the shell asking, unless it is the only one with history.
    const id = opts.sessionId ??
      latestSessionId(this.#vault.db, opts.except === undefined ? {} : { except: opts.except }) ??
      latestSessionId(this.#vault.db);
    if (id === null) {
      throw new HxError("not_found", "Cannot show the last session: no history yet", {
        code: "no_history",
      });
    }
    return sessionView(this.#vault.db, id);
  }

  /**
   * The objects sync set aside (oldest first, at most `limit`), and how many there are.
   *
   * @param limit The most entries returned.
   */
  quarantined(limit = 1000): { total: number; entries: QuarantineEntry[] } {
    const db = this.#vault.db;
    return {
      total: summarizeQuarantine(db, 0).total,
      entries: listQuarantine(db, { limit }),
    };
  }

  /**
   * Makes every quarantined object due at the next pull (`hx sync quarantine retry`).
   *
   * @returns How many there are.
   */
  retryQuarantined(): number {
    return retryQuarantineNow(this.#vault.db, this.#now());
  }

  /**
   * Empties the quarantine: the next pull tries every object afresh, and sets aside again
   * whatever still fails (`hx sync quarantine clear`).
   *
   * @returns How many entries were removed.
   */
  clearQuarantined(): number {
    return clearQuarantine(this.#vault.db);
  }

  /** Pins a session (pins sync to every device); `false` when it already was pinned. */
  pin(sessionId: string): boolean {
    return setPinned(this.#vault, sessionId, true);
  }

  /** Unpins a session on every device (after sync); `false` when it was not pinned. */
  unpin(sessionId: string): boolean {
    return setPinned(this.#vault, sessionId, false);
  }

  /** Pinned sessions. */
  pins(): PinnedSession[] {
    return listPins(this.#vault.db);
  }

  /** Reads every object of the vault and reports what does not decrypt or hash. */
  async verify(
    opts: { onProgress?: (done: number, total: number) => void } = {},
  ): Promise<VerifyReport> {
    return (await this.#session(async (ctx) => {
      await verifyKey(ctx);
      return await verifyStore(ctx, opts);
    }))!;
  }

  /** A digest of the set of live event keys, to compare devices. */
  async digest(): Promise<{ digest: string; events: number }> {
    const { key } = await loadSyncSetup(this.#home);
    return await historyDigest({ vault: this.#vault, key });
  }

  /** The vault key export string (the secret another device joins with). */
  async exportKey(): Promise<string> {
    const { config, key } = await loadSyncSetup(this.#home);
    if (key === null) {
      throw new HxError("invalid_input", "Cannot export a key: the vault is not encrypted");
    }
    return await key.exportString(config.vault_id);
  }

  /** Adds a passphrase key slot to the vault, so devices can join with the passphrase. */
  async addPassphrase(passphrase: string, kdf?: SlotKdf): Promise<string> {
    const { config, key } = await loadSyncSetup(this.#home);
    if (key === null) {
      throw new HxError("invalid_input", "Cannot add a passphrase: the vault is not encrypted");
    }
    const store = await openStore(config.store, this.#opts.storeOptions);
    try {
      return await addKeySlot(store, config.vault_id, key, passphrase, kdf);
    } finally {
      await store.close?.();
    }
  }

  /** Closes the index. */
  close(): void {
    this.#index?.close();
    this.#index = null;
  }
}
