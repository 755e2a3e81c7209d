/**
 * `hx stats`: how much history, the most run commands and programs, how often they failed,
 * and activity per day in this machine's time zone.
 *
 * @module
 */

import { parseTimeSpec } from "../../history/time_spec.ts";
import type { StatsQuery, Tally } from "../../vault/stats.ts";
import { command, intOption } from "../command.ts";
import { localTime, printable, table } from "../format.ts";
import { count, isoTime, printJson } from "../output.ts";

/** Failures per run with a known exit status, or `null` when none is known. */
function failureRate(t: Tally): number | null {
  return t.known_exit === 0 ? null : t.failed / t.known_exit;
}

function percent(rate: number | null): string {
  return rate === null ? "-" : `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)}%`;
}

/** Pads the first `n` columns on the left, so numbers line up on their last digit. */
function rightAligned(rows: string[][], n: number): string[][] {
  const widths = Array.from({ length: n }, (_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i < n ? cell.padStart(widths[i]!) : cell)));
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export default command({
  usage:
    "hx stats [TEXT] [--since TIME] [--until TIME] [--host H] [--cwd DIR | --here] [--session ID] [--top N] [--days N] [--json]",
  summary: "most run commands and programs, failure rates, activity per day",
  options: {
    since: { type: "string" },
    until: { type: "string" },
    host: { type: "string" },
    cwd: { type: "string" },
    here: { type: "boolean" },
    session: { type: "string" },
    top: { type: "string" },
    days: { type: "string" },
  },
  positionals: [0, 100],
  async run(inv) {
    const v = inv.values;
    const now = Date.now();
    const cwd = v.here ? Deno.cwd() : v.cwd;
    const top = intOption("top", v.top);
    const days = intOption("days", v.days);
    const query: Omit<StatsQuery, "now"> = {
      text: inv.positionals.join(" "),
      ...(cwd === undefined ? {} : { cwd }),
      ...(v.since === undefined ? {} : { since: parseTimeSpec(v.since, now) }),
      ...(v.until === undefined ? {} : { until: parseTimeSpec(v.until, now) }),
      ...(v.host === undefined ? {} : { host: v.host }),
      ...(v.session === undefined ? {} : { session: v.session }),
      ...(top === undefined ? {} : { top }),
      ...(days === undefined ? {} : { days }),
    };
    const s = (await inv.hx()).stats(query);
    if (inv.json) {
      const rated = <T extends Tally>(t: T) => ({ ...t, failure_rate: failureRate(t) });
      return printJson(inv.out, {
        ...rated(s),
        first_at: isoTime(s.first_at),
        last_at: isoTime(s.last_at),
        top_commands: s.top_commands.map(rated),
        top_programs: s.top_programs.map(rated),
      });
    }
    if (s.runs === 0) return inv.out("No commands match.");
    inv.out(
      `${count(s.runs, "command")} (${s.distinct} distinct) in ${count(s.sessions, "session")}${
        s.hosts > 0 ? ` on ${count(s.hosts, "host")}` : ""
      }, ${localTime(s.first_at!)} to ${localTime(s.last_at!)}`,
    );
    inv.out(
      s.known_exit === 0
        ? "failed: unknown (no exit status recorded)"
        : `failed: ${s.failed} of ${s.known_exit} with a known exit status (${
          percent(failureRate(s))
        })`,
    );
    const tallies = (rows: (Tally & { name: string })[]) =>
      table(rightAligned([
        ["runs", "failed", ""],
        ...rows.map((r) => [String(r.runs), percent(failureRate(r)), printable(r.name)]),
      ], 2)).split("\n").map((line) => `  ${line}`.trimEnd()).join("\n");
    if (s.top_commands.length > 0) {
      inv.out("\nmost run commands");
      inv.out(tallies(s.top_commands.map((c) => ({ ...c, name: c.cmd }))));
      inv.out("\nmost run programs");
      inv.out(tallies(s.top_programs.map((p) => ({ ...p, name: p.program }))));
    }
    if (s.days.length > 0) {
      const most = Math.max(1, ...s.days.map((d) => d.runs));
      inv.out("\nper day (local time)");
      inv.out(
        table(rightAligned(
          s.days.map((d) => {
            const [y, m, day] = d.date.split("-").map(Number);
            return [
              `  ${d.date} ${WEEKDAYS[new Date(y!, m! - 1, day!).getDay()]}`,
              String(d.runs),
              "█".repeat(Math.ceil((d.runs / most) * 30)) +
              (d.failed === 0 ? "" : ` ${d.failed} failed`),
            ];
          }),
          2,
        )),
      );
    }
  },
});
