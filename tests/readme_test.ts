/**
 * The README's walkthrough, run as written: every ```sh block that follows a
 * `<!-- readme-test: device=NAME -->` marker runs in bash, in order, as that device: its own
 * HOME, working directory and HX_HOME, with `hx` on PATH. The devices see one shared
 * `~/Sync` folder (a NAS mount, say); `hx-key.txt` is carried from one device to the other
 * between blocks, as the README tells the user to. A block that fails fails the test, so
 * the README cannot drift from what hx does.
 */

import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const MARKER = /^<!-- readme-test: device=([a-z]+) -->$/;

interface Block {
  device: string;
  line: number;
  script: string;
}

/** The marked blocks of the README, in order. */
function markedBlocks(readme: string): Block[] {
  const lines = readme.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const device = MARKER.exec(lines[i]!)?.[1];
    if (device === undefined) continue;
    let j = i + 1;
    while (lines[j]?.trim() === "") j++;
    assert.equal(
      lines[j],
      "```sh",
      `README.md:${i + 1}: a readme-test marker must precede a sh block`,
    );
    const body: string[] = [];
    for (j++; j < lines.length && lines[j] !== "```"; j++) body.push(lines[j]!);
    blocks.push({ device, line: j - body.length + 1, script: body.join("\n") });
    i = j;
  }
  return blocks;
}

interface Device {
  home: string;
  cwd: string;
  env: Record<string, string>;
}

async function run(device: Device, script: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("bash", {
    args: ["-c", `set -eo pipefail\ntrap 'echo "FAILED: $BASH_COMMAND" >&2' ERR\n${script}`],
    cwd: device.cwd,
    env: device.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { code, stdout, stderr } = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, output: decode(stdout) + decode(stderr) };
}

/** A zsh extended history: old commands, and a pasted token from a few minutes ago. */
function zshHistory(now: number): string {
  const day = 86_400;
  const t = Math.floor(now / 1000);
  return [
    `: ${t - 3 * day}:2;docker build -t web .`,
    `: ${t - 3 * day + 60}:0;make test`,
    `: ${t - day}:1;docker compose up -d`,
    `: ${t - 300}:0;export API_TOKEN=oops-pasted-secret`,
    "",
  ].join("\n");
}

Deno.test("the README's walkthrough runs as written and syncs device a to device b", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const blocks = markedBlocks(readme);
  assert.ok(blocks.length >= 5, "the README's walkthrough is marked for this test");
  assert.deepEqual(new Set(blocks.map((b) => b.device)), new Set(["a", "b"]));

  const tmp = await Deno.makeTempDir({ prefix: "hx-readme-" });
  try {
    // The devices' HOME is a temporary directory: keep Deno's cache where it is.
    const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
    const denoDir: string = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir;
    const bin = join(tmp, "bin");
    await Deno.mkdir(bin);
    await Deno.writeTextFile(
      join(bin, "hx"),
      `#!/bin/sh\nexec "${Deno.execPath()}" run --allow-all --quiet "${
        join(ROOT, "cli.ts")
      }" "$@"\n`,
      { mode: 0o755 },
    );
    const shared = join(tmp, "shared-sync");
    await Deno.mkdir(shared);
    const devices = new Map<string, Device>();
    for (const name of ["a", "b"]) {
      const home = join(tmp, `home-${name}`);
      const cwd = join(home, "work");
      await Deno.mkdir(cwd, { recursive: true });
      await Deno.symlink(shared, join(home, "Sync"));
      devices.set(name, {
        home,
        cwd,
        env: {
          HOME: home,
          HX_HOME: join(home, ".local/share/hx"),
          PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
          DENO_DIR: denoDir,
          NO_COLOR: "1",
          // The shell the user types into has the hook (its own session), as after `hx init`.
          HX_SESSION: `readme-shell-${name}`,
        },
      });
    }
    const a = devices.get("a")!;
    const b = devices.get("b")!;
    const now = Date.now();
    await Deno.writeTextFile(join(a.home, ".zsh_history"), zshHistory(now));
    // What the hook recorded in an earlier shell of device a, for `hx last` and `hx pin`.
    const earlier = [
      ["cd ~/work && make deploy", 2],
      ["vim Makefile", 0],
      ["make deploy", 0],
    ] as const;
    const record = earlier.map(([cmd, exit], i) =>
      `hx record --session earlier-shell --shell zsh --seq ${i + 1} --cwd ~/work ` +
      `--cmd '${cmd}' --exit ${exit} --start ${now - 60_000 * (30 - i)} --duration 1000`
    ).join("\n");
    const recorded = await run(a, record);
    assert.equal(recorded.code, 0, recorded.output);

    let previous: Device | null = null;
    for (const block of blocks) {
      const device = devices.get(block.device)!;
      if (previous !== null && previous !== device) {
        // Carry the key file to the other device, as the README says.
        const key = join(previous.cwd, "hx-key.txt");
        const exists = await Deno.stat(key).then(() => true, () => false);
        if (exists) await Deno.rename(key, join(device.cwd, "hx-key.txt"));
      }
      const result = await run(device, block.script);
      assert.equal(
        result.code,
        0,
        `README.md:${block.line} (device ${block.device}) failed:\n${result.output}`,
      );
      previous = device;
    }

    // Device b ends with device a's history, without the forgotten token, and the artifact.
    const found = await run(b, "hx find --json --limit 100 ''");
    assert.equal(found.code, 0, found.output);
    const cmds = new Set(
      (JSON.parse(found.output) as { cmd: string }[]).map((e) => e.cmd),
    );
    for (
      const cmd of ["docker build -t web .", "make test", "docker compose up -d", "make deploy"]
    ) {
      assert.ok(cmds.has(cmd), `device b has "${cmd}":\n${found.output}`);
    }
    assert.ok(
      ![...cmds].some((c) => c.includes("oops-pasted-secret")),
      "the forgotten command stays forgotten",
    );
    assert.equal(
      await Deno.readTextFile(join(b.cwd, "build.log")),
      "build failed at step 3\n",
    );
    const digests = await Promise.all(
      [a, b].map((d) => run(d, "hx sync pull >/dev/null; hx sync digest")),
    );
    assert.equal(digests[0]!.code, 0, digests[0]!.output);
    assert.equal(digests[0]!.output, digests[1]!.output, "both devices hold the same history");
    await assert.rejects(Deno.stat(join(b.cwd, "hx-key.txt")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
