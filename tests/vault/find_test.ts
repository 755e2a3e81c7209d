import assert from "node:assert/strict";
import { findEvents, insertEvents } from "../../src/vault/events.ts";
import { Vault } from "../../src/vault/vault.ts";
import type { EventRecord } from "../../src/object/payloads.ts";

function event(
  vault: Vault,
  seq: number,
  cmd: string,
  extra: Partial<EventRecord> = {},
): EventRecord {
  return {
    node_id: vault.nodeId,
    session_id: "s1",
    seq,
    started_at: 1_000_000 + seq * 1000,
    ended_at: null,
    duration_ms: null,
    exit_code: 0,
    cwd: "/home/a",
    cmd,
    host: "h1",
    ...extra,
  };
}

Deno.test("findEvents() matches substrings case-insensitively, short and long, newest first", () => {
  const vault = Vault.open(":memory:");
  insertEvents(vault.db, [
    event(vault, 1, "git status"),
    event(vault, 2, "docker ps -a"),
    event(vault, 3, "GIT log --oneline"),
    event(vault, 4, "echo 100% done"),
  ], { origin: "here" });
  assert.deepEqual(findEvents(vault.db, { text: "git" }).map((e) => e.seq), [3, 1]);
  assert.deepEqual(findEvents(vault.db, { text: "ps" }).map((e) => e.seq), [2]);
  assert.deepEqual(findEvents(vault.db, { text: "0%" }).map((e) => e.seq), [4]);
  assert.deepEqual(findEvents(vault.db, { text: '"' }).map((e) => e.seq), []);
  assert.deepEqual(findEvents(vault.db, { text: "it st" }).map((e) => e.seq), [1]);
  assert.deepEqual(findEvents(vault.db, { limit: 2 }).map((e) => e.seq), [4, 3]);
});

Deno.test("findEvents() filters by cwd, exit code, failure, time, host and session", () => {
  const vault = Vault.open(":memory:");
  insertEvents(vault.db, [
    event(vault, 1, "make", { exit_code: 2, cwd: "/src" }),
    event(vault, 2, "make", { exit_code: 0, cwd: "/src", host: "h2" }),
    event(vault, 3, "ls", { exit_code: 1, session_id: "s2" }),
  ], { origin: "here" });
  assert.deepEqual(findEvents(vault.db, { cwd: "/src" }).map((e) => e.seq), [2, 1]);
  assert.deepEqual(findEvents(vault.db, { failed: true }).map((e) => e.seq), [3, 1]);
  assert.deepEqual(findEvents(vault.db, { exit: 2 }).map((e) => e.seq), [1]);
  assert.deepEqual(findEvents(vault.db, { host: "h2" }).map((e) => e.seq), [2]);
  assert.deepEqual(findEvents(vault.db, { session: "s2" }).map((e) => e.seq), [3]);
  assert.deepEqual(findEvents(vault.db, { since: 1_002_000, until: 1_002_000 }).map((e) => e.seq), [
    2,
  ]);
});

Deno.test("processes opening a new index at the same time all succeed, with one node id", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/hx.db`;
    const code = `import { Vault } from "${
      new URL("../../src/vault/vault.ts", import.meta.url).href
    }";
      const v = Vault.open(${JSON.stringify(path)}); console.log(v.nodeId); v.close();`;
    const runs = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Deno.Command(Deno.execPath(), {
            args: ["eval", code],
            stdout: "piped",
            stderr: "piped",
          }).output(),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const ids = new Set(runs.map((r) => new TextDecoder().decode(r.stdout).trim()));
    assert.equal(ids.size, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a text met only in a duplicate leaves the search index whole", () => {
  const vault = Vault.open(":memory:");
  insertEvents(vault.db, [event(vault, 1, "git status"), event(vault, 2, "ls")], {
    origin: "here",
  });
  // the same identities again with other texts (a forged or re-imported copy): both are
  // duplicates, so their texts are created, then dropped with no run
  const copy = [event(vault, 1, "git stash"), event(vault, 2, "git statuses")];
  assert.deepEqual(insertEvents(vault.db, copy, { origin: "here" }).duplicate, 2);
  assert.deepEqual(findEvents(vault.db, { text: "git st" }).map((e) => e.cmd), ["git status"]);
  assert.deepEqual(findEvents(vault.db, { text: "status" }).map((e) => e.cmd), ["git status"]);
  assert.equal(
    vault.db.get<{ n: number }>("SELECT count(*) AS n FROM commands WHERE runs = 0")!.n,
    0,
  );
  vault.db.exec("INSERT INTO commands_fts (commands_fts, rank) VALUES ('integrity-check', 1)");
  vault.close();
});
