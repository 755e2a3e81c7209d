/**
 * Human-readable output of the CLI: relative times, durations, sizes, tables.
 *
 * @module
 */

import { localDate, localTime } from "../_time.ts";

export { localDate, localTime };

/** "12s ago", "5m ago", "3h ago", "2d ago", or the local date for older times. */
export function relativeTime(ms: number, now: number): string {
  const d = Math.max(0, now - ms);
  if (d < 60_000) return `${Math.floor(d / 1000)}s ago`;
  if (d < 3_600_000) return `${Math.floor(d / 60_000)}m ago`;
  if (d < 86_400_000) return `${Math.floor(d / 3_600_000)}h ago`;
  if (d < 30 * 86_400_000) return `${Math.floor(d / 86_400_000)}d ago`;
  return localDate(ms);
}

/** "850ms", "12s", "3m04s", "2h05m". */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "512 B", "1.5 KiB", "3.2 MiB", "1.1 GiB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Pads columns of rows to a table. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  }
  return rows.map((row) =>
    row.map((
      cell,
      i,
    ) => (i === row.length - 1 ? cell : cell + " ".repeat(widths[i]! - [...cell].length)))
      .join("  ")
  ).join("\n");
}

/** A one-line progress bar for a TTY. */
export function progressBar(label: string, done: number, total: number, width = 30): string {
  const frac = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(frac * width);
  return `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`;
}

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and
// isolates that reorder what a terminal shows (U+202A-U+202E, U+2066-U+2069).
// deno-lint-ignore no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text safe to print on a terminal: control characters (an escape sequence could move the
 * cursor, rewrite the screen or the title, or hide text) are shown escaped, as `\x1b`; tabs
 * as spaces; line breaks as `⏎ ` so a command stays on one line.
 *
 * @param text Text that came from a command, a host name, a store.
 * @returns The text, printable.
 *
 * @example
 * ```ts
 * import { printable } from "./format.ts";
 * console.assert(printable("echo \x1b[2Jhi\nls") === "echo \\x1b[2Jhi⏎ ls");
 * ```
 */
export function printable(text: string): string {
  return text.replace(/\r?\n/g, "⏎ ").replace(/\t/g, " ").replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}
