/**
 * What commands print: JSON for data (`--json`), one-line counts, progress on a terminal.
 * Times in JSON are ISO 8601 strings in UTC with milliseconds (`2026-11-22T09:00:00.000Z`);
 * durations are milliseconds in fields named `*_ms`.
 *
 * @module
 */

import type { StoredEvent } from "../vault/events.ts";
import { progressBar } from "./format.ts";

/** `1 command`, `2 commands`. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** A time (ms since the epoch) as JSON shows it, or `null`. */
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** An event as `--json` shows it. */
export function eventJson(e: StoredEvent) {
  return {
    cmd: e.cmd,
    started_at: isoTime(e.started_at),
    ended_at: isoTime(e.ended_at),
    duration_ms: e.duration_ms,
    exit_code: e.exit_code,
    cwd: e.cwd,
    host: e.host,
    node_id: e.node_id,
    session_id: e.session_id,
    seq: e.seq,
  };
}

/** Prints a value as indented JSON. */
export function printJson(out: (text: string) => void, value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

/** A progress callback drawing a bar on stderr when it is a terminal (never with `--json`). */
export function progress(
  json: boolean,
  label: string,
): ((done: number, total: number) => void) | undefined {
  if (json || !Deno.stderr.isTerminal()) return undefined;
  const enc = new TextEncoder();
  return (done, total) => {
    Deno.stderr.writeSync(enc.encode(`\r${progressBar(label, done, total)}`));
    if (done === total) Deno.stderr.writeSync(enc.encode("\n"));
  };
}

/** `{ key: value }` when the value is defined, `{}` otherwise (for exact optional types). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The requests a run made, in one line. */
export function requestsLine(r: Record<string, number>): string {
  const parts = Object.entries(r).filter(([k, n]) => k !== "total" && n > 0).map(([k, n]) =>
    `${n} ${k}`
  );
  return `requests: ${parts.length === 0 ? "none" : parts.join(", ")} (${r.total ?? 0} in all)`;
}
