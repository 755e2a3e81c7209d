// After a pull of a large history the search index is in one segment: the merging FTS5 would
// otherwise do on later writes falls to `hx record`, after a command, with MiBs more memory.

import assert from "node:assert/strict";
import { join } from "node:path";
import { importHistoryFile } from "../../src/history/import_file.ts";
import { joinedPair } from "./device.ts";

Deno.test("a fresh pull of a large history leaves the search index in one segment, and recording keeps it", async () => {
  const { a, b, dispose } = await joinedPair();
  try {
    const file = join(a.home.path, ".zsh_history");
    const lines = Array.from(
      { length: 60_000 },
      (_, i) => `: ${1700000000 + i * 10}:0;git commit -m 'change ${i}' && make test-${i % 500}`,
    );
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    await importHistoryFile(a.vault, file);
    await a.push();
    assert.equal((await b.pull()).events.inserted, 60_000);
    const segments = () =>
      new Set(
        b.vault.db.all<{ s: number }>("SELECT DISTINCT segid AS s FROM commands_fts_idx")
          .map((r) => r.s),
      );
    const [big, ...others] = segments();
    assert.deepEqual(others, [], "the pull left the index in pieces for recording to merge");
    for (let i = 0; i < 40; i++) b.record(`make target-${i}`);
    assert.ok(segments().has(big!), "a record merged the pulled segment");
    assert.deepEqual(b.commands().filter((c) => c.includes("'change 123'")), [
      "git commit -m 'change 123' && make test-123",
    ]);
  } finally {
    await dispose();
  }
});
