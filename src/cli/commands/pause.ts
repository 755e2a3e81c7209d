/**
 * `hx pause`: stops recording on this device, for a while or until `hx resume`.
 *
 * @module
 */

import { parseDuration } from "../../history/time_spec.ts";
import { command } from "../command.ts";
import { localTime } from "../format.ts";

export default command({
  usage: "hx pause [--for DURATION]",
  summary: "stop recording on this device (for a while, or until hx resume)",
  options: { for: { type: "string" } },
  async run(inv) {
    const span = inv.values.for;
    const until = span === undefined ? undefined : Date.now() + parseDuration(span);
    await inv.home.pause(until);
    inv.out(
      until === undefined
        ? "Recording paused until hx resume."
        : `Recording paused until ${localTime(until)}.`,
    );
  },
});
