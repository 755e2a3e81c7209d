/**
 * Events in the local index: insertion that tombstones always win against, and search.
 *
 * Node and session ids are interned: events refer to them by small integer refs, which
 * keeps the identity index and the table compact. This device is always node ref 1.
 *
 * @module
 */

import type { EventRecord, SessionRecord } from "../object/payloads.ts";
import type { Db } from "./db.ts";

/** The node ref of this device (assigned when the index is created). */
export const OWN_NODE_REF = 1;

/** A forgotten window, as insertion checks it. */
export interface Window {
  start_ts: number;
  end_ts: number;
  /** `null` covers every node. */
  node_id: string | null;
}

/** The windows of every tombstone applied here, by start. */
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

/**
 * Resolves ids to refs, creating them as needed. Lives for one transaction: a ref made in a
 * transaction that rolls back must not outlive it.
 */
export class Refs {
  readonly #db: Db;
  readonly #nodes = new Map<string, number>();
  readonly #sessions = new Map<string, number>();

  /** @param db The index. */
  constructor(db: Db) {
    this.#db = db;
  }

  /** The ref of a node id. */
  node(id: string): number {
    let ref = this.#nodes.get(id);
    if (ref === undefined) {
      this.#db.run("INSERT OR IGNORE INTO nodes (node_id) VALUES (?)", id);
      ref = this.#db.get<{ ref: number }>("SELECT ref FROM nodes WHERE node_id = ?", id)!.ref;
      this.#nodes.set(id, ref);
    }
    return ref;
  }

  /** The ref of a session id. */
  session(id: string): number {
    let ref = this.#sessions.get(id);
    if (ref === undefined) {
      this.#db.run("INSERT OR IGNORE INTO sessions (session_id) VALUES (?)", id);
      ref = this.#db.get<{ ref: number }>("SELECT ref FROM sessions WHERE session_id = ?", id)!.ref;
      this.#sessions.set(id, ref);
    }
    return ref;
  }
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

const EVENT_COLUMNS_SQL =
  "(node_ref, session_ref, seq, started_at, ended_at, duration_ms, exit_code, cwd, cmd, host, segment_id)";
/** Rows per INSERT: a few rows per call costs a third of one call per row. */
const BATCH = 10;
const ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

function insertSql(rows: number): string {
  return `INSERT OR IGNORE INTO events ${EVENT_COLUMNS_SQL} VALUES ${
    Array(rows).fill(ROW).join(", ")
  }`;
}

/**
 * Inserts events idempotently, in one transaction, then indexes the new ones for search in
 * one statement. An event covered by any applied tombstone is never inserted.
 *
 * @param db The index.
 * @param events The events.
 * @param segmentId The segment to record with them: this device's own events only (their
 *   seal state); `null` otherwise.
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
  if (events.length === 0) return counts;
  db.transaction(() => {
    const refs = new Refs(db);
    const before = db.get<{ id: number }>("SELECT coalesce(max(id), 0) AS id FROM events")!.id;
    const many = db.prepare(insertSql(BATCH));
    const args: (string | number | null)[] = [];
    let rows = 0;
    let offered = 0;
    const flush = (statement: ReturnType<Db["prepare"]>) => {
      counts.inserted += Number(statement.run(...args).changes);
      args.length = 0;
      rows = 0;
    };
    for (const e of events) {
      if (windows.length > 0 && isCovered(windows, e)) {
        counts.covered++;
        continue;
      }
      args.push(
        refs.node(e.node_id),
        refs.session(e.session_id),
        e.seq,
        e.started_at,
        e.ended_at,
        e.duration_ms,
        e.exit_code,
        e.cwd,
        e.cmd,
        e.host,
        segmentId,
      );
      offered++;
      if (++rows === BATCH) flush(many);
    }
    if (rows > 0) flush(db.prepare(insertSql(rows)));
    counts.duplicate = offered - counts.inserted;
    // New rows get ids above every existing one: index exactly those, in bulk.
    if (counts.inserted > 0) {
      db.run("INSERT INTO events_fts (rowid, cmd) SELECT id, cmd FROM events WHERE id > ?", before);
    }
  });
  return counts;
}

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

/** One stored event, with its local row id. */
export interface StoredEvent extends EventRecord {
  /** The row id in this index (not stable across devices). */
  id: number;
}

/** Filters of {@linkcode findEvents}; all optional, combined with AND. */
export interface FindQuery {
  /** Substring of the command (case-insensitive for ASCII letters). */
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
  /** Only commands run on this host. */
  host?: string;
  /** Only this session's commands. */
  session?: string;
  /** Only this device's commands. */
  node?: string;
  /** At most this many, newest first. Default 100. */
  limit?: number;
  /** Oldest first instead. */
  oldestFirst?: boolean;
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** An FTS5 query matching every trigram of `text` (code points, as the tokenizer splits). */
export function trigramQuery(text: string): string {
  const chars = [...text];
  const grams = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) grams.add(chars.slice(i, i + 3).join(""));
  return [...grams].map((g) => `"${g.replace(/"/g, '""')}"`).join(" AND ");
}

/** The columns of a {@linkcode StoredEvent}, from `events e` joined with its ids. */
export const EVENT_COLUMNS = `e.id, n.node_id, s.session_id, e.seq, e.started_at, e.ended_at,
  e.duration_ms, e.exit_code, e.cwd, e.cmd, e.host`;

/** `events e` joined with its interned ids. */
export const EVENTS_JOINED =
  "events e JOIN nodes n ON n.ref = e.node_ref JOIN sessions s ON s.ref = e.session_ref";

/**
 * Searches events. Text of three characters or more is looked up in the trigram index and
 * each candidate checked against the command; shorter text is matched with `LIKE`. Both
 * are substring matches, case-insensitive for ASCII letters.
 *
 * @param db The index.
 * @param query Filters.
 * @returns Matching events, newest first unless `oldestFirst`.
 */
export function findEvents(db: Db, query: FindQuery = {}): StoredEvent[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const text = query.text ?? "";
  if ([...text].length >= 3) {
    where.push("e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)");
    params.push(trigramQuery(text));
  }
  if (text.length > 0) {
    where.push("e.cmd LIKE ? ESCAPE '\\'");
    params.push(likePattern(text));
  }
  const exact: [keyof FindQuery, string][] = [
    ["cwd", "e.cwd = ?"],
    ["host", "e.host = ?"],
    ["session", "e.session_ref = (SELECT ref FROM sessions WHERE session_id = ?)"],
    ["node", "e.node_ref = (SELECT ref FROM nodes WHERE node_id = ?)"],
    ["exit", "e.exit_code = ?"],
  ];
  for (const [field, clause] of exact) {
    const value = query[field];
    if (value !== undefined) {
      where.push(clause);
      params.push(value as string | number);
    }
  }
  if (query.failed) where.push("e.exit_code IS NOT NULL AND e.exit_code != 0");
  if (query.since !== undefined) {
    where.push("e.started_at >= ?");
    params.push(query.since);
  }
  if (query.until !== undefined) {
    where.push("e.started_at <= ?");
    params.push(query.until);
  }
  const order = query.oldestFirst ? "ASC" : "DESC";
  const sql = `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_JOINED}
    ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY e.started_at ${order}, e.id ${order} LIMIT ?`;
  params.push(Math.max(0, query.limit ?? 100));
  return db.all<StoredEvent>(sql, ...params);
}

/** How many events the index holds. */
export function countEvents(db: Db): number {
  return db.get<{ n: number }>("SELECT count(*) AS n FROM events")!.n;
}
