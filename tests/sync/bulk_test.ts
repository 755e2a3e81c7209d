// A pull of far more events than the index holds defers the index's bookkeeping (three
// indexes of events, the commands' run counts) to its end. What it leaves must be exactly what
// importing one segment at a time leaves, and a pull killed in the middle must leave an index
// that works and that the next pull completes.

import assert from "node:assert/strict";
import { join } from "node:path";
import { importHistoryFile } from "../../src/history/import_file.ts";
import { Db } from "../../src/vault/db.ts";
import { findEvents, insertEvents, recountCommands } from "../../src/vault/events.ts";
import { type Device, joinedPair } from "./device.ts";

const CHILD = new URL("../children/pull.ts", import.meta.url).pathname;

/** Every command with its run count and latest run, sorted. */
function commandTable(d: Device): string[] {
  return d.vault.db.all<{ cmd: string; runs: number; last_at: number }>(
    "SELECT cmd, runs, last_at FROM commands ORDER BY cmd",
  ).map((r) => `${r.cmd} | ${r.runs} | ${r.last_at}`);
}

/** The index's indexes and their definitions. */
function indexes(d: Device): string[] {
  return d.vault.db.all<{ name: string; sql: string | null }>(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name",
  ).map((r) => `${r.name}: ${r.sql}`);
}

/**
 * The trigram index's bound on segments per level before they merge: a bulk write raises it,
 * and must leave FTS5's usual 4 behind (else search slows as segments pile up).
 */
function automerge(d: Device): number | undefined {
  return d.vault.db.get<{ v: number }>(
    "SELECT v FROM commands_fts_config WHERE k = 'automerge'",
  )?.v;
}

/** A zsh history of `n` commands: few distinct ones, many repeated. */
async function history(d: Device, n: number, name = ".zsh_history"): Promise<string> {
  const file = join(d.home.path, name);
  const lines = Array.from(
    { length: n },
    (_, i) => `: ${1700000000 + i * 10}:0;make test-${i % 700} && echo ${i % 3}`,
  );
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  return file;
}

Deno.test("a fresh pull of a large vault leaves the same commands, run counts and indexes as importing it here", async () => {
  const { a, b, dispose } = await joinedPair();
  try {
    await importHistoryFile(a.vault, await history(a, 30_000));
    for (let i = 0; i < 50; i++) a.record(`deploy ${i % 7}`);
    await a.push();
    // b already holds a part of the same history (imported history has one identity on
    // every device: these arrive as duplicates) and a command of its own.
    await importHistoryFile(b.vault, await history(b, 2_000, "part"));
    b.record("only on b");
    const pulled = await b.pull();
    assert.equal(pulled.events.inserted, 28_050);
    assert.equal(pulled.events.duplicate, 2_000);
    b.record("make test-5 && echo 2"); // counted after the pull as before it
    a.record("make test-5 && echo 2", { at: b.clock.now });
    a.record("only on b", { at: b.clock.now - 1000 });
    assert.deepEqual(commandTable(b), commandTable(a));
    assert.deepEqual(indexes(b), indexes(a));
    assert.equal(b.vault.db.meta("bulk_write"), undefined);
    assert.equal(automerge(b), 4);
    b.vault.db.exec("INSERT INTO commands_fts (commands_fts, rank) VALUES ('integrity-check', 1)");
    assert.deepEqual(
      b.vault.db.all("SELECT cmd FROM commands WHERE runs = 0"),
      [],
      "a command with no runs is left",
    );
  } finally {
    await dispose();
  }
});

Deno.test("a pull killed while its bookkeeping is deferred leaves an index that searches, and the next pull completes it", async () => {
  const { a, b, dispose } = await joinedPair();
  try {
    await importHistoryFile(a.vault, await history(a, 120_000));
    await a.push();
    // The child pulls b's home, as a second process would (b's connection stays idle).
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", CHILD, b.home.path, "pull"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const watcher = Db.open(b.home.dbPath);
    let seen = false;
    let status: Deno.CommandStatus;
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const imported = watcher.get<{ n: number }>("SELECT count(*) AS n FROM events")!.n;
        // Past half: the next pull brings fewer events than the index holds, and no bulk write
        // of its own would finish this one.
        if (watcher.meta("bulk_write") !== undefined && imported > 60_000) {
          seen = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill("SIGKILL");
    } finally {
      status = await child.status;
      watcher.close();
      b.reopen();
    }
    assert.equal(status.signal, "SIGKILL", "the pull finished before it was killed");
    assert.ok(seen, "the pull never deferred its bookkeeping (or finished before it was seen)");
    assert.equal(b.vault.db.meta("bulk_write"), "1", "the kill came too late to test anything");
    const partial = b.commands().length;
    assert.ok(partial > 60_000 && partial < 120_000, `${partial} events when killed`);
    const found = findEvents(b.vault.db, { text: "make test-13 &", limit: 0 });
    assert.ok(found.length > 0 && found.every((e) => e.cmd.startsWith("make test-13 &")));
    const rest = await b.pull();
    assert.equal(partial + rest.events.inserted, 120_000);
    assert.deepEqual(commandTable(b), commandTable(a));
    assert.deepEqual(indexes(b), indexes(a));
    assert.equal(b.vault.db.meta("bulk_write"), undefined);
    assert.equal(automerge(b), 4);
  } finally {
    await dispose();
  }
});

Deno.test("commands recorded while another process pulls in bulk are counted, and the pull's are too", async () => {
  const { a, b, dispose } = await joinedPair();
  try {
    await importHistoryFile(a.vault, await history(a, 60_000));
    await a.push();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", CHILD, b.home.path, "pull"],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let during = 0;
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && b.vault.db.meta("bulk_write") === undefined) {
        await new Promise((r) => setTimeout(r, 5));
      }
      // b's own connection records while the child writes in bulk (each record waits for
      // the child's batch, as `hx record` does). One text the pull brings too, one it does not.
      for (let i = 0; i < 6 && b.vault.db.meta("bulk_write") !== undefined; i++) {
        b.record(i % 2 === 0 ? "make test-5 && echo 2" : "typed during the pull");
        during++;
      }
    } finally {
      const out = await child.output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    }
    assert.ok(during > 0, "the pull finished before anything was recorded during it");
    assert.equal(b.vault.db.meta("bulk_write"), undefined);
    const stale = b.vault.db.all(
      `SELECT c.cmd, c.runs, (SELECT count(*) FROM events e WHERE e.cmd_id = c.id) AS n
       FROM commands c WHERE c.runs != (SELECT count(*) FROM events e WHERE e.cmd_id = c.id)
          OR c.last_at != (SELECT max(started_at) FROM events e WHERE e.cmd_id = c.id)`,
    );
    assert.deepEqual(stale, [], "run counts or latest runs that are not the events'");
    const typed = b.vault.db.get<{ runs: number }>(
      "SELECT runs FROM commands WHERE cmd = 'typed during the pull'",
    );
    assert.equal(typed?.runs, Math.floor(during / 2));
    assert.equal(b.commands().length, 60_000 + during);
    // A text both wrote while the index of texts was down is one command again.
    const texts = b.vault.db.get<{ n: number; d: number }>(
      "SELECT count(*) AS n, count(DISTINCT cmd) AS d FROM commands",
    )!;
    assert.equal(texts.n, texts.d, "a text stored twice");
    b.vault.db.exec("INSERT INTO commands_fts (commands_fts, rank) VALUES ('integrity-check', 1)");
  } finally {
    await dispose();
  }
});

Deno.test("recounting commands after a deletion leaves other commands that have no runs yet", () => {
  const db = Db.open(":memory:");
  try {
    const event = (seq: number, cmd: string) => ({
      node_id: "0190a0a0-0000-7000-8000-000000000001",
      session_id: "0190a0a0-0000-7000-8000-000000000002",
      seq,
      started_at: 1_700_000_000_000 + seq,
      ended_at: null,
      duration_ms: null,
      exit_code: 0,
      cwd: "/",
      cmd,
      host: "h",
    });
    insertEvents(db, [event(1, "counted")], { origin: "elsewhere" });
    insertEvents(db, [event(2, "deferred"), event(3, "deferred too")], {
      origin: "elsewhere",
      deferCounts: true,
    });
    const counted = db.get<{ id: number }>("SELECT id FROM commands WHERE cmd = 'counted'")!.id;
    db.run("DELETE FROM events WHERE cmd_id = ?", counted);
    recountCommands(db, [counted]);
    assert.deepEqual(
      db.all<{ cmd: string }>("SELECT cmd FROM commands ORDER BY cmd").map((r) => r.cmd),
      ["deferred", "deferred too"],
    );
  } finally {
    db.close();
  }
});
