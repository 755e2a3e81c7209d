/**
 * `hx sync auto`: syncs automatically after recording, when the last sync is older than an
 * interval.
 *
 * @module
 */

import { parseDuration } from "../../history/time_spec.ts";
import { command, UsageError } from "../command.ts";

export default command({
  usage: "hx sync auto --every DURATION | --off",
  summary: "sync automatically after recording when the last sync is older than DURATION",
  options: { every: { type: "string" }, off: { type: "boolean" } },
  async run(inv) {
    const every = inv.values.every;
    if ((every === undefined) === (inv.values.off !== true)) {
      throw new UsageError("give --every DURATION or --off");
    }
    const minutes = every === undefined
      ? 0
      : Math.max(1, Math.round(parseDuration(every) / 60_000));
    await (await inv.hx()).setAutoSync(minutes);
    inv.out(
      minutes === 0 ? "Auto-sync is off." : `Auto-sync every ${minutes} min, after recording.`,
    );
  },
});
