/**
 * `hx forget`: forgets a recent window here and, once pushed, on every device.
 *
 * @module
 */

import { forgetWindow } from "../../history/time_spec.ts";
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
