// One benchmark scenario, run in its own process so that timings and peak memory belong
// to it alone. Usage: deno run -A bench/scenario.ts NAME JSON_ARGS. Prints one JSON line.
// Everything goes through the Hx facade: the code paths the CLI uses.

import { join } from "node:path";
import { Hx } from "../src/hx.ts";
import { manifestsPrefix } from "../src/object/keys.ts";
import { Meter } from "../src/store/metered.ts";
import { openStore } from "../src/store/open.ts";
import { PACK_POLICY } from "../src/vault/packs.ts";
import { zshHistory } from "./data.ts";
import { tuneAllocator } from "../src/_allocator.ts";

tuneAllocator(); // as cli.ts does: this process stands for the command

type Args = Record<string, unknown>;

function peakRssMiB(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? "0");
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

function seconds(start: number): number {
  return Math.round((performance.now() - start) / 10) / 100;
}

/** A pull, timed: the events it inserted, its seconds and the requests it made. */
async function timedPull(hx: Hx): Promise<{ events: number; seconds: number; requests: unknown }> {
  const start = performance.now();
  const pulled = await hx.pull();
  return { events: pulled.events.inserted, seconds: seconds(start), requests: pulled.requests };
}

async function historyFile(dir: string, events: number, seed: number): Promise<string> {
  const path = join(dir, `history-${seed}.zsh`);
  await Deno.writeTextFile(path, zshHistory(events, seed));
  return path;
}

async function device(args: Args, name: string): Promise<{ hx: Hx; dir: string }> {
  const dir = await Deno.makeTempDir({
    prefix: `hx-bench-${name}-`,
    ...(typeof args.tmp === "string" ? { dir: args.tmp } : {}),
  });
  return { hx: Hx.open({ home: join(dir, "home"), host: name }), dir };
}

/** Sizes of every manifest of the vault on the store (bytes), largest first. */
async function manifestSizes(uri: string, vaultId: string): Promise<number[]> {
  const store = await openStore(uri, {});
  try {
    const sizes = [];
    for await (const info of store.list(manifestsPrefix(vaultId))) sizes.push(info.size);
    return sizes.sort((x, y) => y - x);
  } finally {
    await store.close?.();
  }
}

const SCENARIOS: Record<string, (args: Args) => Promise<unknown>> = {
  /**
   * A vault grown old: D devices each push P times (C commands each, as auto-sync does every
   * 10 minutes of activity) with compaction held back, so every device lists P segments;
   * then each compacts, the devices sync until what was replaced is deleted, a fresh device
   * joins, and a synced device pulls after one small push.
   */
  async aging(args) {
    const store = args.store as string;
    const pushes = args.pushes as number;
    const per = args.per as number;
    const devices = [];
    for (let i = 0; i < (args.devices as number); i++) devices.push(await device(args, `age${i}`));
    await devices[0]!.hx.syncInit({ store });
    const key = await devices[0]!.hx.exportKey();
    for (const d of devices.slice(1)) await d.hx.syncJoin({ store, key });
    const vaultId = (await devices[0]!.hx.status()).vault_id!;
    let at = Date.now() - 3 * pushes * per * 1000;
    const held = { ...PACK_POLICY, maxListed: Number.MAX_SAFE_INTEGER };
    let start = performance.now();
    for (let p = 0; p < pushes; p++) {
      for (const [i, d] of devices.entries()) {
        for (let k = 0; k < per; k++) {
          d.hx.record({ cmd: `age${i} step ${p}.${k}`, session_id: `s${i}`, started_at: at++ });
        }
        await d.hx.push({ packPolicy: held });
      }
      if ((p + 1) % 500 === 0) console.error(`  aging: ${p + 1}/${pushes} pushes per device`);
    }
    const aging_seconds = seconds(start);
    const before = await manifestSizes(store, vaultId);

    const compaction = [];
    for (const d of devices) {
      start = performance.now();
      const pushed = await d.hx.push({ compact: true });
      compaction.push({
        seconds: seconds(start),
        packs: pushed.compaction.packs,
        replaced: pushed.compaction.replaced,
      });
    }
    // Syncs until every device has seen every pack and deleted what it replaced.
    let deleted = 0;
    for (let round = 0; round < 3; round++) {
      for (const d of devices) {
        await d.hx.pull();
        deleted += (await d.hx.push()).compaction.deleted.objects;
      }
    }
    const after = await manifestSizes(store, vaultId);

    const fresh = await device(args, "age-fresh");
    await fresh.hx.syncJoin({ store, key });
    const fromScratch = await timedPull(fresh.hx);
    fresh.hx.close();

    // One small push, then a pull by a device that is up to date, counted on its own meter.
    const [pusher, puller] = devices as [typeof devices[0], typeof devices[0]];
    for (let k = 0; k < per; k++) {
      pusher.hx.record({ cmd: `one more ${k}`, session_id: "s0", started_at: at++ });
    }
    await pusher.hx.push();
    puller.hx.close();
    const meter = new Meter();
    const watched = Hx.open({ home: join(puller.dir, "home"), storeOptions: { meter } });
    const was = meter.snapshot();
    const pulled = await watched.pull();
    const incremental = {
      events: pulled.events.inserted,
      requests: pulled.requests,
      object_bytes_read: meter.snapshot().bytes.read - was.bytes.read,
    };
    watched.close();
    for (const d of devices.slice(0, 1).concat(devices.slice(2))) d.hx.close();
    return {
      devices: devices.length,
      pushes_per_device: pushes,
      events_per_push: per,
      aging_seconds,
      manifest_bytes_before: before[0] ?? 0,
      manifest_bytes_after: after[0] ?? 0,
      compaction,
      deleted_objects: deleted,
      join: fromScratch,
      incremental_pull: incremental,
    };
  },

  /** hx import of one large zsh history file. */
  async import(args) {
    const { hx, dir } = await device(args, "import");
    const file = await historyFile(dir, args.events as number, 1);
    void hx.nodeId; // the index exists before a user's import: its one-time creation is not timed
    const start = performance.now();
    const result = await hx.importFile(file);
    const s = seconds(start);
    hx.close();
    return { events: result.inserted, seconds: s, events_per_s: Math.round(result.inserted / s) };
  },

  /** A device that imported N events and set up sync: the pusher of `sync_push`. */
  async sync_prepare(args) {
    const a = await device(args, "a");
    await a.hx.importFile(await historyFile(a.dir, args.events as number, 2));
    await a.hx.syncInit({ store: args.store as string });
    const key = await a.hx.exportKey();
    a.hx.close();
    return { home: join(a.dir, "home"), key };
  },

  /** `hx sync push` of everything the prepared device holds, in a process of its own. */
  async sync_push(args) {
    const hx = Hx.open({ home: args.home as string, host: "a" });
    void hx.nodeId; // the index is open before the push, as in the CLI
    const start = performance.now();
    const pushed = await hx.push();
    const s = seconds(start);
    hx.close();
    return { events: pushed.events, seconds: s, requests: pushed.requests };
  },

  /** A fresh device joins and pulls everything; then a no-op pull. */
  async sync_pull(args) {
    const b = await device(args, "b");
    await b.hx.syncJoin({ store: args.store as string, key: args.key as string });
    const pull = await timedPull(b.hx);
    const noop = await timedPull(b.hx);
    b.hx.close();
    return { ...pull, noop_pull: noop };
  },

  /** N devices each push their history: the setup of fan-in and scale. Prints the key. */
  async populate(args) {
    const nodes = args.nodes as number;
    const per = args.per as number;
    let key = "";
    for (let i = 0; i < nodes; i++) {
      const d = await device(args, `node${i}`);
      await d.hx.importFile(await historyFile(d.dir, per, 100 + i));
      if (i === 0) {
        await d.hx.syncInit({ store: args.store as string });
        key = await d.hx.exportKey();
      } else {
        await d.hx.syncJoin({ store: args.store as string, key });
      }
      await d.hx.push();
      d.hx.close();
      await Deno.remove(d.dir, { recursive: true });
      console.error(`  populated node ${i + 1}/${nodes}`);
    }
    return { key };
  },

  /** A fresh device pulls everything, then searches the result. */
  async fresh_pull(args) {
    const d = await device(args, "fresh");
    await d.hx.syncJoin({ store: args.store as string, key: args.key as string });
    const out: Record<string, unknown> = await timedPull(d.hx);
    if (args.find) {
      const terms = [
        "docker",
        "git log",
        "kubectl logs",
        "billing",
        "terraform plan",
        "psql",
        "ssh deploy",
        "make",
      ];
      const times: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (const text of terms) {
          const t0 = performance.now();
          d.hx.find({ text, limit: 50 });
          times.push(performance.now() - t0);
        }
      }
      times.sort((x, y) => x - y);
      out.find_p50_ms = Math.round(times[Math.floor(times.length / 2)]! * 10) / 10;
      out.find_p95_ms = Math.round(times[Math.floor(times.length * 0.95)]! * 10) / 10;
      d.hx.close();
      let bytes = 0;
      for (const suffix of ["", "-wal"]) {
        bytes += await Deno.stat(join(d.dir, "home", `hx.db${suffix}`)).then((i) => i.size).catch(
          () => 0,
        );
      }
      out.db_mib = Math.round((bytes / 1048576) * 10) / 10;
      out.home = join(d.dir, "home");
    } else {
      d.hx.close();
    }
    return out;
  },

  /** Set up a device and attach a large file, as `hx attach` does. Prints the home and key. */
  async blob_attach(args) {
    const d = await device(args, "blob-up");
    await d.hx.syncInit({ store: args.store as string });
    d.hx.record({
      cmd: "make artifact",
      session_id: "bench",
      started_at: Date.now() - 1000,
      exit_code: 0,
    });
    const artifact = await d.hx.attach(args.file as string);
    const key = await d.hx.exportKey();
    d.hx.close();
    return { dir: d.dir, home: join(d.dir, "home"), sha256: artifact.sha256, key };
  },

  /** Push the attached blob, as `hx sync push` does, in a process of its own. */
  async blob_push(args) {
    const hx = Hx.open({ home: args.home as string, host: "blob-up" });
    const start = performance.now();
    const pushed = await hx.push();
    const s = seconds(start);
    hx.close();
    return { bytes: pushed.blobs.bytes, seconds: s };
  },

  /** Join, pull the metadata, and fetch the blob. */
  async blob_down(args) {
    const d = await device(args, "blob-down");
    await d.hx.syncJoin({ store: args.store as string, key: args.key as string });
    await d.hx.pull();
    const out = join(d.dir, "fetched.bin");
    const start = performance.now();
    const artifact = await d.hx.getArtifact(args.sha256 as string, out);
    const s = seconds(start);
    d.hx.close();
    await Deno.remove(d.dir, { recursive: true }); // its pages are reused by the next run
    return { bytes: artifact.size, seconds: s };
  },
};

const [name, json] = Deno.args;
const scenario = SCENARIOS[name ?? ""];
if (scenario === undefined) {
  console.error(`unknown scenario ${name}`);
  Deno.exit(2);
}
const result = await scenario(JSON.parse(json ?? "{}"));
console.log(JSON.stringify({ ...(result as object), peak_rss_mib: peakRssMiB() }));
