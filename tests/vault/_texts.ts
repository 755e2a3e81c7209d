// Test helpers: events of one device and session whose only difference is their text, and
// the text each event has in the index.

import type { Db } from "../../src/vault/db.ts";
import type { EventRecord } from "../../src/object/payloads.ts";

const NODE = "0190a0a0-0000-7000-8000-00000000000b";
const SESSION = "0190a0a0-0000-7000-8000-0000000000c1";

/** The event `seq` of one session, running `cmd`, a second after the previous one. */
export function event(seq: number, cmd: string): EventRecord {
  return {
    node_id: NODE,
    session_id: SESSION,
    seq,
    started_at: 1_700_000_000_000 + seq * 1000,
    ended_at: null,
    duration_ms: null,
    exit_code: 0,
    cwd: null,
    cmd,
    host: null,
  };
}

/** Each event's text as the index gives it back, by seq. */
export function storedTexts(db: Db): Map<number, string> {
  return new Map(
    db.all<{ seq: number; cmd: string }>(
      "SELECT e.seq AS seq, c.cmd AS cmd FROM events e JOIN commands c ON c.id = e.cmd_id",
    ).map((r) => [r.seq, r.cmd]),
  );
}
