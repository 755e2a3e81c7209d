/**
 * Times as people read them: in this machine's time zone (JSON uses UTC ISO strings).
 *
 * @module
 */

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** A date in this machine's time zone: `2026-11-22`. */
export function localDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A time in this machine's time zone: `2026-11-22 09:30` (or `09:30:05` with seconds). */
export function localTime(ms: number, seconds = false): string {
  const d = new Date(ms);
  return `${localDate(ms)} ${pad(d.getHours())}:${pad(d.getMinutes())}${
    seconds ? `:${pad(d.getSeconds())}` : ""
  }`;
}
