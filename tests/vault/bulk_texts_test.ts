// A bulk write drops the unique index of command texts and finds stored texts by their hashes
// instead. Whatever the hashes collide on, whatever the cache of ids forgets, and whatever
// another writer stores meanwhile, every event keeps its own text and every text ends up
// stored once, with its runs counted and its search entries whole.

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { finishBulk, startBulk } from "../../src/vault/bulk.ts";
import { Db } from "../../src/vault/db.ts";
import { CommandIds, findEvents, insertEvents } from "../../src/vault/events.ts";
import { MIGRATIONS } from "../../src/vault/migrations.ts";
import { TextHashes } from "../../src/vault/text_hashes.ts";
import { event, storedTexts, withIndex } from "./_texts.ts";
import { prng } from "../_prng.ts";

function assertWhole(db: Db): void {
  const texts = db.get<{ n: number; d: number }>(
    "SELECT count(*) AS n, count(DISTINCT cmd) AS d FROM commands",
  )!;
  assert.equal(texts.n, texts.d, "a text stored twice");
  const stale = db.all(
    `SELECT c.cmd FROM commands c
     WHERE c.runs != (SELECT count(*) FROM events e WHERE e.cmd_id = c.id)`,
  );
  assert.deepEqual(stale, [], "run counts that are not the events'");
  assert.ok(
    db.all<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'commands_cmd'")[0]?.sql
      .startsWith("CREATE UNIQUE INDEX"),
  );
  db.exec("INSERT INTO commands_fts (commands_fts, rank) VALUES ('integrity-check', 1)");
}

Deno.test("a bulk write whose text hashes all collide stores each text once, through eviction, rollback and another writer", () =>
  withIndex((vault, other) => {
    const db = vault.db;
    insertEvents(db, [event(0, "ls 1"), event(1, "ls 2")], { origin: "elsewhere" }); // held before
    startBulk(db, { texts: true });
    const ids = new CommandIds(8);
    ids.hashAll(db, new TextHashes(() => 7)); // every text under one hash
    const rand = prng(5);
    const expected = new Map<number, string>([[0, "ls 1"], [1, "ls 2"]]);
    let seq = 1;
    for (let round = 0; round < 120; round++) {
      const events = Array.from(
        { length: 1 + Math.floor(rand() * 9) },
        () => event(++seq, `ls ${Math.floor(rand() * 40)}`),
      );
      db.begin();
      ids.check(db);
      insertEvents(db, events, { origin: "elsewhere", deferCounts: true, commandIds: ids });
      if (round % 7 === 3) {
        db.rollback(); // its new texts and their ids are gone; their hashes stay, as hints
        ids.clear();
        seq -= events.length;
        continue;
      }
      db.commit();
      for (const e of events) expected.set(e.seq, e.cmd);
      if (round % 11 === 5) {
        // another process deletes a text the pull holds (as a forget would), with its runs
        const gone = `ls ${Math.floor(rand() * 40)}`;
        other.run(
          "DELETE FROM events WHERE cmd_id = (SELECT id FROM commands WHERE cmd = ?)",
          gone,
        );
        other.run("DELETE FROM commands WHERE cmd = ?", gone);
        for (const [s, t] of expected) if (t === gone) expected.delete(s);
      }
    }
    assert.deepEqual(storedTexts(db), expected);
    assert.equal(
      db.get<{ n: number }>("SELECT count(*) - count(DISTINCT cmd) AS n FROM commands")!.n,
      0,
      "a text stored twice before the index was built",
    );
    assert.ok(finishBulk(db));
    assert.deepEqual(storedTexts(db), expected);
    assertWhole(db);
  }));

Deno.test("texts another writer stored again during a bulk write are merged when its index is built", () =>
  withIndex((vault, other) => {
    const db = vault.db;
    startBulk(db, { texts: true });
    const ids = new CommandIds();
    ids.hashAll(db, new TextHashes());
    insertEvents(db, [event(1, "make"), event(2, "git status"), event(3, "make")], {
      origin: "elsewhere",
      deferCounts: true,
      commandIds: ids,
    });
    // Another writer knows nothing of the pull's ids and has no index to find them by:
    // it stores "make" again, with a run of its own.
    const copy = Number(
      other.prepare("INSERT INTO commands (cmd, last_at, runs) VALUES ('make', 0, 0)").run()
        .lastInsertRowid,
    );
    other.run("INSERT INTO commands_fts (rowid, cmd) VALUES (?, 'make')", copy);
    other.run(
      `INSERT INTO events (node_ref, session_ref, seq, started_at, cmd_id, origin)
       SELECT node_ref, session_ref, 4, started_at + 3000, ?, 1 FROM events WHERE seq = 3`,
      copy,
    );
    assert.ok(finishBulk(db));
    assert.deepEqual(
      storedTexts(db),
      new Map([[1, "make"], [2, "git status"], [3, "make"], [4, "make"]]),
    );
    assert.equal(db.get<{ runs: number }>("SELECT runs FROM commands WHERE cmd = 'make'")!.runs, 3);
    assertWhole(db);
    assert.deepEqual(findEvents(db, { text: "mak", limit: 0 }).length, 3);
  }));

Deno.test("an index of schema 6 keeps its commands and their search through the move to a unique index of texts", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "hx.db");
  try {
    const raw = new DatabaseSync(path);
    for (const m of MIGRATIONS.filter((m) => m.version <= 6)) raw.exec(m.sql);
    raw.exec("PRAGMA user_version = 6");
    raw.exec(
      `INSERT INTO commands (id, cmd, last_at, runs) VALUES (3, 'git status', 10, 1), (9, 'make test', 20, 1);
       INSERT INTO commands_fts (rowid, cmd) SELECT id, cmd FROM commands;`,
    );
    raw.close();
    const db = Db.open(path);
    try {
      assert.equal(db.schemaVersion(), 7);
      assert.deepEqual(
        db.all("SELECT id, cmd, last_at, runs FROM commands ORDER BY id").map((r) => ({ ...r })),
        [{ id: 3, cmd: "git status", last_at: 10, runs: 1 }, {
          id: 9,
          cmd: "make test",
          last_at: 20,
          runs: 1,
        }],
      );
      assert.throws(
        () => db.run("INSERT INTO commands (cmd, last_at, runs) VALUES ('make test', 0, 0)"),
        /UNIQUE constraint failed/,
      );
      const match = (q: string) =>
        db.all<{ id: number }>(
          "SELECT rowid AS id FROM commands_fts WHERE commands_fts MATCH ?",
          q,
        ).map((r) => r.id);
      assert.deepEqual(match('"sta"'), [3]);
      db.run("DELETE FROM commands WHERE id = 3"); // its search entries go with it
      assert.deepEqual(match('"sta"'), []);
      db.exec("INSERT INTO commands_fts (commands_fts, rank) VALUES ('integrity-check', 1)");
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bulk write too large to hold every text's hash keeps the index of texts", () =>
  withIndex((vault) => {
    const db = vault.db;
    const hasIndex = () =>
      db.all("SELECT 1 FROM sqlite_master WHERE name = 'commands_cmd'").length === 1;
    startBulk(db, { texts: false });
    assert.ok(hasIndex());
    const ids = new CommandIds(4);
    const events = Array.from({ length: 30 }, (_, i) => event(i, `ls ${i % 9}`));
    for (let i = 0; i < events.length; i += 5) {
      insertEvents(db, events.slice(i, i + 5), {
        origin: "elsewhere",
        deferCounts: true,
        commandIds: ids,
      });
    }
    assert.ok(finishBulk(db));
    assert.deepEqual(storedTexts(db), new Map(events.map((e) => [e.seq, e.cmd])));
    assertWhole(db);
  }));
