// Compaction: a device rewrites its own small segments into packs from its index, lists the
// packs instead, and deletes what they replaced once every device has seen that (or has been
// silent for 30 days). Checked on a real folder store: the files that are there, the
// requests a joining device makes, what each device ends up holding.

import assert from "node:assert/strict";
import { join } from "node:path";
import { attachFile } from "../../src/history/artifacts.ts";
import { segmentKey } from "../../src/object/keys.ts";
import { listQuarantine } from "../../src/vault/quarantine.ts";
import { type Device, joinedPair } from "./device.ts";
import { Device as Dev } from "./device.ts";

/** The files of one node's segments on the folder store. */
async function segmentFiles(storePath: string, d: Device): Promise<string[]> {
  const ctx = await d.context();
  const dir = join(storePath, segmentKey(ctx.vaultId, d.vault.nodeId, "x")).replace(
    /x\.hxseg$/,
    "",
  );
  await ctx.store.close?.();
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** `n` pushes of one command each. */
async function pushes(d: Device, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    d.record(`${d.name} cmd ${i}`);
    await d.push();
  }
}

function sortedCommands(d: Device): string[] {
  return d.commands().sort();
}

Deno.test("a push packs a device's many small segments: the manifest lists a pack, a new device fetches it alone", async () => {
  const pair = await joinedPair();
  const { a, store } = pair;
  try {
    await pushes(a, 65); // 65 segments listed: one more than a manifest keeps loose
    assert.equal((await segmentFiles(store.path, a)).length, 65);
    a.record("a cmd 65");
    const result = await a.push();
    assert.equal(result.compaction.packs, 1);
    assert.equal(result.compaction.replaced, 65);
    const manifest = a.vault.db.all<{ first_no: number; last_no: number }>(
      `SELECT first_no, last_no FROM declared WHERE node_id = ? ORDER BY first_no`,
      a.vault.nodeId,
    ).map((r) => ({ ...r }));
    assert.deepEqual(manifest, [{ first_no: 1, last_no: 65 }, { first_no: 66, last_no: 66 }]);

    // A device joining now reads one manifest per node and two objects of a, not 66.
    const c = await Dev.create("c", pair.clock);
    try {
      await c.join(store.uri, pair.key);
      const pulled = await c.pull();
      assert.equal(pulled.segments.imported, 2);
      assert.equal(pulled.events.inserted, 66);
      assert.deepEqual(sortedCommands(c), sortedCommands(a));
    } finally {
      await c.dispose();
    }
  } finally {
    await pair.dispose();
  }
});

Deno.test("a device that imported the segments records their pack without fetching it", async () => {
  const pair = await joinedPair();
  const { a, b } = pair;
  try {
    await pushes(a, 10);
    await b.pull();
    const packed = await a.push({ compact: true });
    assert.equal(packed.compaction.packs, 1);
    const pulled = await b.pull();
    assert.equal(pulled.segments.covered, 1);
    assert.equal(pulled.segments.imported, 0);
    assert.equal(pulled.requests.get ?? 0, 1, "only a's manifest is read");
    assert.deepEqual(sortedCommands(b), sortedCommands(a));
  } finally {
    await pair.dispose();
  }
});

Deno.test("replaced segments are deleted once every device has seen the pack, not before", async () => {
  const pair = await joinedPair();
  const { a, b, store } = pair;
  try {
    await pushes(a, 5);
    await b.pull();
    b.record("b was here");
    await b.push(); // b's manifest: it has seen a's segments, not the pack
    const packed = await a.push({ compact: true });
    assert.equal(packed.compaction.replaced, 5);
    assert.equal((await segmentFiles(store.path, a)).length, 6, "pack uploaded, nothing deleted");

    await a.pull();
    let again = await a.push();
    assert.equal(again.compaction.deleted.objects, 0, "b has not seen the pack yet");
    assert.equal(again.compaction.deleted.waiting, 5);

    await b.pull();
    // b has nothing new, but a waits for it: b's manifest now says it has seen the pack.
    assert.ok((await b.push()).manifest_seq !== null);
    await a.pull();
    again = await a.push();
    assert.equal(again.compaction.deleted.objects, 5);
    assert.equal(again.compaction.deleted.waiting, 0);
    assert.equal((await segmentFiles(store.path, a)).length, 1);
    assert.equal(b.commands().filter((c) => c.startsWith("a ")).length, 5);
    assert.equal(a.commands().filter((c) => c.startsWith("a ")).length, 5);
  } finally {
    await pair.dispose();
  }
});

Deno.test("a device silent for 30 days no longer holds deletion back", async () => {
  const pair = await joinedPair();
  const { a, b, store, clock } = pair;
  try {
    await pushes(a, 4);
    await b.pull();
    b.record("b was here");
    await b.push();
    await a.pull();
    await a.push({ compact: true });
    clock.tick(29 * 86_400_000);
    await a.pull();
    assert.equal((await a.push()).compaction.deleted.objects, 0);
    clock.tick(2 * 86_400_000);
    assert.equal((await a.push()).compaction.deleted.objects, 4);
    assert.equal((await segmentFiles(store.path, a)).length, 1);
    // b, back after a month, reads the new manifest and needs nothing it lacks.
    const pulled = await b.pull();
    assert.equal(pulled.segments.covered, 1);
    assert.deepEqual(listQuarantine(b.vault.db), []);
    assert.deepEqual(sortedCommands(b), sortedCommands(a));
  } finally {
    await pair.dispose();
  }
});

Deno.test("a device that read an old manifest whose segments were deleted quarantines them, then recovers from the pack", async () => {
  const pair = await joinedPair();
  const { a, b, store } = pair;
  try {
    await pushes(a, 3);
    b.record("b was here");
    const ctx = await a.context();
    const manifestPath = join(
      store.path,
      `vaults/${ctx.vaultId}/objects/manifests/${a.vault.nodeId}.hxman`,
    );
    await ctx.store.close?.();
    const old = await Deno.readFile(manifestPath);
    await b.pull();
    await b.push();
    await a.push({ compact: true });
    await b.pull();
    await b.push();
    await a.pull();
    assert.equal((await a.push()).compaction.deleted.objects, 3);
    const current = await Deno.readFile(manifestPath);

    // A fresh device lists the store while a's old manifest is still there (a stale read).
    const c = await Dev.create("c", pair.clock);
    try {
      await c.join(store.uri, pair.key);
      await Deno.writeFile(manifestPath, old);
      const stale = await c.pull();
      assert.equal(stale.segments.failed, 3);
      assert.equal(stale.errors.not_found, 3);
      await Deno.writeFile(manifestPath, current);
      const fresh = await c.pull();
      assert.equal(fresh.segments.imported, 1);
      assert.equal(fresh.quarantined, 0);
      assert.deepEqual(sortedCommands(c), sortedCommands(a));
    } finally {
      await c.dispose();
    }
  } finally {
    await pair.dispose();
  }
});

Deno.test("a pack interrupted before its manifest is finished by the next push, with the same objects", async () => {
  const pair = await joinedPair();
  const { a, b, store } = pair;
  try {
    await pushes(a, 6);
    const controller = new AbortController();
    // Abort once the pack is uploaded, before the manifest: the upload progress says when.
    await assert.rejects(
      a.push({
        compact: true,
        signal: controller.signal,
        onProgress: (done, total) => {
          if (done === total) controller.abort();
        },
      }),
    );
    assert.equal((await segmentFiles(store.path, a)).length, 7);
    const finished = await a.push();
    assert.equal(finished.compaction.packs, 0, "the pack planned before is the one published");
    assert.ok(finished.manifest_seq !== null);
    assert.equal((await segmentFiles(store.path, a)).length, 7);
    await b.pull();
    assert.deepEqual(sortedCommands(b), sortedCommands(a));
    assert.equal(sortedCommands(b).length, 6);
  } finally {
    await pair.dispose();
  }
});

// Commands a person forgets (the secret filter would already redact a recognisable secret).
const SECRET = "ssh deploy@payroll-db-7731.internal";
const B_SECRET = "open ~/Documents/divorce-lawyer-letter.pdf";

Deno.test("after hx forget, compaction and a few syncs of every device, no object on the store decrypts to what was forgotten, and its attachment is deleted", async () => {
  const pair = await joinedPair();
  const { a, b, clock } = pair;
  const files = await Deno.makeTempDir();
  try {
    a.record("ls");
    const at = clock.tick();
    a.record(SECRET, { at });
    const path = join(files, "dump.sql");
    await Deno.writeTextFile(path, "credit cards\n".repeat(100));
    const artifact = await attachFile(a.vault, a.home.blobsDir, path);
    b.record(B_SECRET, { at });
    clock.tick();
    a.record("pwd");
    b.record("make");
    await a.push();
    await b.pull();
    await b.push();
    await a.pull();
    const leaks = async () =>
      (await a.storeContents()).filter((o) =>
        o.text !== null && (o.text.includes(SECRET) || o.text.includes(B_SECRET))
      ).map((o) => o.key);
    const blob = async () =>
      (await a.storeContents()).filter((o) => o.key.endsWith(".hxblob")).length;
    assert.equal((await leaks()).length, 2, "each device's segment holds its secret");
    assert.equal(await blob(), 1);
    assert.equal(artifact.created_at >= at, true);

    clock.tick();
    a.forget(at, artifact.created_at);
    const rounds: string[][] = [];
    for (let round = 0; round < 5; round++) {
      for (const d of [a, b]) {
        await d.push();
        await d.pull();
      }
      rounds.push(await leaks());
    }
    assert.deepEqual(rounds.at(-1), [], `leaks by round: ${JSON.stringify(rounds)}`);
    assert.equal(await blob(), 0, "the forgotten attachment's blob is deleted");
    for (const d of [a, b]) assert.deepEqual(sortedCommands(d), ["ls", "make", "pwd"]);
    // and what stays on the store is only what the manifests list (plus the manifests)
    const keys = (await a.storeContents()).map((o) => o.key).filter((k) => k.endsWith(".hxseg"));
    assert.equal(keys.length, 2);
  } finally {
    await pair.dispose();
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("a device reading a node's manifest for the first time says it has seen its packs, so deletion proceeds", async () => {
  const pair = await joinedPair();
  const { a, b } = pair;
  try {
    await pushes(a, 3);
    b.record("b was here");
    await b.push(); // b has never read a's manifest
    await a.pull();
    assert.equal((await a.push({ compact: true })).compaction.deleted.waiting, 3);
    await b.pull(); // first read of a: a pack
    assert.ok((await b.push()).manifest_seq !== null, "b's manifest says it has seen the pack");
    await a.pull();
    assert.equal((await a.push()).compaction.deleted.objects, 3);
  } finally {
    await pair.dispose();
  }
});
