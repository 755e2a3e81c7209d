// Batches of the local index (what a pull imports segments in): a batch stays open across
// awaits, other connections see nothing of it until it is committed, and a rollback undoes
// all of it, including the transactions that joined it.

import assert from "node:assert/strict";
import { Db } from "../../src/vault/db.ts";

const values = (db: Db) =>
  db.all<{ value: string }>("SELECT value FROM meta WHERE key LIKE 't%' ORDER BY key").map((r) =>
    r.value
  );

async function withTwo(fn: (db: Db, other: Db) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "hx-db-" });
  const db = Db.open(`${dir}/hx.db`);
  const other = Db.open(`${dir}/hx.db`); // as another process sees the index
  try {
    await fn(db, other);
  } finally {
    other.close();
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a batch spans awaits, transactions join it, and only its commit makes them visible", () =>
  withTwo(async (db, other) => {
    db.begin();
    assert.ok(db.inTransaction);
    assert.throws(() => db.begin(), /inside a transaction/);
    db.transaction(() => db.setMeta("t1", "one"));
    await new Promise((r) => setTimeout(r, 5));
    db.transaction(() => db.setMeta("t2", "two"));
    assert.deepEqual(values(other), []);
    db.commit();
    assert.ok(!db.inTransaction);
    assert.deepEqual(values(other), ["one", "two"]);
    db.commit(); // nothing open: nothing happens
  }));

Deno.test("rolling a batch back undoes every transaction that joined it, and the index takes writes again", () =>
  withTwo((db, other) => {
    db.begin();
    db.transaction(() => db.setMeta("t1", "one"));
    assert.throws(() =>
      db.transaction(() => {
        db.setMeta("t2", "half");
        throw new Error("bad segment");
      }), /bad segment/);
    db.rollback();
    assert.ok(!db.inTransaction);
    assert.deepEqual(values(db), []);
    other.transaction(() => other.setMeta("t3", "after")); // the lock was let go
    assert.deepEqual(values(db), ["after"]);
  }));
