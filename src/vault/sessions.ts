/**
 * Sessions and pins in the index: the latest session with its failures in context
 * (`hx last`), pinning, and what segments carry of them. The one place that reads and writes
 * the `sessions` and `pins` tables.
 *
 * @module
 */

import { HxError } from "../errors.ts";
import type { PinRecord, SessionRecord } from "../object/payloads.ts";
import type { Db } from "./db.ts";
import { EVENT_COLUMNS, EVENTS_JOINED, type StoredEvent } from "./events.ts";
import type { Vault } from "./vault.ts";

/** Records a session's details (the session row may already exist, interned by its events). */
export function insertSession(db: Db, session: SessionRecord, segmentId: string | null): void {
  db.run(
    `INSERT INTO sessions (session_id, node_id, started_at, host, shell, segment_id)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (session_id) DO UPDATE SET
       node_id = coalesce(sessions.node_id, excluded.node_id),
       started_at = coalesce(sessions.started_at, excluded.started_at),
       host = coalesce(sessions.host, excluded.host),
       shell = coalesce(sessions.shell, excluded.shell),
       segment_id = coalesce(sessions.segment_id, excluded.segment_id)`,
    session.session_id,
    session.node_id,
    session.started_at,
    session.host,
    session.shell,
    segmentId,
  );
}

/**
 * Records a device's pin or unpin, keeping each device's latest action on a session (an unpin
 * wins a tie): importing its segments in any order ends in the same row.
 */
export function insertPin(db: Db, pin: PinRecord, segmentId: string | null): void {
  db.run(
    `INSERT INTO pins (session_id, node_id, pinned_at, pinned, segment_id) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (session_id, node_id) DO UPDATE SET
       pinned_at = excluded.pinned_at, pinned = excluded.pinned, segment_id = excluded.segment_id
     WHERE excluded.pinned_at > pins.pinned_at
       OR (excluded.pinned_at = pins.pinned_at AND excluded.pinned < pins.pinned)`,
    pin.session_id,
    pin.node_id,
    pin.pinned_at,
    pin.pinned ? 1 : 0,
    segmentId,
  );
}

/** This device's latest session (by its latest command), or `null`. */
export function latestSessionOf(db: Db, nodeId: string): string | null {
  return db.get<{ session_id: string }>(
    `SELECT s.session_id FROM events e JOIN sessions s ON s.ref = e.session_ref
     WHERE e.node_ref = (SELECT ref FROM nodes WHERE node_id = ?)
     ORDER BY e.started_at DESC, e.id DESC LIMIT 1`,
    nodeId,
  )?.session_id ?? null;
}

/** The next seq of a session of this device (one after its last event). */
export function nextSeq(db: Db, sessionId: string): number {
  return (db.get<{ n: number | null }>(
    `SELECT max(seq) AS n FROM events WHERE node_ref = 1
       AND session_ref = (SELECT ref FROM sessions WHERE session_id = ?)`,
    sessionId,
  )?.n ?? 0) + 1;
}

/** A session with its commands. */
export interface SessionView {
  /** The session's id. */
  session_id: string;
  /** The device it ran on, if known. */
  node_id: string | null;
  /** The host it ran on, if known. */
  host: string | null;
  /** The shell, if known. */
  shell: string | null;
  /** When it started (ms), if known. */
  started_at: number | null;
  /** Whether any device pinned it. */
  pinned: boolean;
  /** Its commands in order. */
  events: StoredEvent[];
  /** Each failed command with the command before and after it. */
  failures: { before: StoredEvent | null; failed: StoredEvent; after: StoredEvent | null }[];
}

/**
 * The id of the most recent session (by its latest command), optionally skipping one.
 *
 * @param db The index.
 * @param opts A session to skip (the shell asking, which is not what "last" means to it).
 * @returns The session id, or `null` when there is none.
 */
export function latestSessionId(db: Db, opts: { except?: string } = {}): string | null {
  const row = db.get<{ session_id: string }>(
    `SELECT s.session_id FROM events e JOIN sessions s ON s.ref = e.session_ref
     WHERE s.session_id != ? ORDER BY e.started_at DESC, e.id DESC LIMIT 1`,
    opts.except ?? "",
  );
  return row?.session_id ?? null;
}

/**
 * A session's commands in order, with every failure and one command of context around it.
 *
 * @param db The index.
 * @param sessionId The session.
 * @returns The view.
 * @throws {HxError} `not_found` when no command of that session is known.
 */
export function sessionView(db: Db, sessionId: string): SessionView {
  const events = db.all<StoredEvent>(
    `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_JOINED} WHERE s.session_id = ?
     ORDER BY e.seq, e.started_at, e.id`,
    sessionId,
  );
  if (events.length === 0) {
    throw new HxError(
      "not_found",
      `Cannot show session ${sessionId}: no commands of it are known here`,
    );
  }
  const meta = db.get<
    { node_id: string | null; host: string | null; shell: string | null; started_at: number | null }
  >(
    "SELECT node_id, host, shell, started_at FROM sessions WHERE session_id = ?",
    sessionId,
  );
  const failures = events.flatMap((failed, i) =>
    failed.exit_code !== null && failed.exit_code !== 0
      ? [{ before: events[i - 1] ?? null, failed, after: events[i + 1] ?? null }]
      : []
  );
  return {
    session_id: sessionId,
    node_id: meta?.node_id ?? events[0]!.node_id,
    host: meta?.host ?? events[0]!.host,
    shell: meta?.shell ?? null,
    started_at: meta?.started_at ?? events[0]!.started_at,
    pinned: isPinned(db, sessionId),
    events,
    failures,
  };
}

/** The latest pin or unpin of a session by any device (an unpin wins a tie), if any. */
function latestPinAction(db: Db, sessionId: string): { at: number; pinned: boolean } | undefined {
  const row = db.get<{ at: number; pinned: number }>(
    `SELECT pinned_at AS at, pinned FROM pins WHERE session_id = ?
     ORDER BY pinned_at DESC, pinned ASC LIMIT 1`,
    sessionId,
  );
  return row === undefined ? undefined : { at: row.at, pinned: row.pinned === 1 };
}

/** Whether the session is pinned: the latest action on it, by any device, was a pin. */
export function isPinned(db: Db, sessionId: string): boolean {
  return latestPinAction(db, sessionId)?.pinned === true;
}

/**
 * Pins or unpins a session on this device. The latest action by any device decides, so an
 * unpin on one device unpins everywhere after sync. The action is stamped after the latest
 * one this device knows of, so that it wins even when this clock is behind the other's.
 *
 * @param vault This device's index.
 * @param sessionId The session.
 * @param pinned Pin (`true`) or unpin.
 * @returns Whether that changed anything (`false`: it already was so).
 * @throws {HxError} `not_found` when no command of the session is known.
 */
export function setPinned(vault: Vault, sessionId: string, pinned: boolean): boolean {
  const db = vault.db;
  return db.transaction(() => {
    const known = db.get("SELECT 1 FROM sessions WHERE session_id = ?", sessionId);
    if (known === undefined) {
      throw new HxError(
        "not_found",
        `Cannot ${pinned ? "pin" : "unpin"} session ${sessionId}: no such session here`,
      );
    }
    const latest = latestPinAction(db, sessionId);
    if ((latest?.pinned ?? false) === pinned) return false;
    db.run(
      `INSERT INTO pins (session_id, node_id, pinned_at, pinned, segment_id)
       VALUES (?, ?, ?, ?, NULL)
       ON CONFLICT (session_id, node_id) DO UPDATE SET
         pinned_at = excluded.pinned_at, pinned = excluded.pinned, segment_id = NULL`,
      sessionId,
      vault.nodeId,
      Math.max(vault.now(), (latest?.at ?? 0) + 1),
      pinned ? 1 : 0,
    );
    return true;
  });
}

/** A pinned session. */
export interface PinnedSession {
  /** The pinned session's id. */
  session_id: string;
  /** When it was pinned (the earliest pin since the latest unpin, by any device). */
  pinned_at: number;
  /** Devices that pinned it since it was last unpinned. */
  pinned_by: string[];
  /** How many of its commands are known here. */
  commands: number;
  /** Its first command, to recognise it by. */
  first_command: string | null;
}

/** Every pinned session, most recently pinned first. */
export function listPins(db: Db): PinnedSession[] {
  // A pin counts when it is later than the session's latest unpin (an unpin wins a tie).
  const rows = db.all<{ session_id: string; pinned_at: number; pinned_by: string }>(
    `SELECT p.session_id, min(p.pinned_at) AS pinned_at, group_concat(p.node_id) AS pinned_by
     FROM pins p
     WHERE p.pinned = 1 AND p.pinned_at > coalesce(
       (SELECT max(u.pinned_at) FROM pins u WHERE u.session_id = p.session_id AND u.pinned = 0),
       -1)
     GROUP BY p.session_id ORDER BY min(p.pinned_at) DESC`,
  );
  return rows.map((r) => {
    const stats = db.get<{ n: number; first: string | null }>(
      `SELECT count(*) AS n, (SELECT c.cmd FROM events e2 JOIN commands c ON c.id = e2.cmd_id
         WHERE e2.session_ref = s.ref ORDER BY e2.seq LIMIT 1) AS first
       FROM sessions s LEFT JOIN events e ON e.session_ref = s.ref WHERE s.session_id = ?`,
      r.session_id,
    );
    return {
      session_id: r.session_id,
      pinned_at: r.pinned_at,
      pinned_by: r.pinned_by.split(","),
      commands: stats?.n ?? 0,
      first_command: stats?.first ?? null,
    };
  });
}
