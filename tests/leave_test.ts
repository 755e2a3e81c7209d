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
