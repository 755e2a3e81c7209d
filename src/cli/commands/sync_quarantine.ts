/**
 * `hx sync quarantine`: the objects sync set aside (unreadable, tampered, oversized), and two
 * ways out: try them all at the next pull, or forget them and start afresh.
 *
 * @module
 */

import { command, UsageError } from "../command.ts";
import { printable, relativeTime, table } from "../format.ts";
import { isoTime, printJson } from "../output.ts";

export default command({
  usage: "hx sync quarantine [list | retry | clear] [--json]",
  summary: "list the objects sync set aside; retry them at the next pull, or clear the list",
  options: {},
  positionals: [0, 1],
  async run(inv) {
    const action = inv.positionals[0] ?? "list";
    const hx = await inv.hx();
    if (action === "retry" || action === "clear") {
      const n = action === "retry" ? hx.retryQuarantined() : hx.clearQuarantined();
      if (inv.json) return printJson(inv.out, { action, entries: n });
      inv.out(
        n === 0
          ? "The quarantine is empty."
          : action === "retry"
          ? `${n} quarantined objects are tried again at the next pull (hx sync pull).`
          : `Cleared ${n} entries; the next pull tries every object afresh and sets aside what still fails.`,
      );
      return;
    }
    if (action !== "list") {
      throw new UsageError(`unknown action "${action}" (list, retry or clear)`);
    }
    const { total, entries } = hx.quarantined();
    if (inv.json) {
      return printJson(inv.out, {
        total,
        entries: entries.map((q) => ({
          ...q,
          first_seen: isoTime(q.first_seen),
          last_attempt: isoTime(q.last_attempt),
          next_attempt_at: isoTime(q.next_attempt_at),
        })),
      });
    }
    if (total === 0) return inv.out("The quarantine is empty.");
    const now = Date.now();
    inv.out(table([
      ["since", "tries", "category", "object", "why"],
      ...entries.map((q) => [
        relativeTime(q.first_seen, now),
        String(q.attempts),
        q.category,
        printable(q.key),
        printable(q.message),
      ]),
    ]));
    if (total > entries.length) {
      inv.out(`… and ${total - entries.length} more`);
    }
    inv.out("hx sync quarantine retry tries them at the next pull; clear starts afresh.");
  },
});
