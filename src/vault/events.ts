/**
 * Events in the local index: insertion that tombstones always win against, and search.
 *
 * Node and session ids are interned (events refer to them by small integer refs), and so
 * are command texts: every distinct command is stored and indexed for search once, with the
 * time of its latest run and how many runs it has. This device is always node ref 1.
 *
 * @module
 */

import { sha256Hex } from "../_sha256.ts";
import { foldCase } from "../_text.ts";
import { type EventRecord, IMPORT_NODE_ID } from "../object/payloads.ts";
import type { Db } from "./db.ts";
import type { TextHashes } from "./text_hashes.ts";

/** The node ref of this device (assigned when the index is created). */
export const OWN_NODE_REF = 1;

/** Who publishes an event: this device (its own, or history it imported), or another. */
export type Origin = "here" | "elsewhere";

/** A forgotten set of events, as insertion checks it. */
export interface Window {
  start_ts: number;
  end_ts: number;
  /** `null` covers every node. */
  node_id: string | null;
  /** `null` covers every command. */
  cmd_sha256: string | null;
}

/** The SHA-256 of a command's text, as tombstones name single commands. */
export function commandSha256(cmd: string): string {
  return sha256Hex(cmd);
}

/** The windows of every tombstone applied here (not deferred), by start. */
export function loadWindows(db: Db): Window[] {
  return db.all<Window>(
    "SELECT start_ts, end_ts, node_id, cmd_sha256 FROM tombstones WHERE deferred = 0 ORDER BY start_ts",
  );
}

/**
 * Whether any window covers an event (by its start time, node and command).
 *
 * @param windows Applied windows, sorted by start.
 * @param event The event.
 * @returns `true` when a tombstone forgot it.
 */
export function isCovered(
  windows: readonly Window[],
  event: { started_at: number; node_id: string; cmd?: string },
): boolean {
  let sha: string | null = null;
  for (const w of windows) {
    if (w.start_ts > event.started_at) break; // sorted by start
    if (event.started_at > w.end_ts || (w.node_id !== null && w.node_id !== event.node_id)) {
      continue;
    }
    if (w.cmd_sha256 === null) return true;
    if (event.cmd === undefined) continue;
    sha ??= commandSha256(event.cmd);
    if (sha === w.cmd_sha256) return true;
  }
  return false;
}

/** Where {@linkcode Refs} finds the ids of command texts it resolved before. */
interface TextIds {
  get(text: string): number | undefined;
  set(text: string, id: number): void;
}

/**
 * Command ids a writer keeps across its transactions (a pull, from one segment to the next),
 * so that a text met again is not looked up again. Valid only while no other connection has
 * written: {@linkcode CommandIds.check} at the start of each transaction empties it when one
 * has (SQLite's `data_version`), and the writer must {@linkcode CommandIds.clear} it when a
 * transaction rolls back.
 *
 * Bounded, in two generations of `max / 2` texts: when the newer is full it becomes the older
 * and the older is dropped, and a text found in the older moves to the newer. The texts a
 * history runs often stay; emptying the whole cache when full made every segment after it
 * look up all its texts again (a pull of 1M events with 308k distinct texts: ~0.55 s more).
 */
export class CommandIds implements TextIds {
  /** Texts held at most. */
  readonly max: number;
  #newer = new Map<string, number>();
  #older = new Map<string, number>();
  #version = -1;

  /** @param max Texts held at most (at least 2). */
  constructor(max = 100_000) {
    this.max = max;
  }

  /** The id of a text, if held. */
  get(text: string): number | undefined {
    const id = this.#newer.get(text);
    if (id !== undefined) return id;
    const old = this.#older.get(text);
    if (old !== undefined) this.set(text, old);
    return old;
  }

  /** Holds the id of a text. */
  set(text: string, id: number): void {
    if (this.#newer.size >= this.max / 2) {
      this.#older = this.#newer;
      this.#newer = new Map();
    }
    this.#newer.set(text, id);
  }

  /** Texts held now. */
  get size(): number {
    return this.#newer.size + this.#older.size;
  }

  /**
   * Every stored text's id by its hash, while a bulk write has dropped the index of texts
   * (`null` otherwise): how a text the cache no longer holds is found, not stored twice.
   */
  hashes: TextHashes | null = null;

  /**
   * For a bulk write that dropped the index of texts: holds every stored text's hash from now
   * on, starting with those the index has.
   *
   * @param db The index.
   * @param hashes An empty table (tests give one whose hash collides).
   */
  hashAll(db: Db, hashes: TextHashes): void {
    for (const r of db.prepareUncached("SELECT id, cmd FROM commands").iterate()) {
      const row = r as { id: number; cmd: string };
      hashes.add(row.cmd, row.id);
    }
    this.hashes = hashes;
  }

  /** Inside a transaction: forgets every id if another connection wrote since the last check. */
  check(db: Db): void {
    const version = db.dataVersion();
    if (version !== this.#version) this.clear();
    this.#version = version;
  }

  /** Forgets every id (after a rollback). */
  clear(): void {
    this.#newer = new Map();
    this.#older = new Map();
  }
}

/**
 * Resolves ids to refs, creating them as needed. Lives for one transaction: a ref made in a
 * transaction that rolls back must not outlive it (command ids may come from, and go to, a
 * {@linkcode CommandIds} whose owner sees to that).
 */
export class Refs {
  readonly #db: Db;
  readonly #nodes = new Map<string, number>();
  readonly #sessions = new Map<string, number>();
  readonly #commands: TextIds;
  readonly #hashes: TextHashes | null;

  /**
   * @param db The index.
   * @param commands Command ids kept across transactions, if any.
   */
  constructor(db: Db, commands?: CommandIds) {
    this.#db = db;
    this.#commands = commands ?? new Map();
    this.#hashes = commands?.hashes ?? null;
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

  /**
   * Resolves many command texts at once (creating the new ones with no runs): an insert per
   * 128 texts not known yet, with the ids they get if new; when the insert ignored some (they
   * were there already), one query gives those their ids. Instead of two statements per text,
   * and no row is read back for a new text.
   *
   * @returns The id of each text, in order.
   */
  resolveCommands(texts: readonly string[]): number[] {
    const ids: number[] = new Array(texts.length);
    // The texts not known yet, each once, and the ids they get (-1 until then).
    const found = new Map<string, number>();
    for (let k = 0; k < texts.length; k++) {
      const id = this.#commands.get(texts[k]!);
      if (id === undefined) found.set(texts[k]!, -1);
      else ids[k] = id;
    }
    if (found.size === 0) return ids;
    const hashes = this.#hashes;
    if (hashes !== null) {
      // No index of texts: the hashes say which rows may hold one; each is checked.
      const read = this.#db.prepare("SELECT cmd FROM commands WHERE id = ?");
      for (const t of found.keys()) {
        for (const id of hashes.candidates(t)) {
          if ((read.get(id) as { cmd: string } | undefined)?.cmd === t) {
            found.set(t, id);
            break;
          }
        }
      }
    }
    const all = [...found.keys()].filter((t) => found.get(t) === -1);
    let next = this.#db.get<{ n: number }>("SELECT coalesce(max(id), 0) AS n FROM commands")!.n;
    let i = 0;
    for (const size of chunkSizes(all.length, 128)) {
      const chunk = all.slice(i, i += size);
      const args: (string | number)[] = [];
      for (const t of chunk) {
        found.set(t, ++next);
        args.push(next, t);
      }
      const inserted = this.#db.prepare(
        repeatedSql(
          "INSERT OR IGNORE INTO commands (id, cmd, last_at, runs) VALUES ",
          "(?, ?, 0, 0)",
          "",
          size,
        ),
      ).run(...args).changes;
      if (Number(inserted) === size) continue;
      // Some were there already: their ids are the ones the index has.
      const rows = this.#db.prepare(
        repeatedSql("SELECT id, cmd FROM commands WHERE cmd IN (", "?", ")", size),
      ).all(...chunk) as { id: number; cmd: string }[];
      for (const r of rows) found.set(r.cmd, r.id);
    }
    for (const [t, id] of found) this.#commands.set(t, id);
    if (hashes !== null) { for (const t of all) hashes.add(t, found.get(t)!); }
    for (let k = 0; k < texts.length; k++) ids[k] ??= found.get(texts[k]!)!;
    return ids;
  }

  /** The id of a command text (created with no runs; insertion counts them). */
  command(cmd: string): number {
    let id = this.#commands.get(cmd);
    if (id === undefined) {
      id = this.#db.get<{ id: number }>("SELECT id FROM commands WHERE cmd = ?", cmd)?.id;
      if (id === undefined) {
        id = Number(
          this.#db.prepare("INSERT INTO commands (cmd, last_at, runs) VALUES (?, 0, 0)").run(cmd)
            .lastInsertRowid,
        );
      }
      this.#commands.set(cmd, id);
    }
    return id;
  }
}

/**
 * How many items each statement of a bulk operation takes: `max` at a time, then the rest in
 * powers of two. Each size is a statement of its own, prepared once and cached: a statement
 * prepared for one use keeps its native memory until V8 collects its wrapper, which it does
 * not hurry to do (a pull of 1M events held ~65 MiB of C heap that way).
 */
function* chunkSizes(n: number, max: number): Generator<number> {
  for (; n >= max; n -= max) yield max;
  for (let p = max >> 1; p > 0; p >>= 1) {
    if (n >= p) {
      yield p;
      n -= p;
    }
  }
}

const sqlBySize = new Map<string, string>();

/** `head` + `item` repeated `n` times, comma separated, + `tail` (built once per size). */
function repeatedSql(head: string, item: string, tail: string, n: number): string {
  const key = `${head}\0${n}`;
  let sql = sqlBySize.get(key);
  if (sql === undefined) {
    sql = head + Array(n).fill(item).join(", ") + tail;
    sqlBySize.set(key, sql);
  }
  return sql;
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

/** Options of {@linkcode insertEvents}. */
export interface InsertOptions {
  /** Who publishes the events. */
  origin: Origin;
  /** For events this device publishes: the own object that holds them (`null`: not sealed). */
  segmentId?: string | null;
  /** Tombstone windows, if already loaded in this transaction. */
  windows?: readonly Window[];
  /**
   * Leave commands' run counts and latest runs as they are, and keep new texts met only in
   * duplicates: a bulk write counts them all at its end (`finishBulk`).
   */
  deferCounts?: boolean;
  /**
   * Command ids kept across the caller's transactions; used only with `deferCounts` (else
   * texts met only in duplicates are deleted again, ids and all).
   */
  commandIds?: CommandIds;
}

const INSERT_EVENTS_SQL =
  "INSERT OR IGNORE INTO events (node_ref, session_ref, seq, started_at, ended_at, duration_ms, exit_code, cwd, cmd_id, host, origin, segment_id) VALUES ";
/** Rows per INSERT: many rows per call cost a fraction of one call per row. */
const BATCH = 128;
const ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const ROW_FIELDS = 12;

/**
 * Inserts events idempotently, in one transaction; then counts the new runs of their
 * commands (unless deferred to the end of a bulk write) and indexes new command texts for
 * search, in bulk. An event covered by any applied tombstone is never inserted.
 *
 * @param db The index.
 * @param events The events.
 * @param opts Who publishes them, the own object holding them, loaded windows.
 * @returns Counts by outcome.
 */
export function insertEvents(
  db: Db,
  events: readonly EventRecord[],
  opts: InsertOptions,
): InsertCounts {
  const counts: InsertCounts = { inserted: 0, duplicate: 0, covered: 0 };
  if (events.length === 0) return counts;
  db.transaction(() => {
    const windows = opts.windows ?? loadWindows(db);
    const refs = new Refs(db, opts.deferCounts ? opts.commandIds : undefined);
    const before = db.get<{ e: number; c: number }>(
      "SELECT (SELECT coalesce(max(id), 0) FROM events) AS e, (SELECT coalesce(max(id), 0) FROM commands) AS c",
    )!;
    const origin = opts.origin === "here" ? 0 : 1;
    const segment = opts.origin === "here" ? opts.segmentId ?? null : null;
    const args: (string | number | null)[] = [];
    let rows = 0;
    const kept = windows.length === 0 ? events : events.filter((e) => !isCovered(windows, e));
    counts.covered = events.length - kept.length;
    // The events a statement did not store as they are: copies of stored events, whose
    // earlier time may still have to be merged.
    const dropped: EventRecord[] = [];
    let first = 0; // index in `kept` of the statement's first row
    let lastId = before.e; // the highest event id before the statement
    const insert = (values: typeof args, n: number) => {
      const sql = repeatedSql(INSERT_EVENTS_SQL, ROW, "", n); // compiled when first needed
      const result = db.prepare(sql).run(...values);
      const changes = Number(result.changes);
      counts.inserted += changes;
      if (changes < n) {
        // Its new rows are the ones above the last id before it: every event it was given
        // that is not one of them, time included, is a copy.
        const stored = new Map<string, number>();
        for (
          const r of db.prepare(
            "SELECT node_ref AS n, session_ref AS s, seq AS q, started_at AS t FROM events WHERE id > ?",
          ).all(lastId) as { n: number; s: number; q: number; t: number }[]
        ) stored.set(`${r.n} ${r.s} ${r.q}`, r.t);
        for (let j = 0; j < n; j++) {
          const at = j * ROW_FIELDS;
          const key = `${values[at]} ${values[at + 1]} ${values[at + 2]}`;
          if (stored.get(key) !== values[at + 3]) dropped.push(kept[first + j]!);
        }
      }
      if (changes > 0) lastId = Number(result.lastInsertRowid);
      first += n;
    };
    const cmdIds = kept.length > 1 || opts.commandIds !== undefined
      ? refs.resolveCommands(kept.map((e) => e.cmd))
      : null;
    for (let k = 0; k < kept.length; k++) {
      const e = kept[k]!;
      args.push(
        refs.node(e.node_id),
        refs.session(e.session_id),
        e.seq,
        e.started_at,
        e.ended_at,
        e.duration_ms,
        e.exit_code,
        e.cwd,
        cmdIds === null ? refs.command(e.cmd) : cmdIds[k]!,
        e.host,
        origin,
        segment,
      );
      if (++rows === BATCH) {
        insert(args, BATCH);
        args.length = 0;
        rows = 0;
      }
    }
    let at = 0;
    for (const n of chunkSizes(rows, BATCH)) {
      insert(args.slice(at * ROW_FIELDS, (at += n) * ROW_FIELDS), n);
    }
    counts.duplicate = kept.length - counts.inserted;
    if (counts.duplicate > 0) mergeImported(db, refs, dropped, opts.deferCounts === true);
    if (counts.inserted > 0 && !opts.deferCounts) {
      // New rows have ids above every existing one: count their runs in bulk. NOT INDEXED:
      // read the new rows by id range; SQLite otherwise walks every event through the
      // (cmd_id, started_at) index to group them, a cost that grows with the whole history.
      db.run(
        `UPDATE commands SET runs = runs + n.c, last_at = max(last_at, n.m)
         FROM (SELECT cmd_id, count(*) AS c, max(started_at) AS m FROM events NOT INDEXED
               WHERE id > ? GROUP BY cmd_id) AS n
         WHERE commands.id = n.cmd_id`,
        before.e,
      );
    }
    // Index the new texts, then drop those met only in duplicates (no run): in this order the
    // delete trigger removes entries that exist (an external-content index is corrupted by
    // deleting an entry it never had).
    db.run(
      "INSERT INTO commands_fts (rowid, cmd) SELECT id, cmd FROM commands WHERE id > ?",
      before.c,
    );
    if (!opts.deferCounts) db.run("DELETE FROM commands WHERE id > ? AND runs = 0", before.c);
  });
  return counts;
}

/**
 * Imported history has one identity on every device, but a command without a timestamp in
 * its file gets its time from the file (its modification time), which differs between
 * devices. Of two copies the earliest time wins, whichever arrives first: devices converge.
 */
function mergeImported(
  db: Db,
  refs: Refs,
  events: readonly EventRecord[],
  deferCounts: boolean,
): void {
  const update = db.prepare(
    `UPDATE events SET started_at = ?, ended_at = ?, duration_ms = ?
     WHERE node_ref = ? AND session_ref = ? AND seq = ? AND started_at > ?`,
  );
  const touched = new Set<number>();
  for (const e of events) {
    if (e.node_id !== IMPORT_NODE_ID) continue;
    const changed = update.run(
      e.started_at,
      e.ended_at,
      e.duration_ms,
      refs.node(e.node_id),
      refs.session(e.session_id),
      e.seq,
      e.started_at,
    ).changes;
    if (Number(changed) > 0) touched.add(refs.command(e.cmd));
  }
  if (touched.size > 0 && !deferCounts) recountCommands(db, [...touched]);
}

/**
 * Whether a command with this exact text started in the same second on some device (the
 * shell hook recorded it), as opposed to being imported.
 *
 * @param db The index.
 * @param cmd The command text.
 * @param startedAt When it started (ms).
 * @returns `true` when a recorded run matches.
 */
export function recordedInSecond(db: Db, cmd: string, startedAt: number): boolean {
  const second = Math.floor(startedAt / 1000) * 1000;
  return db.get(
    `SELECT 1 FROM events e JOIN commands c ON c.id = e.cmd_id
     WHERE c.cmd = ? AND e.started_at BETWEEN ? AND ?
       AND e.node_ref != coalesce((SELECT ref FROM nodes WHERE node_id = ?), -1) LIMIT 1`,
    cmd,
    second,
    second + 999,
    IMPORT_NODE_ID,
  ) !== undefined;
}

/**
 * The runs recorded by a shell hook (not imported from a file) that started in a window, as
 * command text and start time: for an import to skip, in one query, what the hook recorded.
 *
 * @param db The index.
 * @param from The window's start (ms).
 * @param to Its end (ms), inclusive.
 * @returns The runs, lazily.
 */
export function* recordedRuns(
  db: Db,
  from: number,
  to: number,
): Generator<{ cmd: string; started_at: number }> {
  const rows = db.prepareUncached(
    `SELECT c.cmd AS cmd, e.started_at AS started_at FROM events e JOIN commands c ON c.id = e.cmd_id
     WHERE e.started_at BETWEEN ? AND ?
       AND e.node_ref != coalesce((SELECT ref FROM nodes WHERE node_id = ?), -1)`,
  ).iterate(from, to, IMPORT_NODE_ID);
  for (const row of rows) yield row as { cmd: string; started_at: number };
}

/**
 * After events were deleted: recounts the runs of the commands they ran, and deletes those
 * of them no event runs any more (and, by trigger, their search entries). Only those: a bulk
 * write another process has under way keeps its new commands at no runs until it counts them.
 *
 * @param db The index.
 * @param commandIds The commands of the deleted events.
 */
export function recountCommands(db: Db, commandIds: readonly number[]): void {
  const update = db.prepare(
    `UPDATE commands SET
       runs = (SELECT count(*) FROM events WHERE cmd_id = commands.id),
       last_at = coalesce((SELECT max(started_at) FROM events WHERE cmd_id = commands.id), 0)
     WHERE id = ?`,
  );
  const unused = db.prepare("DELETE FROM commands WHERE id = ? AND runs = 0");
  for (const id of commandIds) {
    update.run(id);
    unused.run(id);
  }
}

/** One stored event, with its local row id. */
export interface StoredEvent extends EventRecord {
  /** The row id in this index (not stable across devices). */
  id: number;
}

/** Filters of {@linkcode findEvents}; all optional, combined with AND. */
export interface FindQuery {
  /** Substring of the command, case-insensitive (Unicode case folding). */
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
  /** At most this many, newest first; 0 for all. Default 100. */
  limit?: number;
  /** Oldest first instead. */
  oldestFirst?: boolean;
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
  e.duration_ms, e.exit_code, e.cwd, c.cmd, e.host`;

/** `events e` joined with its interned ids and command. */
export const EVENTS_JOINED =
  "events e JOIN nodes n ON n.ref = e.node_ref JOIN sessions s ON s.ref = e.session_ref JOIN commands c ON c.id = e.cmd_id";

/** The WHERE clause and parameters of a query over {@linkcode EVENTS_JOINED} (or `events e JOIN commands c`). */
export function whereOf(query: FindQuery): { where: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const text = foldCase(query.text ?? "");
  if ([...text].length >= 3) {
    where.push("e.cmd_id IN (SELECT rowid FROM commands_fts WHERE commands_fts MATCH ?)");
    params.push(trigramQuery(text));
  }
  if (text.length > 0) {
    where.push("hx_contains(c.cmd, ?)");
    params.push(text);
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
  return { where: where.length > 0 ? `WHERE ${where.join(" AND ")}` : "", params };
}

function findSql(query: FindQuery): { sql: string; params: (string | number)[] } {
  const { where, params } = whereOf(query);
  const order = query.oldestFirst ? "ASC" : "DESC";
  const limit = query.limit ?? 100;
  return {
    sql: `SELECT ${EVENT_COLUMNS} FROM ${EVENTS_JOINED} ${where}
      ORDER BY e.started_at ${order}, e.id ${order}${
      limit > 0 ? ` LIMIT ${Math.floor(limit)}` : ""
    }`,
    params,
  };
}

/**
 * Searches events. Text of three characters or more is looked up in the trigram index of
 * distinct commands and each candidate checked against the command; shorter text is matched
 * against every command. Both are substring matches with Unicode case folding.
 *
 * @param db The index.
 * @param query Filters.
 * @returns Matching events, newest first unless `oldestFirst`.
 */
export function findEvents(db: Db, query: FindQuery = {}): StoredEvent[] {
  const { sql, params } = findSql(query);
  return db.all<StoredEvent>(sql, ...params);
}

/** Options of {@linkcode streamEvents}. */
export interface StreamQuery extends Omit<FindQuery, "oldestFirst" | "limit"> {
  /** The newest this many (0: all). */
  limit?: number;
  /** Newest first instead of newest last. */
  newestFirst?: boolean;
  /** Each distinct command once, at its latest run. */
  dedup?: boolean;
}

/**
 * Matching events one row at a time, newest last (the newest `limit` of them): memory stays
 * flat in the number of rows, whatever the limit.
 *
 * @param db The index.
 * @param query Filters, limit, order and whether to collapse duplicates.
 * @returns The events, lazily.
 */
export function* streamEvents(db: Db, query: StreamQuery = {}): Generator<StoredEvent> {
  const { where, params } = whereOf(query);
  const source = query.dedup
    ? `(SELECT e.*, max(e.started_at) FROM events e JOIN commands c ON c.id = e.cmd_id ${where}
        GROUP BY e.cmd_id) AS e JOIN nodes n ON n.ref = e.node_ref
        JOIN sessions s ON s.ref = e.session_ref JOIN commands c ON c.id = e.cmd_id`
    : `${EVENTS_JOINED} ${where}`;
  const limit = Math.max(0, Math.floor(query.limit ?? 0));
  let window = "";
  if (limit > 0) {
    // The newest `limit`, in either order, without holding them: skip the older ones.
    const total = db.get<{ n: number }>(`SELECT count(*) AS n FROM ${source}`, ...params)!.n;
    window = query.newestFirst
      ? ` LIMIT ${limit}`
      : ` LIMIT ${limit} OFFSET ${Math.max(0, total - limit)}`;
  }
  const order = query.newestFirst ? "DESC" : "ASC";
  const statement = db.prepareUncached(
    `SELECT ${EVENT_COLUMNS} FROM ${source} ORDER BY e.started_at ${order}, e.id ${order}${window}`,
  );
  yield* statement.iterate(...params) as Iterable<StoredEvent>;
}

/** How many events the index holds. */
export function countEvents(db: Db): number {
  return db.get<{ n: number }>("SELECT count(*) AS n FROM events")!.n;
}

/**
 * Every live event's identity, sorted (node, session, seq), read one row at a time.
 *
 * @param db The index.
 * @returns The keys, in order.
 */
export function eventKeys(db: Db): Iterable<{ node: string; session: string; seq: number }> {
  return db.prepare(
    `SELECT n.node_id AS node, s.session_id AS session, e.seq AS seq
     FROM events e JOIN nodes n ON n.ref = e.node_ref JOIN sessions s ON s.ref = e.session_ref
     ORDER BY n.node_id, s.session_id, e.seq`,
  ).iterate() as Iterable<{ node: string; session: string; seq: number }>;
}
