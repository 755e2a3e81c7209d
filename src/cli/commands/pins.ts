/**
 * `hx pins`: lists pinned sessions.
 *
 * @module
 */

import { command } from "../command.ts";
import { printable, relativeTime, table } from "../format.ts";
import { count, isoTime, printJson } from "../output.ts";

export default command({
  usage: "hx pins [--json]",
  summary: "list pinned sessions",
  options: {},
  async run(inv) {
    const pins = (await inv.hx()).pins();
    if (inv.json) {
      return printJson(
        inv.out,
        pins.map((p) => ({ ...p, pinned_at: isoTime(p.pinned_at) })),
      );
    }
    const now = Date.now();
    inv.out(table(pins.map((p) => [
      relativeTime(p.pinned_at, now),
      printable(p.session_id),
      count(p.commands, "command"),
      printable(p.first_command ?? ""),
    ])));
  },
});
