/**
 * Events in the local index: insertion that tombstones always win against, and search.
 *
 * @module
 */

import type { EventRecord, SessionRecord } from "../object/payloads.ts";
import type { Db } from "./db.ts";

/** A forgotten window, as insertion checks it. */
export interface Window {
  start_ts: number;
  end_ts: number;
  /** `null` covers every node. */
  node_id: string | null;
}

/** The windows of every tombstone applied here. */
export function loadWindows(db: Db): Window[] {
  return db.all<Window>("SELECT start_ts, end_ts, node_id FROM tombstones ORDER BY start_ts");
}

/** Whether any window covers an event (by its start time and node). */
export function isCovered(
  windows: readonly Window[],
  event: { started_at: number; node_id: string },
): boolean {
  for (const w of windows) {
    if (w.start_ts > event.started_at) break; // sorted by start
    if (event.started_at <= w.end_ts && (w.node_id === null || w.node_id === event.node_id)) {
      return true;
    }
  }
  return false;
}

/** What an insertion did. */
export interface InsertCounts {
  /** New events stored. */
  inserted: number;
  /** Events already present (same node, session and seq). */
  duplicate: number;
  /** Events refused because a tombstone covers them. */
  covered: number;
}

const INSERT_EVENT = `INSERT OR IGNORE INTO events
  (node_id, session_id, seq, started_at, ended_at, duration_ms, exit_code, cwd, cmd, host, segment_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Inserts events idempotently, in one transaction. An event covered by any applied
 * tombstone is never inserted.
 *
 * @param db The index.
 * @param events The events.
 * @param segmentId The segment they came from, or `null` for this node's unsealed events.
 * @param windows Tombstone windows, if already loaded.
 * @returns Counts by outcome.
 */
export function insertEvents(
  db: Db,
  events: readonly EventRecord[],
  segmentId: string | null,
  windows: readonly Window[] = loadWindows(db),
): InsertCounts {
  const counts: InsertCounts = { inserted: 0, duplicate: 0, covered: 0 };
  const statement = db.prepare(INSERT_EVENT);
  db.transaction(() => {
    for (const e of events) {
      if (isCovered(windows, e)) {
        counts.covered++;
        continue;
      }
      const changed = statement.run(
        e.node_id,
        e.session_id,
        e.seq,
        e.started_at,
        e.ended_at,
        e.duration_ms,
        e.exit_code,
        e.cwd,
        e.cmd,
        e.host,
        segmentId,
      ).changes;
      if (Number(changed) > 0) counts.inserted++;
      else counts.duplicate++;
    }
  });
  return counts;
}

/** Records a session if it is not known yet. */
export function insertSession(db: Db, session: SessionRecord, segmentId: string | null): void {
  db.run(
    `INSERT OR IGNORE INTO sessions (session_id, node_id, started_at, host, shell, segment_id)
     VALUES (?, ?, ?, ?, ?, ?)`,
    session.session_id,
    session.node_id,
    session.started_at,
    session.host,
    session.shell,
    segmentId,
  );
}

/** One stored event, with its local row id. */
export interface StoredEvent extends EventRecord {
  id: number;
}

/** Filters of {@linkcode findEvents}; all optional, combined with AND. */
export interface FindQuery {
  /** Substring of the command (case-insensitive). */
  text?: string;
  /** Exact working directory. */
  cwd?: string;
  /** Only failed commands (exit code not 0). */
  failed?: boolean;
  /** Only this exit code. */
  exit?: number;
  /** Started at or after (ms). */
  since?: number;
  /** Started at or before (ms). */
  until?: number;
  host?: string;
  session?: string;
  node?: string;
  /** At most this many, newest first. Default 100. */
  limit?: number;
  /** Oldest first instead. */
  oldestFirst?: boolean;
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Searches events. Text of three characters or more uses the FTS5 trigram index; shorter
 * text falls back to `LIKE`. Both are case-insensitive substring matches.
 *
 * @param db The index.
 * @param query Filters.
 * @returns Matching events, newest first unless `oldestFirst`.
 */
export function findEvents(db: Db, query: FindQuery = {}): StoredEvent[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const text = query.text ?? "";
  if (text.length >= 3) {
    where.push("id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)");
    params.push(`"${text.replace(/"/g, '""')}"`);
  } else if (text.length > 0) {
    where.push("cmd LIKE ? ESCAPE '\\'");
    params.push(likePattern(text));
  }
  const exact: [keyof FindQuery, string][] = [
    ["cwd", "cwd"],
    ["host", "host"],
    ["session", "session_id"],
    ["node", "node_id"],
    ["exit", "exit_code"],
  ];
  for (const [field, column] of exact) {
    const value = query[field];
    if (value !== undefined) {
      where.push(`${column} = ?`);
      params.push(value as string | number);
    }
  }
  if (query.failed) where.push("exit_code IS NOT NULL AND exit_code != 0");
  if (query.since !== undefined) {
    where.push("started_at >= ?");
    params.push(query.since);
  }
  if (query.until !== undefined) {
    where.push("started_at <= ?");
    params.push(query.until);
  }
  const order = query.oldestFirst ? "ASC" : "DESC";
  const sql = `SELECT id, node_id, session_id, seq, started_at, ended_at, duration_ms, exit_code,
      cwd, cmd, host FROM events ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY started_at ${order}, id ${order} LIMIT ?`;
  params.push(Math.max(0, query.limit ?? 100));
  return db.all<StoredEvent>(sql, ...params);
}

/** How many events the index holds. */
export function countEvents(db: Db): number {
  return db.get<{ n: number }>("SELECT count(*) AS n FROM events")!.n;
}
