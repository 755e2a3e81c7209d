// deno task bench: runs every scenario on generated data (fixed seeds) and prints ONE JSON
// object on stdout; progress goes to stderr. The S3 server is MinIO when HX_TEST_MINIO names
// its binary, else s3rver in this process. Figures are reported against the targets, never
// asserted.

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { startMinio, startS3rver, uriFor } from "../tests/s3/servers.ts";
import { zshHistory } from "./data.ts";
import { recorderCommand, selfCommand } from "../src/history/shell_hooks.ts";
import { awsPeer, type Measured, rclonePeer } from "./peers.ts";
import { searchLatency } from "./search.ts";
import { HX_V8_FLAGS } from "./flags.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MiB = 1024 * 1024;
const quick = Deno.args.includes("--quick"); // smaller sizes, for trying the harness
const onlyArg = Deno.args.find((a) => a.startsWith("--only="));
/** `--only=blob,import`: run just those scenarios (while working on one). */
const only = onlyArg === undefined ? null : new Set(onlyArg.slice("--only=".length).split(","));
const wanted = (name: string) => only === null || only.has(name);
const SIZES = quick
  ? {
    import: 20_000,
    sync: 20_000,
    blobMiB: 32,
    fanin: 5,
    faninPer: 1000,
    scaleNodes: 5,
    scalePer: 10_000,
    records: 10,
    agingPushes: 200,
  }
  : {
    import: 100_000,
    sync: 100_000,
    blobMiB: 256,
    fanin: 20,
    faninPer: 5000,
    scaleNodes: 20,
    scalePer: 50_000,
    records: 40,
    agingPushes: 2000,
  };

function log(message: string): void {
  console.error(`bench: ${message}`);
}

async function scenario(
  name: string,
  args: Record<string, unknown>,
  env: Record<string, string> = {},
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      ...HX_V8_FLAGS,
      join(ROOT, "bench/scenario.ts"),
      name,
      JSON.stringify(args),
    ],
    env,
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await child.output();
  if (!out.success) throw new Error(`scenario ${name} failed (${out.code})`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs a scenario `runs` times and keeps the run with the median of `key`. */
async function medianRun(
  runs: number,
  key: (r: Record<string, unknown>) => number,
  fn: () => Promise<Record<string, unknown>>,
) {
  const results: Record<string, unknown>[] = [];
  for (let i = 0; i < runs; i++) results.push(await fn());
  const m = median(results.map(key));
  return { ...results.find((r) => key(r) === m)!, runs: results.map(key) };
}

async function run(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<{ ok: boolean; seconds: number; stderr: string }> {
  const start = performance.now();
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  return {
    ok: out.success,
    seconds: (performance.now() - start) / 1000,
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function incompressibleFile(path: string, mib: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(MiB);
  for (let i = 0; i < mib; i++) {
    for (let at = 0; at < MiB; at += 65536) crypto.getRandomValues(chunk.subarray(at, at + 65536));
    let w = 0;
    while (w < MiB) w += await file.write(chunk.subarray(w));
  }
  file.close();
}

/**
 * Runs a command `n` times as a child of one Python process, the command's text on stdin as
 * the hook gives it: wall time of each run (process start to exit) and the peak RSS of any.
 */
const REPEAT_WRAPPER = `
import json, resource, subprocess, sys, time
n = int(sys.argv[1]); times = []
for i in range(n):
    start = time.perf_counter()
    done = subprocess.run(sys.argv[2:], input=b"make test %d" % i, stdout=subprocess.DEVNULL)
    times.append((time.perf_counter() - start) * 1000)
    if done.returncode != 0: sys.exit(done.returncode)
print(json.dumps({"times": times, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
`;

async function repeated(cmd: string[], n: number, env: Record<string, string>) {
  const out = await new Deno.Command("python3", {
    args: ["-c", REPEAT_WRAPPER, String(n), ...cmd],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const r = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    times: number[];
    maxrss_kb: number;
  };
  const times = r.times.sort((a, b) => a - b);
  return {
    p50_ms: Math.round(times[Math.floor(n / 2)]!),
    p95_ms: Math.round(times[Math.min(n - 1, Math.floor(n * 0.95))]!),
    peak_rss_mib: Math.round((r.maxrss_kb / 1024) * 10) / 10,
  };
}

/** A settings file as a user who customizes recording writes it. */
const RECORD_SETTINGS = `[record]
secret_patterns = ['corp_[a-z0-9]{12}', 'ghp_[A-Za-z0-9]{36}']
ignore_commands = ['^ls$', '^cd( |$)', '^history']
ignore_directories = ['~/private']
`;

/**
 * `hx record` as the hook runs it after every command (a whole process, the command on
 * stdin, into an index that already holds a history), with and without a settings file,
 * beside the floor of any Deno program that opens SQLite: what hx adds is the difference.
 * Each is run once before it is timed: the first run after an install or an upgrade compiles
 * hx's modules into Deno's cache (a few MiB more, once); every later run reads them from it.
 */
async function recordLatency(tmp: string, n: number) {
  const home = join(tmp, "record-home");
  const history = join(tmp, "record-history.zsh");
  await Deno.writeTextFile(history, zshHistory(SIZES.import, 9));
  const cli = join(ROOT, "cli.ts");
  const configHome = join(tmp, "record-config");
  await Deno.mkdir(join(configHome, "hx"), { recursive: true });
  await Deno.writeTextFile(join(configHome, "hx", "config.toml"), RECORD_SETTINGS);
  const bare = { HX_HOME: home, XDG_CONFIG_HOME: join(tmp, "record-no-config") };
  const configured = { ...bare, XDG_CONFIG_HOME: configHome };
  await run(
    [Deno.execPath(), "run", "--allow-all", ...HX_V8_FLAGS, cli, "import", "--file", history],
    bare,
  );
  const start = Date.now() - 1500;
  const words = recorderCommand(pathToFileURL(cli).href); // as the hook runs it
  const record = [
    ...words,
    "record",
    "--session",
    "bench-session",
    "--start",
    String(start),
    "--end",
    String(start + 1200),
    "--exit",
    "0",
    "--cwd",
    tmp,
  ];
  await repeated(record, 1, bare);
  const without = await repeated(record, n, bare);
  await repeated(record, 1, configured);
  const withSettings = await repeated(record, n, configured);
  const floorScript = join(tmp, "floor.ts");
  await Deno.writeTextFile(
    floorScript,
    `import { DatabaseSync } from "node:sqlite";\nnew DatabaseSync(":memory:").close();\n`,
  );
  const floorWords = selfCommand(pathToFileURL(floorScript).href);
  await repeated(floorWords, 1, bare);
  const floor = await repeated(floorWords, n, bare);
  return {
    p50_ms: Math.max(without.p50_ms, withSettings.p50_ms),
    peak_rss_mib: Math.max(without.peak_rss_mib, withSettings.peak_rss_mib),
    without_settings: without,
    with_settings: withSettings,
    runs: n,
    command: `${words.join(" ")} record … < command (as the hook runs it)`,
    deno_floor: {
      ...floor,
      command: "the same words running a script that opens SQLite in memory",
    },
  };
}

async function main() {
  const tmp = await Deno.makeTempDir({ prefix: "hx-bench-" });
  const minio = Deno.env.get("HX_TEST_MINIO");
  log(`starting ${minio ? "MinIO" : "s3rver (in-process)"}`);
  const server = minio ? await startMinio(minio, "hx-bench") : await startS3rver("hx-bench");
  const s3Env = {
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    AWS_REGION: "us-east-1",
  };
  const folder = async () => {
    const dir = await Deno.makeTempDir({ dir: tmp, prefix: "store-" });
    return `folder:${dir}`;
  };
  const result: Record<string, unknown> = {
    machine: {
      deno: Deno.version.deno,
      os: Deno.build.os,
      arch: Deno.build.arch,
      cores: navigator.hardwareConcurrency,
      quick,
    },
  };
  const s3: Record<string, unknown> = {
    server: server.kind === "minio" ? "minio" : "s3rver (in-process)",
  };
  /** Push and fresh pull of the same history, each in a process of its own. */
  const syncRun = async (store: string, env: Record<string, string>) => {
    const prepared = await scenario("sync_prepare", { store, events: SIZES.sync, tmp }, env);
    const push = await scenario("sync_push", { home: prepared.home }, env);
    const { noop_pull, ...pull } = await scenario(
      "sync_pull",
      { store, key: prepared.key, tmp },
      env,
    );
    return { push, pull, noop_pull };
  };
  const sections: [string, () => Promise<void>][] = [
    ["import", async () => {
      log(`import of ${SIZES.import} zsh lines (5 runs)`);
      result.import = await medianRun(
        5,
        (r) => r.seconds as number,
        () => scenario("import", { events: SIZES.import, tmp }),
      );
    }],
    ["folder", async () => {
      log(`folder: push and pull of ${SIZES.sync} events (3 runs)`);
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await syncRun(await folder(), {}));
      result.folder = pickMedianSync(runs);
    }],
    ["s3", async () => {
      log(`s3 (${server.kind}): push and pull of ${SIZES.sync} events (3 runs)`);
      const runs = [];
      for (let i = 0; i < 3; i++) {
        runs.push(await syncRun(uriFor(server, `sync-${i}-${crypto.randomUUID()}`), s3Env));
      }
      Object.assign(s3, pickMedianSync(runs));
      result.s3 = s3;
    }],
    ["blob", async () => {
      const mib = SIZES.blobMiB;
      log(`s3: a ${mib} MiB incompressible blob up and down, hx and its peers in turn (3 rounds)`);
      const blobFile = join(tmp, "blob.bin");
      const tiny = join(tmp, "tiny.bin");
      await incompressibleFile(blobFile, mib);
      await Deno.writeFile(tiny, new Uint8Array(1));
      const hx = {
        up: [] as number[],
        down: [] as number[],
        upRss: [] as number[],
        downRss: [] as number[],
      };
      const peers = [await awsPeer(server, log), await rclonePeer(server)].map((p) => ({
        peer: p,
        ...{ up: [] as Measured[], down: [] as Measured[], base: [] as Measured[] },
      }));
      for (let round = 0; round < 3; round++) {
        const store = uriFor(server, `blob-${crypto.randomUUID()}`);
        const attached = await scenario("blob_attach", { store, file: blobFile, tmp }, s3Env);
        const up = await scenario("blob_push", { home: attached.home }, s3Env);
        await Deno.remove(attached.dir, { recursive: true });
        const down = await scenario("blob_down", {
          store,
          key: attached.key,
          sha256: attached.sha256,
          tmp,
        }, s3Env);
        hx.up.push(up.seconds);
        hx.down.push(down.seconds);
        hx.upRss.push(up.peak_rss_mib);
        hx.downRss.push(down.peak_rss_mib);
        for (const p of peers) {
          if (typeof p.peer === "string") continue;
          const key = `peer-${crypto.randomUUID()}`;
          const out = join(tmp, "peer-down.bin");
          p.base.push(await p.peer.up(tiny, `${key}-tiny`));
          p.up.push(await p.peer.up(blobFile, `${key}.bin`));
          p.down.push(await p.peer.down(`${key}.bin`, out));
          await Deno.remove(out).catch(() => {});
        }
      }
      const rate = (seconds: number) => Math.round((mib / Math.max(0.001, seconds)) * 10) / 10;
      s3.blob = {
        mib,
        up_mib_s: rate(median(hx.up)),
        down_mib_s: rate(median(hx.down)),
        up_peak_rss_mib: median(hx.upRss),
        down_peak_rss_mib: median(hx.downRss),
        runs: { up_s: hx.up, down_s: hx.down },
      };
      s3.peers = peers.map(({ peer, up, down, base }) => {
        if (typeof peer === "string") return { tool: null, reason: peer };
        const failed = [...up, ...down, ...base].find((m) => !m.ok);
        if (failed !== undefined) return { tool: peer.tool, reason: failed.stderr.slice(0, 300) };
        const overhead = median(base.map((m) => m.seconds));
        const upS = median(up.map((m) => m.seconds));
        const downS = median(down.map((m) => m.seconds));
        return {
          tool: peer.tool,
          up_mib_s: rate(upS),
          down_mib_s: rate(downS),
          transfer_up_mib_s: rate(upS - overhead),
          transfer_down_mib_s: rate(downS - overhead),
          process_overhead_s: Math.round(overhead * 100) / 100,
          up_peak_rss_mib: median(up.map((m) => m.peakRssMiB)),
          down_peak_rss_mib: median(down.map((m) => m.peakRssMiB)),
        };
      });
      await Deno.remove(blobFile);
      result.s3 = s3;
    }],
    ["fanin", async () => {
      log(`fan-in: ${SIZES.fanin} devices x ${SIZES.faninPer} events, pulled by a fresh one`);
      const store = uriFor(server, `fanin-${crypto.randomUUID()}`);
      const populated = await scenario("populate", {
        store,
        nodes: SIZES.fanin,
        per: SIZES.faninPer,
        tmp,
      }, s3Env);
      const fanin = await scenario("fresh_pull", { store, key: populated.key, tmp }, s3Env);
      result.fanin = {
        nodes: SIZES.fanin,
        events: fanin.events,
        seconds: fanin.seconds,
        requests: fanin.requests,
        store: server.kind,
      };
    }],
    ["scale", async () => {
      const total = SIZES.scaleNodes * SIZES.scalePer;
      log(
        `scale: ${SIZES.scaleNodes} devices x ${SIZES.scalePer} events = ${total}, pulled by a fresh one`,
      );
      const store = uriFor(server, `scale-${crypto.randomUUID()}`);
      const populated = await scenario("populate", {
        store,
        nodes: SIZES.scaleNodes,
        per: SIZES.scalePer,
        tmp,
      }, s3Env);
      const scale = await scenario(
        "fresh_pull",
        { store, key: populated.key, tmp, find: true },
        s3Env,
      );
      result.scale = {
        events: scale.events,
        nodes: SIZES.scaleNodes,
        pull_seconds: scale.seconds,
        db_mib: scale.db_mib,
        find_p50_ms: scale.find_p50_ms,
        find_p95_ms: scale.find_p95_ms,
        peak_rss_mib: scale.peak_rss_mib,
        requests: scale.requests,
        store: server.kind,
      };
      log("search: hx search on the same index, on a pseudo-terminal (script)");
      result.search = await searchLatency(scale.home, [
        "docker",
        "git log",
        "kubectl logs",
        "terraform plan",
        "ssh deploy",
      ]);
    }],
    ["aging", async () => {
      log(`aging (${server.kind}): 3 devices x ${SIZES.agingPushes} pushes of 5 commands`);
      const store = uriFor(server, `aging-${crypto.randomUUID()}`);
      result.aging = await scenario("aging", {
        store,
        devices: 3,
        pushes: SIZES.agingPushes,
        per: 5,
        tmp,
      }, s3Env);
    }],
    ["record", async () => {
      log(`record: ${SIZES.records} runs of hx record as a whole process`);
      result.record = await recordLatency(tmp, SIZES.records);
    }],
  ];
  try {
    for (const [name, run] of sections) if (wanted(name)) await run();
    result.targets = targets(result);
  } finally {
    await server.stop();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  console.log(JSON.stringify(result, null, 2));
}

// deno-lint-ignore no-explicit-any
function pickMedianSync(runs: any[]) {
  const m = median(runs.map((r) => r.pull.seconds));
  const chosen = runs.find((r) => r.pull.seconds === m);
  return {
    push: { ...chosen.push, seconds: median(runs.map((r) => r.push.seconds)) },
    pull: chosen.pull,
    noop_pull: { ...chosen.noop_pull, seconds: median(runs.map((r) => r.noop_pull.seconds)) },
    runs: runs.map((r) => ({
      push: r.push.seconds,
      pull: r.pull.seconds,
      noop_pull: r.noop_pull.seconds,
    })),
  };
}

/** Each figure of the sections that ran against its target; a target is reported, never asserted. */
// deno-lint-ignore no-explicit-any
function targets(r: any) {
  const t = (value: number | undefined, target: string, met: boolean) => ({ value, target, met });
  const ratio = (ours: number, theirs: number | undefined) =>
    theirs === undefined ? NaN : Math.round((ours / theirs) * 100) / 100;
  const atLeastPeer = (ours: number, theirs: number | undefined) =>
    t(ratio(ours, theirs), ">= 1.0x", ratio(ours, theirs) >= 1);
  const out: Record<string, unknown> = {};
  if (r.import) {
    out.import_events_per_s = t(
      r.import.events_per_s,
      ">= 150000",
      r.import.events_per_s >= 150_000,
    );
  }
  if (r.s3?.pull) {
    out.s3_pull_seconds = t(r.s3.pull.seconds, "<= 2 (MinIO)", r.s3.pull.seconds <= 2);
    out.s3_push_seconds = t(r.s3.push.seconds, "<= 1.0", r.s3.push.seconds <= 1);
    out.s3_push_peak_rss_mib = t(
      r.s3.push.peak_rss_mib,
      "<= 150",
      r.s3.push.peak_rss_mib <= 150,
    );
    out.s3_pull_peak_rss_mib = t(
      r.s3.pull.peak_rss_mib,
      "<= 150",
      r.s3.pull.peak_rss_mib <= 150,
    );
    out.noop_pull = t(
      r.s3.noop_pull.seconds * 1000,
      "1 LIST, 0 GET, <= 150 ms",
      r.s3.noop_pull.requests.list === 1 && r.s3.noop_pull.requests.get === 0 &&
        r.s3.noop_pull.seconds <= 0.15,
    );
  }
  if (r.s3?.blob) {
    const blob = r.s3.blob;
    // hx's figures are of the transfer in its process; a peer is compared both as the whole
    // command a user runs and as its transfer alone (its process overhead taken off).
    for (const p of r.s3.peers) {
      if (p.up_mib_s === undefined) continue;
      const name = p.tool.startsWith("aws") ? "aws" : "rclone";
      out[`blob_up_vs_${name}_transfer`] = atLeastPeer(blob.up_mib_s, p.transfer_up_mib_s);
      out[`blob_down_vs_${name}_transfer`] = atLeastPeer(blob.down_mib_s, p.transfer_down_mib_s);
      out[`blob_up_vs_${name}_command`] = atLeastPeer(blob.up_mib_s, p.up_mib_s);
      out[`blob_down_vs_${name}_command`] = atLeastPeer(blob.down_mib_s, p.down_mib_s);
    }
    out.blob_up_peak_rss_mib = t(blob.up_peak_rss_mib, "<= 128", blob.up_peak_rss_mib <= 128);
    out.blob_down_peak_rss_mib = t(blob.down_peak_rss_mib, "<= 128", blob.down_peak_rss_mib <= 128);
  }
  if (r.fanin) out.fanin_seconds = t(r.fanin.seconds, "<= 3", r.fanin.seconds <= 3);
  if (r.scale) {
    out.scale_pull_seconds = t(r.scale.pull_seconds, "<= 8", r.scale.pull_seconds <= 8);
    out.scale_find_p50_ms = t(r.scale.find_p50_ms, "<= 150", r.scale.find_p50_ms <= 150);
    out.scale_peak_rss_mib = t(r.scale.peak_rss_mib, "<= 300", r.scale.peak_rss_mib <= 300);
  }
  if (r.search) {
    const s = r.search;
    out.search_first_screen_p95_ms = t(
      s.first_screen_p95_ms,
      "<= 150",
      s.first_screen_p95_ms <= 150,
    );
    out.search_keystroke_p95_ms = t(s.keystroke_p95_ms, "<= 30", s.keystroke_p95_ms <= 30);
  }
  if (r.aging) {
    const a = r.aging;
    const KiB = 1024;
    out.aging_manifest_kib = t(
      Math.round(a.manifest_bytes_after / KiB * 10) / 10,
      "<= 64",
      a.manifest_bytes_after <= 64 * KiB,
    );
    out.aging_join = t(
      a.join.seconds,
      "<= 50 GETs, <= 2 s",
      a.join.requests.get <= 50 && a.join.seconds <= 2,
    );
    const inc = a.incremental_pull;
    out.aging_incremental_pull = t(
      inc.object_bytes_read,
      "1 LIST, 2 GETs, < 16 KiB",
      inc.requests.list === 1 && inc.requests.get === 2 && inc.object_bytes_read < 16 * KiB,
    );
    const slowest = Math.max(...a.compaction.map((c: { seconds: number }) => c.seconds));
    out.aging_compaction_seconds = t(slowest, "<= 5", slowest <= 5);
  }
  if (r.record) {
    out.record_p50_ms = t(r.record.p50_ms, "<= 45", r.record.p50_ms <= 45);
    // The 40 MB are 10^6 bytes: 38.1 MiB.
    const limit = 40e6 / 2 ** 20;
    out.record_peak_rss_mib = t(
      r.record.peak_rss_mib,
      `<= ${limit.toFixed(1)} (40 MB)`,
      r.record.peak_rss_mib <= limit,
    );
  }
  return out;
}

await main();
