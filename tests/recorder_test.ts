// The one-file recorder the shell hook runs after every command (src/recorder.bundle.js): that
// it is built from the sources as they are, and that it records as `hx record` does, including
// what it loads from the sources beside it (the TOML parser, sync).

import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { recorderCommand } from "../src/history/shell_hooks.ts";
import { bundleSources, RECORDER_BUNDLE, sourcesDigest } from "../tools/recorder_sources.ts";
import { hx } from "./_cli.ts";

const ROOT = new URL("../", import.meta.url);
const CLI = new URL("../cli.ts", import.meta.url);

Deno.test("the one-file recorder holds the sources as they are (else: deno task bundle)", async () => {
  const code = await Deno.readTextFile(new URL(RECORDER_BUNDLE, ROOT));
  const stated = code.match(/^\/\/ sources-sha256: ([0-9a-f]{64})$/m)?.[1];
  assert.ok(stated !== undefined, "the bundle has no digest line");
  const sources = bundleSources(code);
  assert.ok(sources.includes("src/cli/commands/record.ts") && sources.length > 10);
  assert.equal(
    await sourcesDigest(ROOT, sources),
    stated,
    "the recording path changed since the bundle was made: run deno task bundle",
  );
});

Deno.test("the hook records through the one-file recorder, which reads a new settings file and auto-syncs when due", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hx-recorder-" });
  try {
    const home = join(dir, "home");
    const store = join(dir, "store");
    await Deno.mkdir(store);
    await Deno.mkdir(join(dir, "cfg", "hx"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "cfg", "hx", "config.toml"),
      "[record]\nignore_commands = ['^ls$']\nsecret_patterns = ['corp_[a-z0-9]{12}']\n",
    );
    const env = {
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, "cfg"),
      HX_PASSPHRASE: "a long passphrase",
    };
    const init = await hx(home, ["sync", "init", "--store", `folder:${store}`, "--passphrase"], {
      env,
    });
    assert.equal(init.code, 0, init.stderr);

    const words = recorderCommand(CLI.href);
    assert.equal(words.at(-1), new URL(RECORDER_BUNDLE, ROOT).pathname);
    const hook = await hx(home, ["init", "bash"], { env });
    assert.ok(hook.stdout.includes(`_hx_rec=(${words.join(" ")})`), "the hook records otherwise");
    const record = async (cmd: string) => {
      const child = new Deno.Command(words[0]!, {
        args: [...words.slice(1), "record", "--session", "s1", "--duration", "5", "--cwd", dir],
        env: { ...env, HX_HOME: home },
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(cmd));
      await w.close();
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    };
    // The settings file is new: parsed by the module beside the bundle. Nothing was pushed
    // yet, so this record syncs: with sync loaded from the sources too.
    await record("deploy --token corp_abcdef123456");
    await record("ls");
    const found = await hx(home, ["find", "--cmd-only"], { env });
    assert.equal(found.stdout, "deploy --token (redacted)\n");
    const status = JSON.parse((await hx(home, ["sync", "status", "--json"], { env })).stdout);
    assert.notEqual(status.last_successful_push, null, JSON.stringify(status));
    assert.equal(status.pending.events, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sources without the bundle beside them record with the sources (no path to a missing file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hx-recorder-copy-" });
  try {
    // A copy of the sources as a packager might make it, without the generated file.
    await new Deno.Command("cp", { args: ["-r", new URL("../src", import.meta.url).pathname, dir] })
      .output();
    await Deno.remove(join(dir, "src", "recorder.bundle.js"));
    const hooks = pathToFileURL(join(dir, "src", "history", "shell_hooks.ts")).href;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const { recorderCommand } = await import(${JSON.stringify(hooks)});` +
        `console.log(JSON.stringify(recorderCommand("file:///opt/hx/cli.ts")));`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const words = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(words.at(-1), "/opt/hx/cli.ts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
