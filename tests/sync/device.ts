// Test helper: a simulated device with its own data directory and index.

import { HxHome } from "../../src/vault/home.ts";
import { Vault } from "../../src/vault/vault.ts";
import { initVault, joinVault } from "../../src/sync/setup.ts";
import { openSyncContext, type SyncContext } from "../../src/sync/context.ts";
import { push, type PushOptions, type PushResult } from "../../src/sync/push.ts";
import { pull, type PullOptions, type PullResult } from "../../src/sync/pull.ts";
import { recordEvent } from "../../src/history/record.ts";
import { findEvents } from "../../src/vault/events.ts";
import { forget } from "../../src/vault/tombstones.ts";
import type { OpenStoreOptions } from "../../src/store/open.ts";
import { openObject } from "../../src/crypto/envelope.ts";
import { vaultPrefix } from "../../src/object/keys.ts";

/** A shared clock tests can move. */
export class Clock {
  now = Date.UTC(2026, 10, 21, 9, 0, 0);
  read = () => this.now;
  tick(ms = 1000): number {
    this.now += ms;
    return this.now;
  }
}

export class Device {
  readonly name: string;
  readonly home: HxHome;
  vault: Vault;
  readonly clock: Clock;
  storeOptions: OpenStoreOptions = { retry: false };
  #session = crypto.randomUUID();

  private constructor(name: string, home: HxHome, clock: Clock) {
    this.name = name;
    this.home = home;
    this.clock = clock;
    this.vault = Vault.open(home.dbPath, { now: clock.read, host: name });
  }

  static async create(name: string, clock = new Clock()): Promise<Device> {
    const dir = await Deno.makeTempDir({ prefix: `hx-dev-${name}-` });
    return new Device(name, new HxHome(dir), clock);
  }

  async init(store: string, opts: { encrypt?: boolean } = {}): Promise<string> {
    const { keyExport } = await initVault(this.home, {
      store,
      ...opts,
      storeOptions: this.storeOptions,
      now: this.clock.read,
    });
    return keyExport ?? "";
  }

  async join(store: string, key: string): Promise<void> {
    await joinVault(this.home, {
      store,
      key,
      storeOptions: this.storeOptions,
      now: this.clock.read,
    });
  }

  record(cmd: string, opts: { at?: number; exit?: number } = {}): void {
    const at = opts.at ?? this.clock.tick();
    recordEvent(this.vault, {
      cmd,
      session_id: this.#session,
      started_at: at,
      ended_at: at + 5,
      exit_code: opts.exit ?? 0,
      cwd: `/home/${this.name}`,
    });
  }

  forget(start: number, end: number): void {
    forget(this.vault, { start, end });
  }

  async context(): Promise<SyncContext> {
    return await openSyncContext(this.home, this.vault, this.storeOptions);
  }

  async push(opts: PushOptions = {}): Promise<PushResult> {
    const ctx = await this.context();
    try {
      return await push(ctx, opts);
    } finally {
      await ctx.store.close?.();
    }
  }

  async pull(opts: PullOptions = {}): Promise<PullResult> {
    const ctx = await this.context();
    try {
      return await pull(ctx, opts);
    } finally {
      await ctx.store.close?.();
    }
  }

  /**
   * Every object of the vault on the store, opened with the key as an attacker holding it
   * would: segments and manifests decrypted to their plaintext, blobs (streamed, their
   * contents are not history) by key only.
   */
  async storeContents(): Promise<{ key: string; text: string | null }[]> {
    const ctx = await this.context();
    const out: { key: string; text: string | null }[] = [];
    try {
      for await (const info of ctx.store.list(vaultPrefix(ctx.vaultId))) {
        const kind = /\.(hxseg|hxman)$/.exec(info.key)?.[1];
        if (kind === undefined) {
          out.push({ key: info.key, text: null });
          continue;
        }
        const got = await ctx.store.get(info.key);
        const { payload } = await openObject(got.data, {
          key: ctx.key,
          expect: { object_type: kind === "hxseg" ? "segment" : "manifest", vault_id: ctx.vaultId },
          maxPlainBytes: 256 * 1024 * 1024,
        });
        out.push({ key: info.key, text: new TextDecoder().decode(payload) });
      }
    } finally {
      await ctx.store.close?.();
    }
    return out;
  }

  /** Every event as `node/session/seq cmd`, sorted: the state devices must agree on. */
  state(): string[] {
    return findEvents(this.vault.db, { limit: 1_000_000 })
      .map((e) => `${e.node_id}/${e.session_id}/${e.seq} ${e.started_at} ${e.cmd}`)
      .sort();
  }

  commands(): string[] {
    return findEvents(this.vault.db, { limit: 1_000_000, oldestFirst: true }).map((e) => e.cmd);
  }

  /** Closes and reopens the index, as a new process would. */
  reopen(): void {
    this.vault.close();
    this.vault = Vault.open(this.home.dbPath, { now: this.clock.read, host: this.name });
  }

  /** Deletes the index and opens a fresh one (a new node identity). */
  async resetIndex(): Promise<void> {
    this.vault.close();
    for (const suffix of ["", "-wal", "-shm"]) {
      await Deno.remove(this.home.dbPath + suffix).catch(() => {});
    }
    this.vault = Vault.open(this.home.dbPath, { now: this.clock.read, host: this.name });
  }

  async dispose(): Promise<void> {
    this.vault.close();
    await Deno.remove(this.home.path, { recursive: true });
  }
}

export async function tempFolderStore(): Promise<
  { uri: string; path: string; dispose: () => Promise<void> }
> {
  const path = await Deno.makeTempDir({ prefix: "hx-store-" });
  return { uri: `folder:${path}`, path, dispose: () => Deno.remove(path, { recursive: true }) };
}

/** Two devices of one vault on a fresh folder store: `a` created it, `b` joined with its key. */
export interface JoinedPair {
  store: { uri: string; path: string };
  clock: Clock;
  a: Device;
  b: Device;
  key: string;
  /** Removes both devices and the store. */
  dispose(): Promise<void>;
}

export async function joinedPair(): Promise<JoinedPair> {
  const store = await tempFolderStore();
  const clock = new Clock();
  const a = await Device.create("a", clock);
  const b = await Device.create("b", clock);
  const dispose = async () => {
    await a.dispose();
    await b.dispose();
    await store.dispose();
  };
  try {
    const key = await a.init(store.uri);
    await b.join(store.uri, key);
    return { store, clock, a, b, key, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
