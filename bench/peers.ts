// The peer clients hx's blob transfer is measured against, on the same S3 server in the same
// run: awscli (`aws s3 cp`) and rclone (`rclone copyto`), each with its defaults, as a user
// would run it. Each command runs as a child of a small Python wrapper that reports the
// child's peak RSS (getrusage), so memory is compared too.

import { join } from "node:path";
import type { S3TestServer } from "../tests/s3/servers.ts";

/** One command run: success, wall time, peak RSS of the command, its stderr. */
export interface Measured {
  ok: boolean;
  seconds: number;
  peakRssMiB: number;
  stderr: string;
}

const RUSAGE_WRAPPER = `
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
sys.stderr.write("\\nmaxrss_kb=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
`;

/** Runs a command with exactly `env` (plus PATH and HOME), timing it and reading its peak RSS. */
export async function measure(cmd: string[], env: Record<string, string>): Promise<Measured> {
  const start = performance.now();
  const out = await new Deno.Command("python3", {
    args: ["-c", RUSAGE_WRAPPER, ...cmd],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/",
      ...env,
    },
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  const stderr = new TextDecoder().decode(out.stderr);
  const kb = Number(/maxrss_kb=(\d+)/.exec(stderr)?.[1] ?? "0");
  return {
    ok: out.success,
    seconds,
    peakRssMiB: Math.round((kb / 1024) * 10) / 10,
    stderr: stderr.replace(/\nmaxrss_kb=\d+\n$/, ""),
  };
}

/** A peer client: how it uploads a file to a key and downloads a key to a file. */
export interface Peer {
  /** How it is named in the results. */
  tool: string;
  up(file: string, key: string): Promise<Measured>;
  down(key: string, file: string): Promise<Measured>;
}

async function which(name: string): Promise<string | null> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `command -v ${name}`],
    stdout: "piped",
  }).output();
  return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
}

/** awscli from PATH, or from PyPI into a cached venv. */
async function awsBinary(log: (m: string) => void): Promise<string | null> {
  const found = await which("aws");
  if (found !== null) return found;
  const venv = join(Deno.env.get("HOME") ?? "/tmp", ".cache", "hx-bench", "awscli");
  const bin = join(venv, "bin", "aws");
  if (await Deno.stat(bin).then(() => true, () => false)) return bin;
  log("installing awscli (a peer client) into " + venv);
  const made = await measure(["python3", "-m", "venv", venv], {});
  if (!made.ok) return null;
  const pip = await measure([join(venv, "bin", "pip"), "install", "--quiet", "awscli"], {});
  return pip.ok ? bin : null;
}

/** `aws s3 cp` against the server, or why it is missing. */
export async function awsPeer(
  server: S3TestServer,
  log: (m: string) => void,
): Promise<Peer | string> {
  const aws = await awsBinary(log);
  if (aws === null) return "awscli could not be installed";
  const env = {
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/nonexistent",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
  };
  const cp = (src: string, dst: string) =>
    measure(
      [aws, "s3", "cp", "--only-show-errors", src, dst, "--endpoint-url", server.endpoint],
      env,
    );
  const url = (key: string) => `s3://${server.bucket}/${key}`;
  return {
    tool: "aws s3 cp (awscli)",
    up: (file, key) => cp(file, url(key)),
    down: (key, file) => cp(url(key), file),
  };
}

/** `rclone copyto` against the server (a remote configured by environment), or why not. */
export async function rclonePeer(server: S3TestServer): Promise<Peer | string> {
  const rclone = await which("rclone");
  if (rclone === null) return "rclone is not installed (apt-get install rclone)";
  const env = {
    RCLONE_CONFIG_HXBENCH_TYPE: "s3",
    RCLONE_CONFIG_HXBENCH_PROVIDER: "Minio",
    RCLONE_CONFIG_HXBENCH_ACCESS_KEY_ID: server.accessKey,
    RCLONE_CONFIG_HXBENCH_SECRET_ACCESS_KEY: server.secretKey,
    RCLONE_CONFIG_HXBENCH_ENDPOINT: server.endpoint,
    RCLONE_CONFIG_HXBENCH_REGION: "us-east-1",
  };
  const copy = (src: string, dst: string) =>
    measure([rclone, "--config", "/dev/null", "copyto", src, dst], env);
  const remote = (key: string) => `hxbench:${server.bucket}/${key}`;
  return {
    tool: "rclone copyto",
    up: (file, key) => copy(file, remote(key)),
    down: (key, file) => copy(remote(key), file),
  };
}
