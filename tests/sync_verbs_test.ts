// The sync verbs a person runs by hand: leaving a vault, compacting what this device published.

import assert from "node:assert/strict";
import { join } from "node:path";
import type { HxError } from "../src/errors.ts";
import { Hx } from "../src/hx.ts";
import { hx as hxCli } from "./_cli.ts";

/** A device with its own data directory and a clock that moves on by a second per command. */
async function device(name: string, clock: { now: number }) {
  const home = await Deno.makeTempDir({ prefix: `hx-leave-${name}-` });
  const hx = Hx.open({ home, host: name, now: () => clock.now, storeOptions: { retry: false } });
  let seq = 0;
  return {
    hx,
    home,
    record: (cmd: string) => {
      clock.now += 1000;
      hx.record({
        cmd,
        session_id: `${name}-s`,
        seq: ++seq,
        started_at: clock.now - 10,
        ended_at: clock.now,
        exit_code: 0,
      });
    },
    commands: () => hx.find({ limit: 0 }).map((e) => e.cmd).sort(),
    dispose: async () => {
      hx.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

Deno.test("hx sync leave pushes first, keeps history, removes the key; joining again (same vault or another) publishes it afresh", async () => {
  const clock = { now: Date.UTC(2026, 10, 22, 9) };
  const first = await Deno.makeTempDir({ prefix: "hx-leave-store1-" });
  const second = await Deno.makeTempDir({ prefix: "hx-leave-store2-" });
  const a = await device("a", clock);
  const b = await device("b", clock);
  const c = await device("c", clock);
  try {
    await a.hx.syncInit({ store: `folder:${first}` });
    const key1 = await a.hx.exportKey();
    await b.hx.syncJoin({ store: `folder:${first}`, key: key1 });
    a.record("a pushed");
    await a.hx.push();
    b.record("b pushed");
    await b.hx.push();
    await a.hx.pull();
    a.record("a not pushed yet");

    const left = await a.hx.syncLeave();
    assert.equal(left.push?.events, 1, "the unpushed command went out before leaving");
    assert.deepEqual([left.own_events, left.other_events], [2, 1]);
    assert.equal((await a.hx.status()).configured, false);
    const keys = await Array.fromAsync(Deno.readDir(join(a.home, "keys")));
    assert.deepEqual(keys, [], "the vault key is gone from this device");
    assert.deepEqual(a.commands(), ["a not pushed yet", "a pushed", "b pushed"]);
    await b.hx.pull();
    assert.deepEqual(b.commands(), ["a not pushed yet", "a pushed", "b pushed"]);
    await assert.rejects(a.hx.push(), (e: HxError) => e.code === "not_configured");

    // a new vault with c: a's own history is published there, b's is not a's to publish
    a.record("a after leaving");
    await c.hx.syncInit({ store: `folder:${second}` });
    await a.hx.syncJoin({ store: `folder:${second}`, key: await c.hx.exportKey() });
    await a.hx.push();
    await c.hx.pull();
    assert.deepEqual(c.commands(), ["a after leaving", "a not pushed yet", "a pushed"]);

    // back to the first vault: its manifest seq goes on from where it was, so b accepts it
    await a.hx.syncLeave();
    a.record("a back");
    await a.hx.syncJoin({ store: `folder:${first}`, key: key1 });
    await a.hx.sync();
    const pulled = await b.hx.pull();
    assert.equal(pulled.quarantined, 0);
    assert.equal(
      pulled.manifests.rollback,
      0,
      "a's new manifest is not taken for a rollback",
    );
    assert.deepEqual(b.commands(), [
      "a after leaving",
      "a back",
      "a not pushed yet",
      "a pushed",
      "b pushed",
    ]);
    assert.equal((await b.hx.status()).quarantine.total, 0);
  } finally {
    for (const d of [a, b, c]) await d.dispose();
    await Deno.remove(first, { recursive: true });
    await Deno.remove(second, { recursive: true });
  }
});

Deno.test("hx sync leave --no-push works without the key; leaving twice says the device is not set up", async () => {
  const root = await Deno.makeTempDir({ prefix: "hx-leave-cli-" });
  try {
    const home = join(root, "home");
    const store = join(root, "store");
    await Deno.mkdir(store);
    assert.equal((await hxCli(home, ["sync", "init", "--store", `folder:${store}`])).code, 0);
    await hxCli(home, ["record", "--session", "s", "--duration", "5"], { stdin: "make" });
    for (const f of await Array.fromAsync(Deno.readDir(join(home, "keys")))) {
      await Deno.remove(join(home, "keys", f.name));
    }
    const pushing = await hxCli(home, ["sync", "leave"]);
    assert.equal(pushing.code, 1);
    assert.match(pushing.stderr, /^hx: auth: .*key is missing/);
    const left = await hxCli(home, ["sync", "leave", "--no-push"]);
    assert.equal(left.code, 0, left.stderr);
    assert.match(left.stdout, /^Left vault [0-9a-f-]+: this device no longer syncs/);
    assert.match(left.stdout, /History kept here: 1 command from this device, 0 commands/);
    const again = await hxCli(home, ["sync", "leave"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^hx: precondition: Cannot leave: this device is not set up/);
    assert.equal(JSON.parse((await hxCli(home, ["find", "--json"])).stdout).length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("hx sync compact packs this device's segments, says what waits, and deletes them at the next compact", async () => {
  const clock = { now: Date.UTC(2026, 10, 22, 9) };
  const store = await Deno.makeTempDir({ prefix: "hx-compact-store-" });
  const a = await device("a", clock);
  try {
    await a.hx.syncInit({ store: `folder:${store}` });
    for (const cmd of ["one", "two", "three"]) {
      a.record(cmd);
      await a.hx.push();
    }
    a.hx.close(); // the CLI is another process
    const first = await hxCli(a.home, ["sync", "compact", "--json"]);
    assert.equal(first.code, 0, first.stderr);
    const packed = JSON.parse(first.stdout).push.compaction;
    assert.deepEqual(packed, {
      packs: 1,
      replaced: 3,
      deleted: { objects: 0, blobs: 0, waiting: 3, failed: 0 },
    });
    const second = await hxCli(a.home, ["sync", "compact"]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, "Nothing to pack.\nDeleted 3 objects from the store.\n");
    const b = await device("b", clock);
    try {
      await b.hx.syncJoin({ store: `folder:${store}`, key: await exportKeyOf(a.home) });
      const pulled = await b.hx.pull();
      assert.equal(pulled.segments.imported, 1);
      assert.deepEqual(b.commands(), ["one", "three", "two"]);
    } finally {
      await b.dispose();
    }
  } finally {
    await a.dispose().catch(() => {});
    await Deno.remove(store, { recursive: true });
  }
});

async function exportKeyOf(home: string): Promise<string> {
  const hx = Hx.open({ home });
  try {
    return await hx.exportKey();
  } finally {
    hx.close();
  }
}

Deno.test("hx sync join --since fetches only recent history, status says what stays on the store, pull --all fetches it", async () => {
  const day = 86_400_000;
  const clock = { now: Date.now() - 200 * day };
  const store = await Deno.makeTempDir({ prefix: "hx-since-store-" });
  const a = await device("a", clock);
  const home = await Deno.makeTempDir({ prefix: "hx-since-c-" });
  try {
    await a.hx.syncInit({ store: `folder:${store}` });
    a.record("from last spring");
    await a.hx.push();
    clock.now = Date.now() - 100 * day;
    a.record("from the summer");
    await a.hx.push();
    clock.now = Date.now() - day;
    a.record("from yesterday");
    await a.hx.push();
    const key = await a.hx.exportKey();

    const join = await hxCli(home, [
      "sync",
      "join",
      "--store",
      `folder:${store}`,
      "--key",
      "-",
      "--since",
      "90d",
    ], { stdin: key });
    assert.equal(join.code, 0, join.stderr);
    const pulled = JSON.parse((await hxCli(home, ["sync", "pull", "--json"])).stdout);
    assert.equal(pulled.events.inserted, 1);
    assert.deepEqual(pulled.not_local, { objects: 2, events: 2 });
    const status = await hxCli(home, ["sync", "status"]);
    assert.match(
      status.stdout,
      /not local +history before \d{4}-\d\d-\d\d: 2 commands in 2 objects/,
    );
    const find = await hxCli(home, ["find", "--cmd-only"]);
    assert.equal(find.stdout, "from yesterday\n");

    const all = JSON.parse((await hxCli(home, ["sync", "pull", "--all", "--json"])).stdout);
    assert.equal(all.events.inserted, 2);
    assert.deepEqual(all.not_local, { objects: 0, events: 0 });
    const statusJson = JSON.parse((await hxCli(home, ["sync", "status", "--json"])).stdout);
    assert.equal(statusJson.not_local, null);
    const everything = await hxCli(home, ["find", "--cmd-only"]);
    assert.equal(everything.stdout, "from last spring\nfrom the summer\nfrom yesterday\n");
  } finally {
    await a.dispose();
    await Deno.remove(store, { recursive: true });
    await Deno.remove(home, { recursive: true });
  }
});
