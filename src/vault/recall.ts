/**
 * What interactive search reads: distinct commands newest first (all of history, or the runs
 * of one host, session or directory), and the latest run of a command.
 *
 * @module
 */

import type { Db } from "./db.ts";

/** One distinct command. */
export interface CommandRow {
  /** `commands.id`. */
  id: number;
  cmd: string;
  /** When it last ran, within the filter (ms). */
  last_at: number;
}

/** Where runs must come from; empty for all of history. */
export interface RunFilter {
  host?: string;
  session?: string;
  cwd?: string;
}

/**
 * A page of distinct commands across all of history, newest first.
 *
 * @param db The index.
 * @param limit At most this many.
 * @param after The last row of the previous page, to continue after it.
 * @returns The page (shorter than `limit` at the end).
 */
export function recentCommands(db: Db, limit: number, after?: CommandRow): CommandRow[] {
  if (after === undefined) {
    return db.all<CommandRow & Record<string, number | string>>(
      `SELECT id, cmd, last_at FROM commands WHERE runs > 0
       ORDER BY last_at DESC, id DESC LIMIT ?`,
      limit,
    );
  }
  return db.all<CommandRow & Record<string, number | string>>(
    `SELECT id, cmd, last_at FROM commands
     WHERE runs > 0 AND (last_at < ? OR (last_at = ? AND id < ?))
     ORDER BY last_at DESC, id DESC LIMIT ?`,
    after.last_at,
    after.last_at,
    after.id,
    limit,
  );
}

function where(filter: RunFilter): { sql: string; params: string[] } {
  const parts: string[] = [];
  const params: string[] = [];
  if (filter.session !== undefined) {
    parts.push("e.session_ref = (SELECT ref FROM sessions WHERE session_id = ?)");
    params.push(filter.session);
  }
  if (filter.host !== undefined) {
    parts.push("e.host = ?");
    params.push(filter.host);
  }
  if (filter.cwd !== undefined) {
    parts.push("e.cwd = ?");
    params.push(filter.cwd);
  }
  return { sql: parts.length === 0 ? "1" : parts.join(" AND "), params };
}

/**
 * The distinct commands of the runs a filter keeps, newest first.
 *
 * @param db The index.
 * @param filter Host, session or directory.
 * @returns Every such command (one row each).
 */
export function filteredCommands(db: Db, filter: RunFilter): CommandRow[] {
  const w = where(filter);
  return db.all<CommandRow & Record<string, number | string>>(
    `SELECT c.id AS id, c.cmd AS cmd, max(e.started_at) AS last_at
     FROM events e JOIN commands c ON c.id = e.cmd_id
     WHERE ${w.sql} GROUP BY c.id ORDER BY last_at DESC, c.id DESC`,
    ...w.params,
  );
}

/** A command's latest run (within a filter) and how often it ran. */
export interface LatestRun {
  started_at: number;
  duration_ms: number | null;
  exit_code: number | null;
  cwd: string | null;
  host: string | null;
  session_id: string;
}

/**
 * The latest run of a command.
 *
 * @param db The index.
 * @param cmdId `commands.id`.
 * @param filter Runs to consider.
 * @returns The run, or `undefined` when none is left.
 */
export function latestRun(db: Db, cmdId: number, filter: RunFilter = {}): LatestRun | undefined {
  const w = where(filter);
  return db.get<LatestRun & Record<string, number | string | null>>(
    `SELECT e.started_at, e.duration_ms, e.exit_code, e.cwd, e.host, s.session_id
     FROM events e JOIN sessions s ON s.ref = e.session_ref
     WHERE e.cmd_id = ? AND ${w.sql} ORDER BY e.started_at DESC LIMIT 1`,
    cmdId,
    ...w.params,
  );
}

/** Everything known about one command, for the details view. */
export interface CommandDetails {
  runs: number;
  failures: number;
  first_at: number;
  last_at: number;
  /** Hosts it ran on (imported history has none), most runs first, at most 5. */
  hosts: string[];
  /** Directories it ran in, most runs first, at most 5. */
  directories: string[];
}

/**
 * Details of a command across all of history.
 *
 * @param db The index.
 * @param cmdId `commands.id`.
 * @returns The details (zero runs when it is gone).
 */
export function commandDetails(db: Db, cmdId: number): CommandDetails {
  const totals = db.get<{ runs: number; failures: number; first_at: number; last_at: number }>(
    `SELECT count(*) AS runs, coalesce(sum(exit_code <> 0), 0) AS failures,
       coalesce(min(started_at), 0) AS first_at, coalesce(max(started_at), 0) AS last_at
     FROM events WHERE cmd_id = ?`,
    cmdId,
  )!;
  const top = (column: "host" | "cwd") =>
    db.all<{ v: string }>(
      `SELECT ${column} AS v FROM events WHERE cmd_id = ? AND ${column} IS NOT NULL
       GROUP BY ${column} ORDER BY count(*) DESC LIMIT 5`,
      cmdId,
    ).map((r) => r.v);
  return { ...totals, hosts: top("host"), directories: top("cwd") };
}
