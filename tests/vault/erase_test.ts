// After hx forget (here, or a tombstone pulled from another device) no byte of a forgotten
// command remains in the index: not in its table pages, not in the search index, not in the
// write-ahead log. Checked on the files themselves, as `strings hx.db*` would.

import assert from "node:assert/strict";
import { join } from "node:path";
import { Hx } from "../../src/hx.ts";
import { joinedPair } from "../sync/device.ts";

const SECRET = "curl -H 'X-Deploy: zq8Rkw4uLmT3vPx9' deploy.example.com";
/** Every run of 6 bytes of the secret: what `strings` would show of any fragment. */
const FRAGMENTS = Array.from({ length: SECRET.length - 5 }, (_, i) => SECRET.slice(i, i + 6))
  .filter((f) => /zq8R|kw4u|LmT3|vPx9|Deploy: z/.test(f)); // fragments of the secret part

async function filesOf(home: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(home)) {
    if (e.isFile && e.name.startsWith("hx.db")) {
      out.set(e.name, await Deno.readFile(join(home, e.name)));
    }
  }
  return out;
}

function leaks(files: Map<string, Uint8Array>): string[] {
  const found: string[] = [];
  for (const [name, bytes] of files) {
    const text = new TextDecoder("latin1").decode(bytes);
    for (const f of FRAGMENTS) if (text.includes(f)) found.push(`${name}: ${JSON.stringify(f)}`);
  }
  return found;
}

Deno.test("after hx forget no byte of the forgotten command remains in hx.db, its WAL or shm", async () => {
  const home = await Deno.makeTempDir({ prefix: "hx-erase-" });
  try {
    const now = Date.now();
    const hx = Hx.open({ home, now: () => now });
    for (let i = 0; i < 500; i++) {
      hx.record({
        cmd: `make target-${i}`,
        session_id: "s",
        started_at: now - 600_000 + i,
        exit_code: 0,
      });
    }
    hx.record({ cmd: SECRET, session_id: "s", started_at: now - 1000, exit_code: 0 });
    hx.record({ cmd: "ls", session_id: "s", started_at: now - 500, exit_code: 0 });
    assert.equal(hx.find({ text: "zq8R" }).length, 1);
    assert.ok(leaks(await filesOf(home)).length > 0, "the test must see the secret before forget");
    await hx.forget({ start: now - 1000, end: now - 1000 });
    assert.equal(hx.find({ text: "zq8R" }).length, 0);
    assert.equal(hx.find({ text: "target-4", limit: 0 }).length, 111); // the rest is intact
    assert.deepEqual(leaks(await filesOf(home)), []);
    hx.close();
    assert.deepEqual(leaks(await filesOf(home)), []);
    // and `strings`, where the machine has it, agrees
    const strings = await new Deno.Command("sh", {
      args: ["-c", `cat ${home}/hx.db* | strings -n 6`],
      stdout: "piped",
      stderr: "null",
    }).output().catch(() => null);
    if (strings?.success) {
      const out = new TextDecoder().decode(strings.stdout);
      for (const f of FRAGMENTS) assert.ok(!out.includes(f), `strings shows ${f}`);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a tombstone pulled from another device erases the command from the puller's index files", async () => {
  const { a, b, clock, dispose } = await joinedPair();
  try {
    const at = clock.tick();
    a.record(SECRET, { at });
    for (let i = 0; i < 50; i++) a.record(`echo ${i}`);
    await a.push();
    await b.pull();
    assert.ok(leaks(await filesOf(b.home.path)).length > 0);
    a.forget(at, at);
    await a.push();
    await b.pull();
    assert.ok(!b.commands().includes(SECRET));
    assert.deepEqual(leaks(await filesOf(b.home.path)), []);
  } finally {
    await dispose();
  }
});
