// deno task bench: runs every scenario on generated data (fixed seeds) and prints ONE JSON
// object on stdout; progress goes to stderr. The S3 server is MinIO when HX_TEST_MINIO names
// its binary, else s3rver in this process. Figures are reported against the targets, never
// asserted.

import { join } from "node:path";
import { type S3TestServer, startMinio, startS3rver, uriFor } from "../tests/s3/servers.ts";
import { zshHistory } from "./data.ts";

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
    args: ["run", "--allow-all", join(ROOT, "bench/scenario.ts"), name, JSON.stringify(args)],
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

/** awscli from PyPI in a cached venv, if `aws` is not on PATH. */
async function awsCli(): Promise<string | null> {
  const which = await new Deno.Command("sh", { args: ["-c", "command -v aws"], stdout: "piped" })
    .output();
  if (which.success) return new TextDecoder().decode(which.stdout).trim();
  const venv = join(Deno.env.get("HOME") ?? "/tmp", ".cache", "hx-bench", "awscli");
  const bin = join(venv, "bin", "aws");
  try {
    await Deno.stat(bin);
    return bin;
  } catch { /* install below */ }
  log("installing awscli (the peer client) into " + venv);
  const made = await run(["python3", "-m", "venv", venv]);
  if (!made.ok) return null;
  const pip = await run([join(venv, "bin", "pip"), "install", "--quiet", "awscli"]);
  return pip.ok ? bin : null;
}

/**
 * The same transfer with awscli. Its whole-process figures are what a user of it gets; its
 * transfer figures take off the cost of one process copying a 1-byte file (Python start,
 * credentials, one request), for comparison with hx's in-process transfer.
 */
async function peer(server: S3TestServer, file: string, mib: number, tmp: string) {
  const aws = await awsCli();
  if (aws === null) return { tool: null, reason: "awscli could not be installed" };
  const env = {
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/nonexistent",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
  };
  const prefix = `s3://${server.bucket}/peer-${crypto.randomUUID()}`;
  const tiny = join(tmp, "tiny.bin");
  await Deno.writeFile(tiny, new Uint8Array(1));
  const cp = (src: string, dst: string) =>
    run([aws, "s3", "cp", "--only-show-errors", src, dst, "--endpoint-url", server.endpoint], env);
  const ups: number[] = [];
  const downs: number[] = [];
  const overheads: number[] = [];
  for (let i = 0; i < 3; i++) {
    const base = await cp(tiny, `${prefix}/tiny-${i}`);
    const up = await cp(file, `${prefix}/blob-${i}.bin`);
    const down = await cp(`${prefix}/blob-${i}.bin`, join(tmp, "peer-down.bin"));
    if (!base.ok || !up.ok || !down.ok) {
      return { tool: "aws s3 cp", reason: (base.stderr + up.stderr + down.stderr).slice(0, 300) };
    }
    overheads.push(base.seconds);
    ups.push(up.seconds);
    downs.push(down.seconds);
  }
  const overhead = median(overheads);
  const rate = (seconds: number) => Math.round((mib / Math.max(0.001, seconds)) * 10) / 10;
  return {
    tool: "aws s3 cp (awscli)",
    up_mib_s: rate(median(ups)),
    down_mib_s: rate(median(downs)),
    transfer_up_mib_s: rate(median(ups) - overhead),
    transfer_down_mib_s: rate(median(downs) - overhead),
    process_overhead_s: Math.round(overhead * 100) / 100,
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

async function recordLatency(tmp: string, n: number) {
  const home = join(tmp, "record-home");
  const history = join(tmp, "record-history.zsh");
  await Deno.writeTextFile(history, zshHistory(SIZES.import, 9));
  const cli = join(ROOT, "cli.ts");
  const env = { HX_HOME: home };
  await run([Deno.execPath(), "run", "--allow-all", cli, "import", "--file", history], env);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = Date.now() - 1500;
    const r = await run([
      Deno.execPath(),
      "run",
      "--allow-all",
      cli,
      "record",
      "--cmd",
      `make test ${i}`,
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
    ], env);
    if (!r.ok) throw new Error(`hx record failed: ${r.stderr}`);
    times.push(r.seconds * 1000);
  }
  times.sort((a, b) => a - b);
  return {
    p50_ms: Math.round(times[Math.floor(n / 2)]!),
    p95_ms: Math.round(times[Math.min(n - 1, Math.floor(n * 0.95))]!),
    runs: n,
    command: "deno run --allow-all cli.ts record …",
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
      for (let i = 0; i < 3; i++) {
        runs.push(await scenario("sync", { store: await folder(), events: SIZES.sync, tmp }));
      }
      result.folder = pickMedianSync(runs);
    }],
    ["s3", async () => {
      log(`s3 (${server.kind}): push and pull of ${SIZES.sync} events (3 runs)`);
      const runs = [];
      for (let i = 0; i < 3; i++) {
        const store = uriFor(server, `sync-${i}-${crypto.randomUUID()}`);
        runs.push(await scenario("sync", { store, events: SIZES.sync, tmp }, s3Env));
      }
      Object.assign(s3, pickMedianSync(runs));
      result.s3 = s3;
    }],
    ["blob", async () => {
      log(`s3: a ${SIZES.blobMiB} MiB incompressible blob up and down`);
      const blobFile = join(tmp, "blob.bin");
      await incompressibleFile(blobFile, SIZES.blobMiB);
      const blobStore = uriFor(server, `blob-${crypto.randomUUID()}`);
      const attached = await scenario(
        "blob_attach",
        { store: blobStore, file: blobFile, tmp },
        s3Env,
      );
      const up = await scenario("blob_push", { home: attached.home }, s3Env);
      const down = await scenario("blob_down", {
        store: blobStore,
        key: attached.key,
        sha256: attached.sha256,
        tmp,
      }, s3Env);
      s3.blob = {
        mib: SIZES.blobMiB,
        up_mib_s: Math.round((SIZES.blobMiB / up.seconds) * 10) / 10,
        down_mib_s: Math.round((SIZES.blobMiB / down.seconds) * 10) / 10,
        peak_rss_mib: Math.max(up.peak_rss_mib, down.peak_rss_mib),
        up_peak_rss_mib: up.peak_rss_mib,
        down_peak_rss_mib: down.peak_rss_mib,
      };
      log("s3: the same blob with the peer client (3 runs)");
      s3.peer = await peer(server, blobFile, SIZES.blobMiB, tmp);
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
    }],
    ["record", async () => {
      log(`record: ${SIZES.records} runs of hx record as a whole process`);
      result.record = await recordLatency(tmp, SIZES.records);
    }],
  ];
  try {
    for (const [name, run] of sections) if (wanted(name)) await run();
    if (only === null) result.targets = targets(result);
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

// deno-lint-ignore no-explicit-any
function targets(r: any) {
  const t = (value: number | undefined, target: string, met: boolean) => ({ value, target, met });
  const ratio = (ours: number, theirs: number | undefined) =>
    theirs === undefined ? NaN : Math.round((ours / theirs) * 100) / 100;
  const atLeastPeer = (ours: number, theirs: number | undefined) =>
    t(ratio(ours, theirs), ">= 1.0x", ratio(ours, theirs) >= 1);
  const peer = r.s3.peer;
  return {
    import_events_per_s: t(r.import.events_per_s, ">= 150000", r.import.events_per_s >= 150_000),
    s3_pull_seconds: t(r.s3.pull.seconds, "<= 2 (MinIO)", r.s3.pull.seconds <= 2),
    s3_push_seconds: t(r.s3.push.seconds, "<= 2", r.s3.push.seconds <= 2),
    noop_pull: t(
      r.s3.noop_pull.seconds * 1000,
      "1 LIST, 0 GET, <= 150 ms",
      r.s3.noop_pull.requests.list === 1 && r.s3.noop_pull.requests.get === 0 &&
        r.s3.noop_pull.seconds <= 0.15,
    ),
    // hx's figures are of the transfer in its process; the peer is compared both as the
    // whole command a user runs and as its transfer alone (its process overhead taken off).
    blob_up_vs_peer: atLeastPeer(r.s3.blob.up_mib_s, peer.up_mib_s),
    blob_down_vs_peer: atLeastPeer(r.s3.blob.down_mib_s, peer.down_mib_s),
    blob_up_vs_peer_transfer: atLeastPeer(r.s3.blob.up_mib_s, peer.transfer_up_mib_s),
    blob_down_vs_peer_transfer: atLeastPeer(r.s3.blob.down_mib_s, peer.transfer_down_mib_s),
    blob_peak_rss_mib: t(r.s3.blob.peak_rss_mib, "<= 160", r.s3.blob.peak_rss_mib <= 160),
    fanin_seconds: t(r.fanin.seconds, "<= 3", r.fanin.seconds <= 3),
    scale_pull_seconds: t(r.scale.pull_seconds, "<= 15", r.scale.pull_seconds <= 15),
    scale_find_p50_ms: t(r.scale.find_p50_ms, "<= 150", r.scale.find_p50_ms <= 150),
    scale_peak_rss_mib: t(r.scale.peak_rss_mib, "<= 400", r.scale.peak_rss_mib <= 400),
    record_p50_ms: t(r.record.p50_ms, "<= 120", r.record.p50_ms <= 120),
  };
}

await main();
