/**
 * `hx forget`: forgets a recent window here and, once pushed, on every device.
 *
 * @module
 */

import { parseDuration, parseTimeSpec } from "../../history/time_spec.ts";
import { HxError } from "../../errors.ts";
import { command, UsageError } from "../command.ts";
import { localTime } from "../format.ts";
import { count, isoTime, printJson } from "../output.ts";

export default command({
  usage: "hx forget --since DURATION [--until TIME] [--this-device] [--json]",
  summary: "forget a recent window everywhere (e.g. --since 15m), on every device after sync",
  options: {
    since: { type: "string" },
    until: { type: "string" },
    "this-device": { type: "boolean" },
  },
  async run(inv) {
    const since = inv.values.since;
    if (since === undefined) {
      throw new UsageError("--since DURATION is required (e.g. 15m, 2h, 7d)");
    }
    const { start, end } = forgetWindow({ since, until: inv.values.until }, Date.now());
    const hx = await inv.hx();
    const result = await hx.forget({
      start,
      end,
      ...(inv.values["this-device"] ? { node: hx.nodeId } : {}),
    });
    if (inv.json) {
      return printJson(inv.out, {
        tombstone_id: result.tombstone.tombstone_id,
        start: isoTime(start),
        end: isoTime(end),
        events: result.events,
        artifacts: result.artifacts,
      });
    }
    inv.out(
      `Forgot ${count(result.events, "command")} from ${localTime(start, true)} to ${
        localTime(end, true)
      }; the next push tells your other devices.`,
    );
  },
});

/**
 * The window `hx forget` forgets: from `since` ago to `until` (default: now). A window may
 * not end in the future: a tombstone reaching past its making would silently drop every
 * later recording.
 *
 * @param opts `since` (a duration ago) and optionally `until` (a point in time).
 * @param now The current time (ms).
 * @returns The window (ms, inclusive).
 * @throws {HxError} `invalid_input` for a bad time, a window that ends before it starts, or
 *   one that ends in the future.
 */
function forgetWindow(opts: { since: string; until?: string | undefined }, now: number): {
  start: number;
  end: number;
} {
  const start = now - parseDuration(opts.since);
  const end = opts.until === undefined ? now : parseTimeSpec(opts.until, now);
  if (end > now) {
    throw new HxError(
      "invalid_input",
      `Cannot forget until ${
        localTime(end, true)
      }: it is in the future (it would drop every later recording)`,
    );
  }
  if (end < start) {
    throw new HxError("invalid_input", "Cannot forget: --until is before --since");
  }
  return { start, end };
}
