// One benchmark scenario, run in its own process so that timings and peak memory belong
// to it alone. Usage: deno run -A bench/scenario.ts NAME JSON_ARGS. Prints one JSON line.
// Everything goes through the Hx facade: the code paths the CLI uses.

import { join } from "node:path";
import { Hx } from "../src/hx.ts";
import { zshHistory } from "./data.ts";

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

const SCENARIOS: Record<string, (args: Args) => Promise<unknown>> = {
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

  /** One device pushes N events; a fresh one pulls them; then a no-op pull. */
  async sync(args) {
    const a = await device(args, "a");
    const b = await device(args, "b");
    await a.hx.importFile(await historyFile(a.dir, args.events as number, 2));
    await a.hx.syncInit({ store: args.store as string });
    let start = performance.now();
    const pushed = await a.hx.push();
    const push = { events: pushed.events, seconds: seconds(start), requests: pushed.requests };
    await b.hx.syncJoin({ store: args.store as string, key: await a.hx.exportKey() });
    start = performance.now();
    const pulled = await b.hx.pull();
    const pull = {
      events: pulled.events.inserted,
      seconds: seconds(start),
      requests: pulled.requests,
    };
    start = performance.now();
    const again = await b.hx.pull();
    const noop = {
      events: again.events.inserted,
      seconds: seconds(start),
      requests: again.requests,
    };
    a.hx.close();
    b.hx.close();
    return { push, pull, noop_pull: noop };
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
    const start = performance.now();
    const pulled = await d.hx.pull();
    const s = seconds(start);
    const out: Record<string, unknown> = {
      events: pulled.events.inserted,
      seconds: s,
      requests: pulled.requests,
    };
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
