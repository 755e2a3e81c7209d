// A segment's events are checked one by one: a forged event anywhere in it is refused, even
// among many valid ones that share its node and session.

import assert from "node:assert/strict";
import { IMPORT_NODE_ID, parseSegment } from "../src/object/payloads.ts";
import type { IntegrityError } from "../src/errors.ts";

const NODE = "0190f000-0000-7000-8000-0000000000aa";
const OTHER = "0190f000-0000-7000-8000-0000000000bb";
const SESSION = "0190f000-0000-7000-8000-0000000000c1";

function event(seq: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    node_id: NODE,
    session_id: SESSION,
    seq,
    started_at: 1_700_000_000_000 + seq,
    ended_at: null,
    duration_ms: null,
    exit_code: 0,
    cwd: null,
    cmd: `make ${seq}`,
    host: null,
    ...extra,
  };
}

function segment(events: Record<string, unknown>[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ events }));
}

Deno.test("a forged node or session in any event of a segment is refused, after valid ones", () => {
  const forged: [Record<string, unknown>, string][] = [
    [{ node_id: OTHER }, "wrong_node"],
    [{ node_id: "not-a-uuid" }, "bad_payload"],
    [{ node_id: null }, "bad_payload"],
    [{ node_id: 7 }, "bad_payload"],
    [{ node_id: undefined }, "bad_payload"],
    [{ session_id: "bad session id" }, "bad_payload"],
    [{ session_id: "x".repeat(65) }, "bad_payload"],
    [{ session_id: null }, "bad_payload"],
    [{ session_id: undefined }, "bad_payload"],
    [{ session_id: ["s"] }, "bad_payload"],
  ];
  for (const [fields, reason] of forged) {
    for (const at of [0, 1, 5]) {
      const events = Array.from({ length: 8 }, (_, i) => event(i, i === at ? fields : {}));
      assert.throws(
        () => parseSegment(segment(events), NODE),
        (e: IntegrityError) => e.reason === reason,
        `${JSON.stringify(fields)} at ${at}`,
      );
    }
  }
});

Deno.test("events of a segment keep their own node and session when they alternate", () => {
  const sessions = ["s-1", "s-2", "s-2", "s-1", "s-3"];
  const nodes = [NODE, IMPORT_NODE_ID, NODE, NODE, IMPORT_NODE_ID];
  const events = sessions.map((session_id, i) => event(i, { session_id, node_id: nodes[i] }));
  const parsed = parseSegment(segment(events), NODE).events;
  assert.deepEqual(parsed.map((e) => e.session_id), sessions);
  assert.deepEqual(parsed.map((e) => e.node_id), nodes);
});
