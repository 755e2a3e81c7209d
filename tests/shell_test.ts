// Drives real interactive shells under tmux with the hook `hx init` prints, and checks what
// the detached `hx record` processes stored.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CLI,
  events,
  has,
  HAVE_TMUX,
  type RcOptions,
  removeSoon,
  shellCommand,
  Tmux,
} from "./_tmux.ts";

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

/** Types `lines` into a fresh shell (with or without the hook) and returns its history list. */
async function bashSession(
  dir: string,
  home: string,
  rc: RcOptions,
  lines: string[],
): Promise<string[]> {
  const tmux = new Tmux();
  const listing = join(dir, "listing");
  try {
    await tmux.start("s", await shellCommand("bash", dir, home, rc));
    for (const line of lines) {
      await tmux.type("s", line);
      await new Promise((r) => setTimeout(r, 250));
    }
    await tmux.type("s", `HISTTIMEFORMAT= history > ${listing}`);
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const text = await Deno.readTextFile(listing).catch(() => "");
      if (text.includes("HISTTIMEFORMAT")) {
        return text.trimEnd().split("\n").map((l) =>
          l.replace(/^\s*\d+[* ] /, "").replace(listing, "LISTING")
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`bash never listed its history:\n${await tmux.screen("s")}`);
  } finally {
    await tmux.kill();
  }
}

Deno.test({
  name:
    "bash records every command whatever HISTCONTROL, HISTIGNORE and set +o history say, and bash's own history stays as they make it",
  ignore: !HAVE_TMUX || !has("bash"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "hx-bash-settings-" });
    try {
      const settings = "HISTCONTROL=ignoreboth:erasedups\nHISTIGNORE='ls*:pwd:&'";
      const lines = [
        "echo a",
        "echo a",
        " echo space-secret",
        "pwd",
        "ls -d /",
        "echo b",
        "echo a",
        "set +o history",
        "echo unlisted",
        "set -o history",
        "echo c",
      ];
      const plainDir = join(dir, "plain");
      const hookDir = join(dir, "hook");
      await Deno.mkdir(plainDir);
      await Deno.mkdir(hookDir);
      const home = join(dir, "home");
      const without = await bashSession(plainDir, join(dir, "unused"), {
        before: settings,
        hook: false,
      }, lines);
      const withHx = await bashSession(hookDir, home, { before: settings }, lines);
      assert.deepEqual(withHx, without, "bash's own history differs with hx loaded");
      assert.ok(!without.includes("echo unlisted") && !without.includes("pwd"), without.join("|"));
      const got = await events(home, lines.length);
      assert.deepEqual(
        got.map((e) => e.cmd).filter((c) => !c.startsWith("HISTTIMEFORMAT")),
        lines.filter((l) => !l.startsWith(" ")),
      );
    } finally {
      await removeSoon(dir);
    }
  },
});

const PREEXEC = new URL("./fixtures/bash-preexec.sh", import.meta.url).pathname;

for (const order of ["before", "after"] as const) {
  Deno.test({
    name:
      `bash with bash-preexec loaded ${order} hx, a DEBUG trap and a PROMPT_COMMAND records each command once, and theirs still run with the right status`,
    ignore: !HAVE_TMUX || !has("bash"),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "hx-bash-chain-" });
      const home = join(dir, "home");
      const log = join(dir, "log");
      // their own trap and prompt command come first; bash-preexec before or after hx
      const own = [
        `trap 'echo "debug $BASH_COMMAND" >> ${log}' DEBUG`,
        `PROMPT_COMMAND='echo "prompt $?" >> ${log}'`,
      ].join("\n");
      const preexec = [
        `source ${PREEXEC}`,
        `preexec() { echo "preexec $1" >> ${log}; }`,
        `precmd() { echo "precmd $?" >> ${log}; }`,
      ].join("\n");
      const rc = order === "before"
        ? { before: `${own}\n${preexec}` }
        : { before: own, after: preexec };
      const tmux = new Tmux();
      try {
        await tmux.start("s", await shellCommand("bash", dir, home, rc));
        for (const line of ["true", "sh -c 'exit 7'", "( exit 4 )", "echo done"]) {
          await tmux.type("s", line);
          await new Promise((r) => setTimeout(r, 300));
        }
        const got = await events(home, 4);
        await new Promise((r) => setTimeout(r, 500)); // anything recorded twice shows up
        assert.deepEqual(
          (await events(home, 4)).map((e) => [e.cmd, e.exit_code]),
          [["true", 0], ["sh -c 'exit 7'", 7], ["( exit 4 )", 4], ["echo done", 0]],
        );
        assert.equal(got.length, 4);
        const logged = await Deno.readTextFile(log);
        for (const line of ["preexec true", "preexec sh -c 'exit 7'", "preexec echo done"]) {
          assert.ok(logged.includes(line), `their preexec missed "${line}":\n${logged}`);
        }
        assert.ok(logged.includes("precmd 7") && logged.includes("prompt 7"), logged);
        assert.ok(logged.includes("precmd 4") && logged.includes("prompt 4"), logged);
        assert.ok(logged.includes("debug echo done"), logged);
      } finally {
        await tmux.kill();
        await removeSoon(dir);
      }
    },
  });
}

for (const shell of ["zsh", "bash", "fish"]) {
  Deno.test({
    name: `${shell} keeps the command run right before exit, and one of 200 KiB`,
    ignore: !HAVE_TMUX || !has(shell),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: `hx-${shell}-exit-` });
      const home = join(dir, "home");
      const tmux = new Tmux();
      try {
        // The long line is put in the editor by a key binding: pasting 200 KiB through a
        // terminal tests the terminal, not the hook.
        const long = `: ${"x".repeat(200 * 1024)}`;
        const file = join(dir, "long");
        await Deno.writeTextFile(file, long);
        const load = {
          zsh: `_t() { BUFFER=$(<${file}); }; zle -N _t; bindkey '^T' _t`,
          bash: `bind -x '"\\C-t": READLINE_LINE=$(<${file}); READLINE_POINT=0'`,
          fish: `bind \\ct 'commandline (cat ${file})'`,
        }[shell]!;
        await tmux.start("s", await shellCommand(shell, dir, home, { after: load }));
        await tmux.keys("s", "C-t");
        await tmux.keys("s", "Enter");
        await tmux.waitFor("s", "hx-test", 20_000);
        await tmux.type("s", "echo the-last-one");
        await tmux.type("s", "exit");
        // fish also records `exit` itself (it runs fish_postexec before leaving).
        const got = (await events(home, shell === "fish" ? 3 : 2)).filter((e) => e.cmd !== "exit");
        got.sort((a, b) => a.cmd.length - b.cmd.length);
        assert.deepEqual(got.map((e) => e.cmd.length), ["echo the-last-one".length, long.length]);
        assert.equal(got[1]!.cmd, long);
      } finally {
        await tmux.kill();
        await removeSoon(dir);
      }
    },
  });
}

for (const shell of ["zsh", "bash", "fish"]) {
  Deno.test({
    name:
      `${shell}: a recorder that starts late keeps the time the command ended, so commands stay in the order they ran`,
    ignore: !HAVE_TMUX || !has(shell),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: `hx-late-${shell}-` });
      const home = join(dir, "home");
      // A recorder slowed down the way a loaded machine slows one: the first command's
      // recorder starts two seconds late, after the second command's.
      const wrapper = join(dir, "late-hx.sh");
      await Deno.writeTextFile(
        wrapper,
        `cmd=$(cat)\ncase "$cmd" in *first*) sleep 2 ;; esac\n` +
          `printf '%s' "$cmd" | exec ${Deno.execPath()} run --allow-all --quiet ${CLI} "$@"\n`,
      );
      const before = shell === "fish"
        ? `set -gx HX_BIN "sh ${wrapper}"`
        : `export HX_BIN="sh ${wrapper}"`;
      const tmux = new Tmux();
      try {
        await tmux.start("s", await shellCommand(shell, dir, home, { before }));
        await tmux.type("s", "echo first");
        await new Promise((r) => setTimeout(r, 300));
        await tmux.type("s", "echo second");
        const got = await events(home, 2);
        assert.deepEqual(got.map((e) => [e.seq, e.cmd]), [[1, "echo first"], [2, "echo second"]]);
        const [first, second] = got;
        assert.ok(
          first!.ended_at! < second!.started_at + 100,
          `the first ended at ${first!.ended_at}, the second started at ${second!.started_at}`,
        );
      } finally {
        await tmux.kill();
        await removeSoon(dir);
      }
    },
  });
}
