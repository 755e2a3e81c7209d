// A pull keeps command ids from one segment to the next in a bounded cache. Whatever the cache
// drops, keeps or is told to forget, every event must keep its own text and every text must
// be stored once.

import assert from "node:assert/strict";
import { CommandIds, insertEvents } from "../../src/vault/events.ts";
import type { EventRecord } from "../../src/object/payloads.ts";
import { event, storedTexts, withIndex } from "./_texts.ts";
import { prng } from "../_prng.ts";

Deno.test("command ids kept across a pull's transactions stay right through eviction, rollback and another writer", () =>
  withIndex((vault, other) => {
    const db = vault.db;
    const ids = new CommandIds(8); // far fewer texts than the history has: evicted often
    const rand = prng(11);
    const expected = new Map<number, string>();
    let seq = 0;
    const segment = (n: number) =>
      Array.from({ length: n }, () => {
        // a few texts run often, many rarely
        const text = rand() < 0.5
          ? `git status ${Math.floor(rand() * 3)}`
          : `ls ${Math.floor(rand() * 100)}`;
        return event(++seq, text);
      });
    const importBatch = (events: EventRecord[]) => {
      db.begin();
      ids.check(db);
      insertEvents(db, events, { origin: "elsewhere", deferCounts: true, commandIds: ids });
    };
    for (let round = 0; round < 300; round++) {
      const events = segment(1 + Math.floor(rand() * 12));
      importBatch(events);
      if (round % 5 === 4) {
        // a failed batch: its new texts (and their ids) are gone
        db.rollback();
        ids.clear();
        seq -= events.length;
        continue;
      }
      db.commit();
      for (const e of events) expected.set(e.seq, e.cmd);
      if (round % 7 === 3) {
        // another process stores a text the pull meets later, under the id the pull would
        // give its next new text
        other.run(
          "INSERT OR IGNORE INTO commands (cmd, last_at, runs) VALUES (?, 0, 0)",
          `ls ${60 + round}`,
        );
      }
    }
    assert.ok(ids.size <= 8);
    assert.deepEqual(storedTexts(db), expected);
    const texts = db.get<{ n: number; d: number }>(
      "SELECT count(*) AS n, count(DISTINCT cmd) AS d FROM commands",
    )!;
    assert.equal(texts.n, texts.d, "every text once");
  }));
