// Imported history has one identity on every device, but its undated lines get their time
// from the file, which differs between devices: of two copies of an event the earliest time
// wins, wherever the copy is (stored before, or beside it in the same insert).

import assert from "node:assert/strict";
import { insertEvents } from "../../src/vault/events.ts";
import { Vault } from "../../src/vault/vault.ts";
import { type EventRecord, IMPORT_NODE_ID } from "../../src/object/payloads.ts";

const T = 1_700_000_000_000;

function imported(seq: number, startedAt: number): EventRecord {
  return {
    node_id: IMPORT_NODE_ID,
    session_id: "import-zsh",
    seq,
    started_at: startedAt,
    ended_at: startedAt + 5,
    duration_ms: 5,
    exit_code: null,
    cwd: null,
    cmd: `make ${seq % 40}`,
    host: null,
  };
}

function startedAt(vault: Vault): Map<number, number> {
  return new Map(
    vault.db.all<{ seq: number; t: number }>("SELECT seq, started_at AS t FROM events").map((
      r,
    ) => [r.seq, r.t]),
  );
}

for (const deferCounts of [false, true]) {
  Deno.test(
    `copies of imported events keep the earliest time, stored or in the same insert${
      deferCounts ? " (bulk write)" : ""
    }`,
    () => {
      const vault = Vault.open(":memory:");
      try {
        const opts = { origin: "elsewhere" as const, deferCounts };
        insertEvents(vault.db, Array.from({ length: 300 }, (_, i) => imported(i, T + i)), opts);
        const expected = new Map(Array.from({ length: 300 }, (_, i) => [i, T + i]));
        // Copies of stored events, earlier and later, among new events; and new events whose
        // copies follow in the same insert, earlier and later.
        const next: EventRecord[] = [];
        for (let i = 0; i < 600; i++) {
          if (i === 50 || i === 170 || i === 299) next.push(imported(i, T + i - 1_000));
          else if (i === 60 || i === 250) next.push(imported(i, T + i + 1_000));
          else if (i >= 300) next.push(imported(i, T + i));
          // copies right after the first: in the same statement
          if (i === 400) next.push(imported(i, T + i - 7));
          if (i === 401) next.push(imported(i, T + i + 7));
        }
        next.push(imported(450, T + 450 - 3)); // and in another statement
        for (const i of [50, 170, 299]) expected.set(i, T + i - 1_000);
        for (let i = 300; i < 600; i++) expected.set(i, T + i);
        expected.set(400, T + 400 - 7);
        expected.set(450, T + 450 - 3);
        const counts = insertEvents(vault.db, next, opts);
        assert.equal(counts.inserted, 300);
        assert.equal(counts.duplicate, next.length - 300);
        assert.deepEqual(startedAt(vault), expected);
      } finally {
        vault.close();
      }
    },
  );
}
