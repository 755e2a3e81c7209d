// Test helpers: events of one device and session whose only difference is their text, the
// text each event has in the index, and an index on disk with a second connection to it.

import { join } from "node:path";
import { Db } from "../../src/vault/db.ts";
import { Vault } from "../../src/vault/vault.ts";
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

/** Runs `fn` on a new index on disk and a second connection to it (another process). */
export async function withIndex(fn: (vault: Vault, other: Db) => void): Promise<void> {
  const dir = await Deno.makeTempDir();
  const vault = Vault.open(join(dir, "hx.db"));
  const other = Db.open(join(dir, "hx.db"));
  try {
    fn(vault, other);
  } finally {
    other.close();
    vault.close();
    await Deno.remove(dir, { recursive: true });
  }
}
