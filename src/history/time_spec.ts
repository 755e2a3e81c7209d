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
 * Parses a point in time: a duration ago (`15m`), an ISO 8601 date or date-time, or
 * epoch milliseconds.
 *
 * @param text The time.
 * @param now The current time (ms).
 * @returns Milliseconds since the epoch.
 * @throws {HxError} `invalid_input` for anything else.
 */
export function parseTimeSpec(text: string, now: number): number {
  if (/^\d{12,}$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
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
