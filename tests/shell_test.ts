// Drives real interactive shells under tmux with the hook `hx init` prints, and checks what
// the detached `hx record` processes stored.

import assert from "node:assert/strict";
import { join } from "node:path";
import { Vault } from "../src/vault/vault.ts";
import { findEvents, type StoredEvent } from "../src/vault/events.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

function has(cmd: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const HAVE_TMUX = has("tmux");

class Tmux {
  readonly socket = `hx-test-${crypto.randomUUID().slice(0, 8)}`;

  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout);
  }

  async start(name: string, command: string): Promise<void> {
    await this.run("new-session", "-d", "-s", name, "-x", "200", "-y", "50", command);
    await this.waitFor(name, "hx-test", 20_000);
  }

  async waitFor(name: string, text: string, ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if ((await this.run("capture-pane", "-p", "-t", name)).includes(text)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const screen = await this.run("capture-pane", "-p", "-t", name);
    throw new Error(`tmux ${name}: "${text}" did not appear:\n${screen}`);
  }

  async type(name: string, line: string): Promise<void> {
    await this.run("send-keys", "-t", name, "-l", line);
    await this.run("send-keys", "-t", name, "Enter");
  }

  async kill(): Promise<void> {
    await this.run("kill-server");
  }
}

/** Removes a directory that shells (history on hangup) or recorders may still be writing to. */
async function removeSoon(dir: string): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      return await Deno.remove(dir, { recursive: true });
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts `shell` interactively with the hook, with its rc files in `dir`. */
async function shellCommand(shell: string, dir: string, home: string): Promise<string> {
  const init = `${Deno.execPath()} run --allow-all --quiet ${CLI} init ${shell}`;
  const env = `env HX_HOME=${home} HX_SESSION= HX_SESSION_PID=`;
  if (shell === "zsh") {
    await Deno.writeTextFile(join(dir, ".zshrc"), `PS1='hx-test%# '\neval "$(${init})"\n`);
    return `${env} ZDOTDIR=${dir} zsh -i`;
  }
  if (shell === "bash") {
    await Deno.writeTextFile(join(dir, "bashrc"), `PS1='hx-test$ '\neval "$(${init})"\n`);
    return `${env} HISTFILE=${dir}/history bash --noprofile --rcfile ${dir}/bashrc -i`;
  }
  await Deno.mkdir(join(dir, "fish"), { recursive: true });
  await Deno.writeTextFile(
    join(dir, "fish", "config.fish"),
    `function fish_prompt; echo -n 'hx-test> '; end\n${init} | source\n`,
  );
  return `${env} XDG_CONFIG_HOME=${dir} fish -i`;
}

/** Polls the index until `n` events are there (the hook records in the background). */
async function events(home: string, n: number, ms = 30_000): Promise<StoredEvent[]> {
  const until = Date.now() + ms;
  let found: StoredEvent[] = [];
  while (Date.now() < until) {
    try {
      await Deno.stat(join(home, "hx.db")); // let hx create it
      const vault = Vault.open(join(home, "hx.db"));
      try {
        found = findEvents(vault.db, { limit: 1000, oldestFirst: true });
      } finally {
        vault.close();
      }
      if (found.length >= n) return found;
    } catch {
      // not created yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return found;
}

for (const shell of ["zsh", "bash", "fish"]) {
  Deno.test({
    name: `an interactive ${shell} with the hook records commands with exit codes, cwd and order`,
    ignore: !HAVE_TMUX || !has(shell),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: `hx-${shell}-` });
      const work = join(dir, "work dir");
      await Deno.mkdir(work);
      const home = join(dir, "home");
      const tmux = new Tmux();
      try {
        await tmux.start("s", await shellCommand(shell, dir, home));
        const started = Date.now();
        const lines = [
          `cd '${work}'`,
          "true",
          "false",
          " echo not-recorded",
          "sh -c 'exit 3'",
          "echo finished",
        ];
        for (const line of lines) {
          await tmux.type("s", line);
          await new Promise((r) => setTimeout(r, 300));
        }
        const got = await events(home, 5);
        assert.deepEqual(
          got.map((e) => [e.cmd, e.exit_code, e.cwd]),
          [
            [`cd '${work}'`, 0, Deno.cwd()],
            ["true", 0, work],
            ["false", 1, work],
            ["sh -c 'exit 3'", 3, work],
            ["echo finished", 0, work],
          ],
        );
        assert.deepEqual(got.map((e) => e.seq), [1, 2, 3, 4, 5]);
        assert.equal(new Set(got.map((e) => e.session_id)).size, 1);
        assert.ok(got[0]!.session_id.startsWith(`${shell}-`));
        for (const e of got) {
          assert.ok(e.started_at >= started - 1000 && e.started_at <= Date.now(), "start time");
          assert.ok(e.ended_at! >= e.started_at, "end after start");
        }
        // nothing the hook did reached the terminal (no job notices, no errors)
        const screen = await tmux.run("capture-pane", "-p", "-t", "s");
        assert.ok(!/\[\d+\]|hx:|error|Job \d/i.test(screen), screen);
      } finally {
        await tmux.kill();
        await removeSoon(dir);
      }
    },
  });
}

Deno.test({
  name: "two shells recording at once lose nothing",
  ignore: !HAVE_TMUX || !has("bash") || !has("zsh"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "hx-two-" });
    const home = join(dir, "home");
    const tmux = new Tmux();
    try {
      await Deno.mkdir(join(dir, "z"));
      await Deno.mkdir(join(dir, "b"));
      await tmux.start("z", await shellCommand("zsh", join(dir, "z"), home));
      await tmux.start("b", await shellCommand("bash", join(dir, "b"), home));
      const n = 15;
      for (let i = 1; i <= n; i++) {
        await Promise.all([tmux.type("z", `echo z-${i}`), tmux.type("b", `echo b-${i}`)]);
        await new Promise((r) => setTimeout(r, 60));
      }
      const got = await events(home, 2 * n, 60_000);
      const cmds = new Set(got.map((e) => e.cmd));
      for (let i = 1; i <= n; i++) {
        assert.ok(cmds.has(`echo z-${i}`), `lost echo z-${i}`);
        assert.ok(cmds.has(`echo b-${i}`), `lost echo b-${i}`);
      }
      assert.equal(got.length, 2 * n);
      const sessions = new Set(got.map((e) => e.session_id));
      assert.equal(sessions.size, 2);
      for (const s of sessions) {
        const seqs = got.filter((e) => e.session_id === s).map((e) => e.seq).sort((a, b) => a - b);
        assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i + 1));
      }
    } finally {
      await tmux.kill();
      await removeSoon(dir);
    }
  },
});
