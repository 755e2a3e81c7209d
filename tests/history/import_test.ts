import assert from "node:assert/strict";
import { join } from "node:path";
import { importHistoryFile } from "../../src/history/import_file.ts";
import { recordEvent } from "../../src/history/record.ts";
import { countEvents, findEvents } from "../../src/vault/events.ts";
import { forget } from "../../src/vault/tombstones.ts";
import { Vault } from "../../src/vault/vault.ts";
import type { HxError } from "../../src/errors.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "hx-import-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const zshLines = (from: number, to: number) =>
  Array.from(
    { length: to - from },
    (_, i) => `: ${1700000000 + (from + i) * 10}:0;cmd number ${from + i}`,
  );

Deno.test("re-importing the same file adds nothing", () =>
  withDir(async (dir) => {
    const vault = Vault.open(":memory:");
    const file = join(dir, ".zsh_history");
    await Deno.writeTextFile(file, zshLines(0, 50).join("\n") + "\n");
    const first = await importHistoryFile(vault, file);
    assert.equal(first.shell, "zsh");
    assert.equal(first.inserted, 50);
    const again = await importHistoryFile(vault, file);
    assert.deepEqual([again.inserted, again.duplicate], [0, 50]);
    assert.equal(countEvents(vault.db), 50);
  }));

Deno.test("importing a backup, then the grown and front-trimmed current file stores each command once", () =>
  withDir(async (dir) => {
    const vault = Vault.open(":memory:");
    const backup = join(dir, "backup.zsh_history");
    const current = join(dir, ".zsh_history");
    await Deno.writeTextFile(backup, zshLines(0, 60).join("\n") + "\n");
    // HISTSIZE trimmed the first 20 lines, 30 new ones were added
    await Deno.writeTextFile(current, zshLines(20, 90).join("\n") + "\n");
    await importHistoryFile(vault, backup);
    const second = await importHistoryFile(vault, current);
    assert.equal(second.inserted, 30);
    assert.equal(countEvents(vault.db), 90);
  }));

Deno.test("identical commands in the same second are all kept, and still deduplicated on re-import", () =>
  withDir(async (dir) => {
    const vault = Vault.open(":memory:");
    const file = join(dir, "h.zsh");
    await Deno.writeTextFile(file, ": 1700000000:0;ls\n: 1700000000:0;ls\n: 1700000000:0;ls\n");
    assert.equal((await importHistoryFile(vault, file)).inserted, 3);
    assert.equal((await importHistoryFile(vault, file)).inserted, 0);
  }));

Deno.test("bash history without timestamps: a grown file adds only the new commands", () =>
  withDir(async (dir) => {
    const vault = Vault.open(":memory:");
    const file = join(dir, ".bash_history");
    // Undated commands are placed just before the file's modification time.
    await Deno.writeTextFile(file, "ls\ncd /tmp\nls\n");
    await Deno.utime(file, 1_700_000_000, 1_700_000_000);
    assert.equal((await importHistoryFile(vault, file)).inserted, 3);
    await Deno.writeTextFile(file, "ls\ncd /tmp\nls\nmake\nls\n");
    await Deno.utime(file, 1_700_000_600, 1_700_000_600); // grown ten minutes later
    const grown = await importHistoryFile(vault, file);
    assert.equal(grown.inserted, 2);
    const cmds = findEvents(vault.db, { oldestFirst: true }).map((e) => e.cmd);
    assert.deepEqual(cmds, ["ls", "cd /tmp", "ls", "make", "ls"]);
  }));

Deno.test("fish and bash files are detected by content when the name does not tell", () =>
  withDir(async (dir) => {
    const vault = Vault.open(":memory:");
    const fish = join(dir, "one");
    const bash = join(dir, "two");
    await Deno.writeTextFile(fish, "- cmd: echo fish\n  when: 1700000000\n");
    await Deno.writeTextFile(bash, "#1700000000\necho bash\n");
    assert.equal((await importHistoryFile(vault, fish)).shell, "fish");
    assert.equal((await importHistoryFile(vault, bash)).shell, "bash");
    assert.equal(countEvents(vault.db), 2);
  }));

Deno.test("a plain zsh history is read as zsh by its usual names and by its metafied bytes", () =>
  withDir(async (dir) => {
    // "echo é" as zsh writes it (é = c3 a9, both above 0x7f: 0x83 then byte ^ 0x20), and a
    // two-line command continued with a backslash.
    const zsh = new Uint8Array([
      ...new TextEncoder().encode("echo "),
      0x83,
      0xc3 ^ 0x20,
      0x83,
      0xa9 ^ 0x20,
      ...new TextEncoder().encode("\nfor f in a b; do\\\necho $f\\\ndone\n"),
    ]);
    for (const name of [".histfile", ".zhistory", "history-backup"]) {
      const vault = Vault.open(":memory:");
      const file = join(dir, name);
      await Deno.writeFile(file, zsh);
      const result = await importHistoryFile(vault, file);
      assert.equal(result.shell, "zsh", name);
      assert.deepEqual(
        findEvents(vault.db, { limit: 10, oldestFirst: true }).map((e) => e.cmd),
        ["echo é", "for f in a b; do\necho $f\ndone"],
        name,
      );
    }
  }));

Deno.test("a binary file is refused with invalid_input and imports nothing", () =>
  withDir(async (dir) => {
    const vault = Vault.open(":memory:");
    const file = join(dir, "a.out");
    const bytes = new Uint8Array(200_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
    await Deno.writeFile(file, bytes);
    await assert.rejects(importHistoryFile(vault, file), (e: HxError) => {
      assert.equal(e.category, "invalid_input");
      assert.match(e.message, /binary file/);
      return true;
    });
    assert.equal(countEvents(vault.db), 0);
  }));

Deno.test("importing history that was forgotten does not bring it back", () =>
  withDir(async (dir) => {
    let now = 1700000000_000 + 1000 * 10_000;
    const vault = Vault.open(":memory:", { now: () => now });
    const file = join(dir, ".zsh_history");
    await Deno.writeTextFile(file, zshLines(0, 10).join("\n") + "\n");
    await importHistoryFile(vault, file);
    forget(vault, { start: 1700000000_000 + 50_000, end: 1700000000_000 + 200_000 });
    assert.equal(countEvents(vault.db), 5);
    now += 1000;
    const again = await importHistoryFile(vault, file);
    assert.deepEqual([again.inserted, again.covered], [0, 5]);
    assert.equal(findEvents(vault.db, { text: "number 7" }).length, 0);
  }));

Deno.test("importing a missing file fails with not_found", async () => {
  const vault = Vault.open(":memory:");
  await assert.rejects(
    importHistoryFile(vault, "/nonexistent/.zsh_history"),
    (e: HxError) => e.category === "not_found",
  );
});

/** How many segments the search index is in (each has entries in its b-tree table). */
const searchSegments = (vault: Vault) =>
  new Set(
    vault.db.all<{ segid: number }>("SELECT DISTINCT segid FROM commands_fts_idx").map((r) =>
      r.segid
    ),
  );

Deno.test("a large import leaves the search index in one segment, which recording afterwards never rewrites", () =>
  withDir(async (dir) => {
    const vault = Vault.open(join(dir, "hx.db"));
    try {
      const file = join(dir, ".zsh_history");
      const lines = Array.from(
        { length: 60_000 },
        (_, i) => `: ${1700000000 + i * 10}:0;git commit -m 'change ${i}' && make test-${i % 500}`,
      );
      await Deno.writeTextFile(file, lines.join("\n") + "\n");
      assert.equal((await importHistoryFile(vault, file)).inserted, 60_000);
      const [big, ...others] = searchSegments(vault);
      assert.deepEqual(others, [], "the import left the index in pieces for recording to merge");
      for (let i = 0; i < 40; i++) {
        recordEvent(vault, { cmd: `make target-${i}`, session_id: "s", started_at: 1e12 + i });
      }
      assert.ok(searchSegments(vault).has(big!), "a record merged the imported segment");
      const found = findEvents(vault.db, { text: "'change 59999'" }).map((e) => e.cmd);
      assert.deepEqual(found, ["git commit -m 'change 59999' && make test-499"]);
    } finally {
      vault.close();
    }
  }));
