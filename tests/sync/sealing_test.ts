// How a push cuts this device's history into segments: every event in exactly one segment,
// segments within their bounds, each a range of start times, and the time range the index
// records for each (what `join --since` selects by) true to what the segment holds.

import assert from "node:assert/strict";
import { joinedPair } from "./device.ts";

interface StoredEvent {
  seq: number;
  started_at: number;
  cmd: string;
  cwd: string | null;
  host: string | null;
}

/** The estimate segments are bounded by: text lengths plus a fixed overhead per event. */
const OVERHEAD = 160;
const size = (e: StoredEvent) => e.cmd.length + (e.cwd?.length ?? 0) + (e.host?.length ?? 0);

Deno.test("a push seals every event into exactly one segment, within the bounds, in start-time ranges", async () => {
  const { a, b, dispose } = await joinedPair();
  try {
    const base = a.clock.now;
    // Start times out of insertion order (an imported file older than what was recorded),
    // texts of every size, one larger than a segment may hold by itself.
    const expected: string[] = [];
    for (let i = 0; i < 60; i++) {
      const at = base + ((i * 37) % 60) * 1000;
      const cmd = i === 23
        ? `cat <<EOF\n${"x".repeat(5000)}\nEOF`
        : `step ${i} ${"y".repeat((i * 53) % 400)}`;
      a.record(cmd, { at });
      expected.push(cmd);
    }
    const bounds = { maxSegmentEvents: 7, maxSegmentBytes: 2000 };
    const pushed = await a.push(bounds);
    assert.equal(pushed.events, 60);

    const segments = (await a.storeContents())
      .filter((o) => o.key.endsWith(".hxseg"))
      .map((o) => (JSON.parse(o.text!) as { events: StoredEvent[] }).events);
    const sealed = segments.flat().map((e) => e.cmd);
    assert.deepEqual([...sealed].sort(), [...expected].sort(), "every event, exactly once");
    for (const events of segments) {
      assert.ok(events.length >= 1 && events.length <= bounds.maxSegmentEvents);
      const bytes = events.reduce((n, e) => n + size(e) + OVERHEAD, 0);
      assert.ok(
        events.length === 1 || bytes <= bounds.maxSegmentBytes,
        `a segment of ${events.length} events holds ${bytes} bytes`,
      );
    }
    // Sealed in start-time order: the segments' time ranges do not interleave.
    const ranges = segments
      .map((events) => events.map((e) => e.started_at))
      .map((ts) => [Math.min(...ts), Math.max(...ts)] as const)
      .sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i - 1]![1] < ranges[i]![0]);
    // The index records each segment's range as the segment holds it.
    const recorded = a.vault.db.all<{ start_ts: number; end_ts: number }>(
      "SELECT start_ts, end_ts FROM segments ORDER BY start_ts",
    ).map((r) => [r.start_ts, r.end_ts] as const);
    assert.deepEqual(recorded, ranges);

    // Nothing is left to seal, and another device gets all of it.
    assert.equal((await a.push(bounds)).events, 0);
    await b.pull();
    assert.deepEqual(b.state(), a.state());
  } finally {
    await dispose();
  }
});
