/**
 * Times given on the command line: durations (`15m`, `2h`, `7d`, `1h30m`) and points in
 * time (a duration ago, an ISO date, or epoch milliseconds).
 *
 * @module
 */

import { HxError } from "../errors.ts";

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a duration such as `15m`, `2h`, `7d`, `90s` or `1h30m`.
 *
 * @param text The duration.
 * @returns Milliseconds.
 * @throws {HxError} `invalid_input` for anything else.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./time_spec.ts";
 * console.assert(parseDuration("1h30m") === 5_400_000);
 * ```
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!/^(\d+(ms|s|m|h|d|w))+$/.test(trimmed)) {
    throw new HxError(
      "invalid_input",
      `Cannot read duration "${text}": use a number and a unit, like 15m, 2h, 7d or 1h30m`,
    );
  }
  let total = 0;
  for (const m of trimmed.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * UNITS[m[2]!]!;
  return total;
}

/**
 * Parses a point in time: a duration ago (`15m`), an ISO 8601 date or date-time (local time
 * unless it ends with `Z` or an offset; a space may stand for the `T`), or epoch milliseconds.
 *
 * @param text The time.
 * @param now The current time (ms).
 * @returns Milliseconds since the epoch.
 * @throws {HxError} `invalid_input` for anything else.
 */
export function parseTimeSpec(text: string, now: number): number {
  if (/^\d{12,}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    // A date, or a date and time without an offset, is local time (Date.parse would take a
    // date alone as UTC midnight); `Z` or an offset says otherwise.
    const local = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00` : text.replace(" ", "T");
    const ms = Date.parse(local);
    if (!Number.isNaN(ms)) return ms;
  }
  try {
    return now - parseDuration(text);
  } catch {
    throw new HxError(
      "invalid_input",
      `Cannot read time "${text}": use a duration ago (15m, 2h, 7d) or a date (2026-11-21T10:00)`,
    );
  }
}

/**
 * Parses a time as shells report it: epoch seconds (with a fraction, as zsh's
 * `$EPOCHREALTIME` and bash's `$EPOCHREALTIME` give), epoch milliseconds (13 digits) or
 * epoch microseconds (16 digits, as the bash hook takes them without forking).
 *
 * @param text The time.
 * @returns Milliseconds since the epoch.
 * @throws {HxError} `invalid_input` for anything else.
 *
 * @example
 * ```ts
 * import { parseEpoch } from "./time_spec.ts";
 * console.assert(parseEpoch("1700000000.25") === 1700000000250);
 * console.assert(parseEpoch("1700000000250") === 1700000000250);
 * console.assert(parseEpoch("1700000000250123") === 1700000000250);
 * ```
 */
export function parseEpoch(text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) {
    throw new HxError(
      "invalid_input",
      `Cannot read time "${text}": give epoch seconds, milliseconds or microseconds`,
    );
  }
  const n = Number(text);
  if (n < 1e11) return Math.round(n * 1000); // seconds
  return n < 1e14 ? Math.round(n) : Math.round(n / 1000); // milliseconds, or microseconds
}

/**
 * When a command ended, from the system's uptime the hook read as it ended (`/proc/uptime`,
 * which fish can read without starting a process; fish has no clock in ms of its own). The
 * recorder starts some time later, more under load: counting back by how much uptime has
 * passed since keeps the commands of a session in the order they ran. An uptime that cannot
 * be from a moment ago (unreadable, in the future, or over ten minutes back) gives `now`.
 *
 * @param then The uptime the hook read (seconds, as `/proc/uptime` gives it).
 * @param uptimeNow The uptime now (seconds), or `null` where there is none.
 * @param now The current time (ms).
 * @returns When the command ended (ms).
 *
 * @example
 * ```ts
 * import { endFromUptime } from "./time_spec.ts";
 * console.assert(endFromUptime("100.25", 100.75, 1_700_000_000_000) === 1_699_999_999_500);
 * console.assert(endFromUptime("junk", 100.75, 1_700_000_000_000) === 1_700_000_000_000);
 * ```
 */
export function endFromUptime(then: string, uptimeNow: number | null, now: number): number {
  if (uptimeNow === null || !/^\d+(\.\d+)?$/.test(then)) return now;
  const lag = (uptimeNow - Number(then)) * 1000;
  return lag >= 0 && lag <= 600_000 ? Math.round(now - lag) : now;
}
