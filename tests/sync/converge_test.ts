import assert from "node:assert/strict";
import { join } from "node:path";
import { importHistoryFile } from "../../src/history/import_file.ts";
import { Device, joinedPair } from "./device.ts";

Deno.test("two devices that recorded offline converge after push/pull in every order, with no duplicates", async () => {
  const orders = [
    ["a.push", "b.push", "a.pull", "b.pull"],
    ["a.push", "a.pull", "b.push", "b.pull", "a.pull"],
    ["b.push", "a.pull", "a.push", "b.pull"],
    ["a.pull", "b.pull", "a.push", "b.push", "b.pull", "a.pull"],
  ];
  for (const order of orders) {
    const pair = await joinedPair();
    const { a, b } = pair;
    try {
      for (let i = 0; i < 5; i++) a.record(`a-cmd ${i}`);
      for (let i = 0; i < 7; i++) b.record(`b-cmd ${i}`);
      for (const step of order) {
        const [who, op] = step.split(".") as ["a" | "b", "push" | "pull"];
        await ({ a, b })[who][op]();
      }
      // whatever the order, one more round completes it
      await a.push();
      await b.push();
      await a.pull();
      await b.pull();
      assert.equal(a.state().length, 12, order.join(","));
      assert.deepEqual(a.state(), b.state(), order.join(","));
      // and more rounds change nothing
      await a.pull();
      await b.push();
      assert.deepEqual(a.state(), b.state());
      assert.equal(b.state().length, 12);
    } finally {
      await pair.dispose();
    }
  }
});

Deno.test("a third device joining later gets the same state, and deleting its index rebuilds it", async () => {
  const pair = await joinedPair();
  const { store, a, b, key } = pair;
  const c = await Device.create("c", pair.clock);
  try {
    a.record("make build");
    b.record("cargo test");
    await a.push();
    await b.push();
    await a.pull();
    await c.join(store.uri, key);
    await c.pull();
    assert.deepEqual(c.state(), a.state());
    assert.equal(c.state().length, 2);
    const before = c.state();
    await c.resetIndex();
    assert.deepEqual(c.state(), []);
    await c.pull();
    assert.deepEqual(c.state(), before);
  } finally {
    await c.dispose();
    await pair.dispose();
  }
});

Deno.test("forget on one device removes the window everywhere, and later pushes cannot bring it back", async () => {
  const pair = await joinedPair();
  const { store, clock, a, b, key } = pair;
  try {
    const t0 = clock.now;
    a.record("export SECRET=1");
    b.record("echo secret-on-b");
    const t1 = clock.tick();
    a.record("after");
    await a.push();
    await b.push();
    await a.pull();
    await b.pull();
    assert.equal(a.state().length, 3);
    // b recorded more inside the window, offline, before hearing of the tombstone
    b.record("late secret", { at: t0 + 500 });
    a.forget(t0, t1 - 1);
    assert.deepEqual(a.commands(), ["after"]);
    await b.push(); // pushes the late event before pulling the tombstone
    await a.push();
    await b.pull();
    await a.pull();
    assert.deepEqual(a.commands(), ["after"]);
    assert.deepEqual(b.commands(), ["after"]);
    // a fresh device gets the same
    const c = await Device.create("c", clock);
    try {
      await c.join(store.uri, key);
      await c.pull();
      assert.deepEqual(c.commands(), ["after"]);
    } finally {
      await c.dispose();
    }
  } finally {
    await pair.dispose();
  }
});

Deno.test("re-importing the same objects changes nothing", async () => {
  const pair = await joinedPair();
  const { clock, a, b } = pair;
  try {
    for (let i = 0; i < 6; i++) a.record(`cmd ${i}`);
    await a.push({ maxSegmentEvents: 2 });
    a.forget(clock.now - 2500, clock.now - 1500); // one published event
    await a.push();
    await b.pull();
    assert.equal(b.state().length, 5);
    const before = b.state();
    // b forgets that it ever imported anything, and pulls everything again
    b.vault.db.exec("DELETE FROM imported; DELETE FROM peers; DELETE FROM declared");
    const again = await b.pull();
    // a's forget made it rewrite its three segments into one pack without the forgotten event
    assert.equal(again.segments.imported, 1);
    assert.equal(again.events.inserted, 0);
    assert.equal(again.events.duplicate, 5);
    assert.deepEqual(b.state(), before);
  } finally {
    await pair.dispose();
  }
});

Deno.test("any command text arrives on another device exactly as it was typed", async () => {
  const { a, b, dispose } = await joinedPair();
  try {
    const texts = [
      `echo "quoted" 'single' \\back\\slash`,
      "printf 'a\\tb\\n'\tliteral\ttabs",
      "cat <<EOF\nline one\nline two\nEOF",
      "echo \u0001\u0007\u001b[31mred\u001b[0m \u007f",
      "echo wörld 🚀 日本語 עברית \u2028 \u2029 \ufeff",
      "echo '{\"json\": [1, 2.5e3, null, true]}'",
      "x".repeat(20_000),
    ];
    for (const t of texts) a.record(t);
    await a.push();
    await b.pull();
    assert.deepEqual(b.commands(), texts);
  } finally {
    await dispose();
  }
});

Deno.test("an undated history imported on two devices at different times converges to its earliest times", async () => {
  for (const lines of [300, 25_000]) { // a pull of the second size defers its bookkeeping
    const { a, b, dispose } = await joinedPair();
    try {
      const text = Array.from({ length: lines }, (_, i) => `make step-${i % 97}`).join("\n") + "\n";
      for (const [d, mtime] of [[a, 1_700_000_600], [b, 1_700_000_000]] as const) {
        const file = join(d.home.path, ".bash_history");
        await Deno.writeTextFile(file, text);
        await Deno.utime(file, mtime, mtime);
        await importHistoryFile(d.vault, file);
      }
      await a.push();
      await b.push();
      await a.pull();
      await b.pull();
      assert.equal(a.state().length, lines);
      assert.deepEqual(a.state(), b.state(), `${lines} lines`);
      const newest = a.vault.db.get<{ m: number }>("SELECT max(started_at) AS m FROM events")!.m;
      assert.ok(newest <= 1_700_000_000_000, `${lines} lines: a kept its own later times`);
      const table = (d: Device) =>
        d.vault.db.all("SELECT cmd, runs, last_at FROM commands ORDER BY cmd");
      assert.deepEqual(table(a), table(b));
    } finally {
      await dispose();
    }
  }
});
