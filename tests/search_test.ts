// hx search as a user meets it: ctrl-r in real zsh, bash and fish under tmux (keys sent,
// screen read back), and the matching behind it.

import assert from "node:assert/strict";
import { join } from "node:path";
import { CommandList, search } from "../src/search/engine.ts";
import { events, has, HAVE_TMUX, removeSoon, shellCommand, Tmux } from "./_tmux.ts";

/** The command column of the search's list rows, top to bottom. */
function rows(screen: string): string[] {
  return screen.split("\n").slice(1).map((l) => l.replace(/^.{0,3} +\S+ +\S* {2}/, "").trim())
    .filter((l) => l.startsWith("echo "));
}

/** Waits until the pane's screen passes `ok`; on timeout the error shows the last screen. */
async function waitUntil(
  tmux: Tmux,
  pane: string,
  what: string,
  ok: (screen: string) => boolean,
  ms = 20_000,
): Promise<void> {
  const until = Date.now() + ms;
  let screen = "";
  while (Date.now() < until) {
    screen = await tmux.screen(pane);
    if (ok(screen)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; the screen:\n${screen}`);
}

for (const shell of ["zsh", "bash", "fish"]) {
  Deno.test({
    name:
      `${shell}: ctrl-r finds commands as you type, newest first; tab puts one on the prompt, enter runs one, ctrl-d deletes one`,
    ignore: !HAVE_TMUX || !has(shell),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: `hx-search-${shell}-` });
      const home = join(dir, "home");
      const tmux = new Tmux();
      try {
        await tmux.start("s", await shellCommand(shell, dir, home));
        for (const c of ["echo alpha-one", "echo beta-two", "echo alpha-three"]) {
          await tmux.type("s", c);
          // Apart by more than the 10 ms steps of fish's time, as typed commands are.
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal((await events(home, 3)).length, 3);

        // Type to narrow: only the alpha commands, the newest first.
        await tmux.keys("s", "C-r");
        await tmux.waitFor("s", "fuzzy · all history", 20_000);
        await tmux.text("s", "alpha");
        await waitUntil(
          tmux,
          "s",
          "the alpha rows",
          (screen) => rows(screen).join("|") === "echo alpha-three|echo alpha-one",
        );

        // Down, tab: the older one is on the prompt, not run.
        await tmux.keys("s", "Down");
        await tmux.keys("s", "Tab");
        await tmux.waitFor("s", "hx-test", 10_000);
        await waitUntil(
          tmux,
          "s",
          "the command on the prompt",
          (screen) => screen.split("\n").some((l) => /hx-test\S* echo alpha-one\s*$/.test(l)),
        );
        assert.equal((await events(home, 3, 500)).length, 3, "tab ran the command");

        // Clear the prompt, search again, enter: it runs.
        await tmux.keys("s", "C-u");
        await tmux.keys("s", "C-r");
        await tmux.waitFor("s", "fuzzy · all history", 20_000);
        await tmux.text("s", "beta");
        await waitUntil(
          tmux,
          "s",
          "the beta row",
          (screen) => rows(screen).join("|") === "echo beta-two",
        );
        await tmux.keys("s", "Enter");
        const after = await events(home, 4);
        assert.deepEqual(after.map((e) => e.cmd).at(-1), "echo beta-two");

        // ctrl-d, y: every run of it is gone from the index.
        await tmux.keys("s", "C-r");
        await tmux.waitFor("s", "fuzzy · all history", 20_000);
        await tmux.text("s", "beta-two");
        await waitUntil(
          tmux,
          "s",
          "the beta row",
          (screen) => rows(screen).join("|") === "echo beta-two",
        );
        await tmux.keys("s", "C-d");
        await tmux.waitFor("s", "on every device? y/n", 5_000);
        await tmux.text("s", "y");
        await tmux.waitFor("s", "Deleted here", 10_000);
        await tmux.keys("s", "Escape");
        await tmux.waitFor("s", "hx-test", 10_000);
        const left = await events(home, 0);
        assert.deepEqual(left.map((e) => e.cmd).sort(), [
          "echo alpha-one",
          "echo alpha-three",
        ]);
      } finally {
        await tmux.kill();
        await removeSoon(dir);
      }
    },
  });
}

Deno.test({
  name: "ctrl-r cycles the filter to this session and this directory; ctrl-s switches to prefix",
  ignore: !HAVE_TMUX || !has("zsh"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "hx-search-filter-" });
    const home = join(dir, "home");
    const tmux = new Tmux();
    try {
      await Deno.mkdir(join(dir, "a"));
      await Deno.mkdir(join(dir, "b"));
      await tmux.start("one", await shellCommand("zsh", dir, home));
      await tmux.type("one", `cd ${join(dir, "a")} && echo in-a-first`);
      await tmux.type("one", "echo in-a-second");
      await events(home, 2);
      await tmux.start("two", await shellCommand("zsh", dir, home));
      await tmux.type("two", `cd ${join(dir, "b")} && echo in-b`);
      await events(home, 3);

      await tmux.keys("two", "C-r");
      await tmux.waitFor("two", "all history", 20_000);
      await tmux.text("two", "echo");
      await waitUntil(tmux, "two", "every row", (screen) => rows(screen).length === 1);
      // The cd commands do not start with "echo": rows() shows the others.
      assert.deepEqual(rows(await tmux.screen("two")), ["echo in-a-second"]);
      await tmux.keys("two", "C-r"); // this host: all three
      await tmux.waitFor("two", "this host", 5_000);
      await tmux.keys("two", "C-r"); // this session: only shell two's
      await tmux.waitFor("two", "this session · 1 commands", 5_000);
      await tmux.keys("two", "C-r"); // this directory: b
      await tmux.waitFor("two", "this directory · 0 commands", 5_000);
      await tmux.keys("two", "C-r"); // back to all, then prefix mode
      await tmux.keys("two", "C-s");
      await tmux.waitFor("two", "prefix · all history · 1 commands", 5_000);
      await tmux.keys("two", "Escape");
    } finally {
      await tmux.kill();
      await removeSoon(dir);
    }
  },
});

for (const shell of ["zsh", "bash", "fish"]) {
  Deno.test({
    name:
      `${shell}: --up-arrow opens this session's commands; --disable-ctrl-r leaves ctrl-r to the shell`,
    ignore: !HAVE_TMUX || !has(shell),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: `hx-search-up-${shell}-` });
      const home = join(dir, "home");
      const tmux = new Tmux();
      try {
        const opts = { init: ["--up-arrow", "--disable-ctrl-r"] };
        await tmux.start("one", await shellCommand(shell, dir, home, opts));
        await tmux.type("one", "echo from-one");
        await events(home, 1);
        await tmux.start("two", await shellCommand(shell, dir, home, opts));
        await tmux.type("two", "echo from-two");
        await events(home, 2);
        await tmux.keys("two", "Up");
        await tmux.waitFor("two", "this session · 1 commands", 20_000);
        assert.deepEqual(rows(await tmux.screen("two")), ["echo from-two"]);
        await tmux.keys("two", "Escape");
        await tmux.waitFor("two", "hx-test", 10_000);
        await tmux.keys("two", "C-r");
        await new Promise((r) => setTimeout(r, 1000));
        assert.ok(!(await tmux.screen("two")).includes("all history"), "ctrl-r opened hx search");
      } finally {
        await tmux.kill();
        await removeSoon(dir);
      }
    },
  });
}

Deno.test("search folds case and Unicode, ranks whole words before scattered letters, and narrows as letters are added", () => {
  const list = new CommandList();
  const texts = [
    "make install", // newest
    "nslookup domain.example",
    "grep WÖRLD notes.txt",
    "git checkout main",
    "echo ｌｓ full width",
    "go test ./...",
    "git commit -m 'fix'",
    "kubectl get pods --context=checkout", // oldest
  ];
  texts.forEach((t, i) => list.push(i + 1, t, 100 - i));
  const found = (q: string, mode: "fuzzy" | "prefix" | "fulltext") =>
    search(list, q, mode).ranked.map((i) => list.texts[i]);
  assert.deepEqual(found("wörld", "fulltext"), ["grep WÖRLD notes.txt"]);
  assert.deepEqual(found("ls", "fulltext"), ["echo ｌｓ full width"]);
  assert.deepEqual(found("git", "prefix"), ["git checkout main", "git commit -m 'fix'"]);
  // "main" at a word start first, then inside a word, then its letters scattered: each
  // before newer commands of a lower rank.
  assert.deepEqual(found("main", "fuzzy"), [
    "git checkout main",
    "nslookup domain.example",
    "make install",
  ]);
  assert.deepEqual(found("gcm", "fuzzy"), [
    "git checkout main",
    "git commit -m 'fix'",
  ]);
  assert.deepEqual(found("gcm", "fulltext"), []);
  // Narrowing gives what a fresh search gives.
  const first = search(list, "g", "fuzzy");
  const narrowed = search(list, "gi c", "fuzzy", first);
  assert.deepEqual(narrowed.ranked, search(list, "gi c", "fuzzy").ranked);
});
