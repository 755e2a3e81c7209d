/**
 * What a history says about its owner: how much, what, how often it failed, and when.
 *
 * @module
 */

import { localDate } from "../_time.ts";
import type { Db } from "./db.ts";
import { type FindQuery, whereOf } from "./events.ts";

/** Filters of {@linkcode historyStats}, as `find` has them, and how much to show. */
export interface StatsQuery extends Omit<FindQuery, "limit" | "oldestFirst" | "failed" | "exit"> {
  /** How many commands and programs to list. Default 10. */
  top?: number;
  /** How many days of activity, ending with the day of `until` (or today). Default 14. */
  days?: number;
  /** The clock (ms), for "today". */
  now: number;
}

/** Runs and failures of one command or program. */
export interface Tally {
  /** How many times it ran. */
  runs: number;
  /** Runs that exited with a status other than 0. */
  failed: number;
  /** Runs whose exit status is known (imported history has none): the failure rate's base. */
  known_exit: number;
}

/** What {@linkcode historyStats} returns. */
export interface HistoryStats extends Tally {
  /** Distinct command lines. */
  distinct: number;
  /** Sessions they ran in. */
  sessions: number;
  /** Hosts that recorded them (imported history has none). */
  hosts: number;
  /** The first run (ms), or `null` when there is none. */
  first_at: number | null;
  /** The last run (ms), or `null` when there is none. */
  last_at: number | null;
  /** The most run command lines, most runs first. */
  top_commands: ({ cmd: string } & Tally)[];
  /** The most run programs (the first word after any `NAME=value`), most runs first. */
  top_programs: ({ program: string } & Tally)[];
  /** Runs per day in this machine's time zone, oldest first, days without any included. */
  days: { date: string; runs: number; failed: number }[];
}

/** Most days {@linkcode historyStats} lists. */
export const MAX_STATS_DAYS = 3660;
/** Most commands and programs {@linkcode historyStats} lists. */
export const MAX_STATS_TOP = 1000;

/** The program a command line runs: its first word after any `NAME=value` assignments. */
export function programOf(cmd: string): string {
  for (const word of cmd.trim().split(/\s+/)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) return word;
  }
  return "";
}

/**
 * Statistics of the events a query keeps.
 *
 * @param db The index.
 * @param query Filters (as `find`), how many to list, the clock.
 * @returns Totals, the most run commands and programs, and activity per local day.
 */
export function historyStats(db: Db, query: StatsQuery): HistoryStats {
  const top = Math.min(MAX_STATS_TOP, Math.max(0, Math.floor(query.top ?? 10)));
  const dayCount = Math.min(MAX_STATS_DAYS, Math.max(0, Math.floor(query.days ?? 14)));
  const { where, params } = whereOf(query);
  // Commands are joined only when the text filter needs them: the scan is most of the cost.
  const from = query.text ? "events e JOIN commands c ON c.id = e.cmd_id" : "events e";

  const totals = db.get<{
    sessions: number;
    hosts: number;
    first_at: number | null;
    last_at: number | null;
  }>(
    `SELECT count(DISTINCT e.session_ref) AS sessions, count(DISTINCT e.host) AS hosts,
       min(e.started_at) AS first_at, max(e.started_at) AS last_at FROM ${from} ${where}`,
    ...params,
  )!;
  // One scan groups the runs by command into a temporary table (in memory, one row per
  // distinct command); the totals, the top commands and the programs are read from it.
  db.defineFunction("hx_program", programOf);
  db.exec("DROP TABLE IF EXISTS temp.stats_per");
  db.prepareUncached(
    `CREATE TEMP TABLE stats_per AS SELECT e.cmd_id AS cmd_id, count(*) AS runs,
       coalesce(sum(e.exit_code <> 0), 0) AS failed, count(e.exit_code) AS known_exit
     FROM ${from} ${where} GROUP BY e.cmd_id`,
  ).run(...params);
  try {
    const sums = db.get<Tally & { distinct: number }>(
      `SELECT coalesce(sum(runs), 0) AS runs, coalesce(sum(failed), 0) AS failed,
         coalesce(sum(known_exit), 0) AS known_exit, count(*) AS "distinct" FROM stats_per`,
    )!;
    const stats: HistoryStats = {
      ...sums,
      ...totals,
      top_commands: db.all<{ cmd: string } & Tally>(
        `SELECT c.cmd AS cmd, p.runs AS runs, p.failed AS failed, p.known_exit AS known_exit
         FROM stats_per p JOIN commands c ON c.id = p.cmd_id
         ORDER BY p.runs DESC, c.last_at DESC LIMIT ?`,
        top,
      ),
      top_programs: db.all<{ program: string } & Tally>(
        `SELECT hx_program(c.cmd) AS program, sum(p.runs) AS runs, sum(p.failed) AS failed,
           sum(p.known_exit) AS known_exit FROM stats_per p JOIN commands c ON c.id = p.cmd_id
         GROUP BY program ORDER BY runs DESC, program LIMIT ?`,
        top,
      ),
      days: dayCount > 0 ? perDay(db, query, dayCount, from) : [],
    };
    return stats;
  } finally {
    db.exec("DROP TABLE IF EXISTS temp.stats_per");
  }
}

/** Runs and failures on each of the `dayCount` local days ending with `until` (or now). */
function perDay(
  db: Db,
  query: StatsQuery,
  dayCount: number,
  from: string,
): HistoryStats["days"] {
  // Local days, as SQLite's `localtime` and JavaScript's Date both take them from TZ.
  const last = new Date(query.until ?? query.now);
  const first = new Date(last.getFullYear(), last.getMonth(), last.getDate() - dayCount + 1);
  const keys: string[] = [];
  for (let i = 0; i < dayCount; i++) {
    keys.push(
      localDate(new Date(first.getFullYear(), first.getMonth(), first.getDate() + i).getTime()),
    );
  }
  const byDay = new Map(keys.map((date) => [date, { date, runs: 0, failed: 0 }]));
  const since = Math.max(query.since ?? -Infinity, first.getTime());
  const window = whereOf({ ...query, since });
  const rows = db.all<{ date: string; runs: number; failed: number }>(
    `SELECT date(e.started_at / 1000, 'unixepoch', 'localtime') AS date, count(*) AS runs,
         coalesce(sum(e.exit_code <> 0), 0) AS failed FROM ${from} ${window.where}
       GROUP BY date`,
    ...window.params,
  );
  for (const r of rows) {
    const day = byDay.get(r.date);
    if (day !== undefined) Object.assign(day, { runs: r.runs, failed: r.failed });
  }
  return [...byDay.values()];
}
