import assert from "node:assert/strict";
import { join } from "node:path";
import { Hx } from "../src/hx.ts";
import { segmentKey } from "../src/object/keys.ts";
import { Vault } from "../src/vault/vault.ts";
import type { HxError } from "../src/errors.ts";

/** A device with its own data directory and an injectable clock. */
async function device(name: string, clock: { now: number }) {
  const home = await Deno.makeTempDir({ prefix: `hx-${name}-` });
  const hx = Hx.open({ home, host: name, now: () => clock.now, storeOptions: { retry: false } });
  return {
    hx,
    home,
    dispose: async () => {
      hx.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

let seq = 0;
function command(hx: Hx, cmd: string, at: number, exit = 0, session = "s-1") {
  return hx.recordFromShell({
    cmd,
    session_id: session,
    seq: ++seq,
    started_at: at - 50,
    ended_at: at,
    exit_code: exit,
    cwd: "/w",
  });
}

async function tempStore(): Promise<{ uri: string; path: string }> {
  const path = await Deno.makeTempDir({ prefix: "hx-store-" });
  return { uri: `folder:${path}`, path };
}

Deno.test("auto-sync after recording converges two devices with no explicit sync", async () => {
  const clock = { now: Date.UTC(2026, 10, 22, 9) };
  const store = await tempStore();
  const a = await device("a", clock);
  const b = await device("b", clock);
  try {
    await a.hx.syncInit({ store: store.uri });
    await b.hx.syncJoin({ store: store.uri, key: await a.hx.exportKey() });
    // a's first record: nothing synced yet, so a sync is due at once
    assert.deepEqual(await command(a.hx, "make build", clock.now), {
      recorded: true,
      sync: "synced",
    });
    clock.now += 1000;
    assert.deepEqual(await command(b.hx, "cargo test", clock.now, 101, "s-2"), {
      recorded: true,
      sync: "synced",
    });
    assert.deepEqual(b.hx.find().map((e) => e.cmd).sort(), ["cargo test", "make build"]);
    // within the interval, recording does not sync
    clock.now += 60_000;
    assert.equal((await command(a.hx, "make test", clock.now)).sync, "not_due");
    assert.deepEqual(a.hx.find().map((e) => e.cmd).sort(), ["make build", "make test"]);
    // once the interval has passed, the next record syncs, and the devices agree
    clock.now += 10 * 60_000;
    assert.equal((await command(a.hx, "git push", clock.now)).sync, "synced");
    clock.now += 10 * 60_000 + 1000;
    assert.equal((await command(b.hx, "ls", clock.now, 0, "s-2")).sync, "synced");
    const want = ["cargo test", "git push", "ls", "make build", "make test"];
    assert.deepEqual(b.hx.find().map((e) => e.cmd).sort(), want);
    clock.now += 10 * 60_000 + 1000;
    await command(a.hx, "pwd", clock.now);
    assert.deepEqual(a.hx.find().map((e) => e.cmd).sort(), [...want, "pwd"].sort());
    assert.equal((await a.hx.digest()).events, 6);
  } finally {
    await a.dispose();
    await b.dispose();
    await Deno.remove(store.path, { recursive: true });
  }
});

Deno.test("failed auto-syncs back off exponentially and show in status; success resets", async () => {
  const clock = { now: Date.UTC(2026, 10, 22, 9) };
  const store = await tempStore();
  const a = await device("a", clock);
  try {
    await a.hx.syncInit({ store: store.uri });
    await Deno.rename(store.path, `${store.path}-unmounted`); // the drive went away
    assert.equal((await command(a.hx, "one", clock.now)).sync, "failed");
    let status = await a.hx.status();
    assert.equal(status.auto_sync.failures, 1);
    assert.equal(status.auto_sync.next_at, clock.now + 60_000);
    assert.equal(status.last_error?.category, "not_found");
    clock.now += 30_000;
    assert.equal((await command(a.hx, "two", clock.now)).sync, "not_due");
    clock.now += 31_000;
    assert.equal((await command(a.hx, "three", clock.now)).sync, "failed");
    status = await a.hx.status();
    assert.equal(status.auto_sync.failures, 2);
    assert.equal(status.auto_sync.next_at, clock.now + 120_000);
    await Deno.rename(`${store.path}-unmounted`, store.path); // back
    clock.now += 121_000;
    assert.equal((await command(a.hx, "four", clock.now)).sync, "synced");
    status = await a.hx.status();
    assert.equal(status.auto_sync.failures, 0);
    assert.equal(status.auto_sync.next_at, clock.now + status.auto_sync.interval_minutes * 60_000);
    assert.equal(status.pending.events, 0);
  } finally {
    await a.dispose();
    await Deno.remove(store.path, { recursive: true }).catch(() => {});
  }
});

Deno.test("pause stops recording, for a while or until resume", async () => {
  const clock = { now: Date.UTC(2026, 10, 22, 9) };
  const a = await device("a", clock);
  try {
    await a.hx.pause(clock.now + 60_000);
    assert.equal((await command(a.hx, "secret stuff", clock.now)).recorded, false);
    clock.now += 61_000;
    assert.equal((await command(a.hx, "after the pause", clock.now)).recorded, true);
    await a.hx.pause();
    clock.now += 10 * 86_400_000;
    assert.equal((await command(a.hx, "still paused", clock.now)).recorded, false);
    assert.notEqual((await a.hx.status()).paused_until, null);
    await a.hx.resume();
    assert.equal((await command(a.hx, "resumed", clock.now)).recorded, true);
    assert.deepEqual(a.hx.find().map((e) => e.cmd).sort(), ["after the pause", "resumed"]);
  } finally {
    await a.dispose();
  }
});

Deno.test("hx last shows the latest other session with each failure in context; pins sync and stay", async () => {
  const clock = { now: Date.UTC(2026, 10, 22, 9) };
  const store = await tempStore();
  const a = await device("a", clock);
  const b = await device("b", clock);
  try {
    await a.hx.syncInit({ store: store.uri });
    await b.hx.syncJoin({ store: store.uri, key: await a.hx.exportKey() });
    const steps: [string, number][] = [
      ["cd app", 0],
      ["make", 2],
      ["vim Makefile", 0],
      ["make", 0],
      ["make test", 1],
    ];
    for (const [cmd, exit] of steps) {
      await command(a.hx, cmd, clock.now += 1000, exit, "deploy-session");
    }
    await command(a.hx, "hx last", clock.now += 1000, 0, "current-shell");
    const view = a.hx.last({ except: "current-shell" });
    assert.equal(view.session_id, "deploy-session");
    assert.deepEqual(view.events.map((e) => e.cmd), steps.map(([c]) => c));
    assert.deepEqual(
      view.failures.map((f) => [f.before?.cmd ?? null, f.failed.cmd, f.after?.cmd ?? null]),
      [["cd app", "make", "vim Makefile"], ["make", "make test", null]],
    );
    assert.equal(a.hx.pin("deploy-session"), true);
    assert.equal(a.hx.pin("deploy-session"), false);
    await assert.rejects(
      Promise.resolve().then(() => a.hx.pin("no-such-session")),
      (e: HxError) => e.category === "not_found",
    );
    await a.hx.push();
    await b.hx.pull();
    assert.equal(b.hx.last({ sessionId: "deploy-session" }).pinned, true);
    assert.deepEqual(b.hx.pins().map((p) => [p.session_id, p.commands]), [["deploy-session", 5]]);
    // pinned on a: pinning it on b changes nothing
    assert.equal(b.hx.pin("deploy-session"), false);
  } finally {
    await a.dispose();
    await b.dispose();
    await Deno.remove(store.path, { recursive: true });
  }
});

Deno.test("an unpin on one device unpins everywhere, even from a clock behind, and a device joining later agrees", async () => {
  const clock = { now: Date.UTC(2026, 10, 22, 9) };
  const behind = { now: clock.now - 3_600_000 }; // b's clock is an hour slow
  const store = await tempStore();
  const a = await device("a", clock);
  const b = await device("b", behind);
  const c = await device("c", clock);
  try {
    await a.hx.syncInit({ store: store.uri });
    const key = await a.hx.exportKey();
    await b.hx.syncJoin({ store: store.uri, key });
    await command(a.hx, "make deploy", clock.now += 1000, 0, "deploy");
    assert.equal(a.hx.pin("deploy"), true);
    await a.hx.push();
    await b.hx.pull();
    assert.equal(b.hx.last({ sessionId: "deploy" }).pinned, true);

    // b unpins it an hour "before" a pinned it, by its own clock: it still wins
    assert.equal(b.hx.unpin("deploy"), true);
    assert.equal(b.hx.unpin("deploy"), false, "unpinning twice changes nothing");
    assert.deepEqual(b.hx.pins(), []);
    await b.hx.push();
    await a.hx.pull();
    assert.equal(a.hx.last({ sessionId: "deploy" }).pinned, false);
    assert.deepEqual(a.hx.pins(), []);

    // a pins it again; c joins afterwards and reads every segment: a's pin, b's unpin, a's pin
    clock.now += 1000;
    assert.equal(a.hx.pin("deploy"), true);
    await a.hx.push();
    await c.hx.syncJoin({ store: store.uri, key });
    await c.hx.pull();
    assert.deepEqual(c.hx.pins().map((p) => [p.session_id, p.pinned_by]), [["deploy", [
      a.hx.nodeId,
    ]]]);
    await b.hx.pull();
    assert.equal(b.hx.last({ sessionId: "deploy" }).pinned, true);
    await assert.rejects(
      Promise.resolve().then(() => a.hx.unpin("no-such-session")),
      (e: HxError) => e.category === "not_found",
    );
  } finally {
    await a.dispose();
    await b.dispose();
    await c.dispose();
    await Deno.remove(store.path, { recursive: true });
  }
});

Deno.test("hx sync verify finds a tampered object, a missing one and a stray; digests match across devices", async () => {
  const clock = { now: Date.UTC(2026, 10, 22, 9) };
  const store = await tempStore();
  const a = await device("a", clock);
  const b = await device("b", clock);
  try {
    await a.hx.syncInit({ store: store.uri });
    await b.hx.syncJoin({ store: store.uri, key: await a.hx.exportKey() });
    for (let i = 0; i < 6; i++) await command(a.hx, `cmd ${i}`, clock.now += 1000);
    const file = join(store.path, "attached.txt");
    await Deno.writeTextFile(file, "an artifact");
    await a.hx.attach(file);
    await a.hx.push({ maxSegmentEvents: 2 });
    await b.hx.pull();
    assert.equal((await a.hx.digest()).digest, (await b.hx.digest()).digest);
    assert.equal((await b.hx.digest()).events, 6);
    let report = await b.hx.verify();
    assert.deepEqual(report.problems, []);
    // the first record auto-synced its command into a segment of its own; then 5 + 1 in 3
    assert.deepEqual(report.by_kind, { vault: 1, manifest: 1, segment: 4, blob: 1 });
    // tamper one segment, remove another, drop a stray file in the objects folder
    const vault = JSON.parse(await Deno.readTextFile(join(a.home, "sync.json"))).vault_id;
    const index = Vault.open(join(a.home, "hx.db"));
    const segs = index.db.all<{ segment_id: string }>(
      "SELECT segment_id FROM segments ORDER BY segment_id",
    );
    index.close();
    const seg0 = join(store.path, segmentKey(vault, a.hx.nodeId, segs[0]!.segment_id));
    const bytes = await Deno.readFile(seg0);
    bytes[bytes.length - 4]! ^= 1;
    await Deno.writeFile(seg0, bytes);
    await Deno.remove(join(store.path, segmentKey(vault, a.hx.nodeId, segs[1]!.segment_id)));
    await Deno.writeTextFile(join(store.path, "vaults", vault, "objects", "stray.bin"), "?");
    report = await b.hx.verify();
    assert.deepEqual(
      report.problems.map((p) => `${p.kind}:${p.category}`).sort(),
      ["segment:hash_mismatch", "segment:not_found", "unknown:corrupt"],
    );
    // a device that lost events has another digest
    await b.hx.forget({ start: clock.now - 2500, end: clock.now - 1500 });
    assert.notEqual((await a.hx.digest()).digest, (await b.hx.digest()).digest);
  } finally {
    await a.dispose();
    await b.dispose();
    await Deno.remove(store.path, { recursive: true });
  }
});
