/**
 * `hx last`: the latest session (not this shell's), each failure with a command of context.
 *
 * @module
 */

import { command } from "../command.ts";
import { printable, relativeTime, table } from "../format.ts";
import { count, eventJson, isoTime, printJson } from "../output.ts";

export default command({
  usage: "hx last [--session ID] [--json]",
  summary: "the latest session (not this shell's), its failures with a command of context",
  options: { session: { type: "string" } },
  async run(inv) {
    const session = inv.values.session;
    const here = Deno.env.get("HX_SESSION");
    const view = (await inv.hx()).last({
      ...(session === undefined ? {} : { sessionId: session }),
      ...(here === undefined ? {} : { except: here }),
    });
    if (inv.json) {
      return printJson(inv.out, {
        ...view,
        started_at: isoTime(view.started_at),
        events: view.events.map(eventJson),
        failures: view.failures.map((f) => ({
          before: f.before === null ? null : eventJson(f.before),
          failed: eventJson(f.failed),
          after: f.after === null ? null : eventJson(f.after),
        })),
      });
    }
    const now = Date.now();
    inv.out(
      `session ${printable(view.session_id)}${view.host ? ` on ${printable(view.host)}` : ""}${
        view.shell ? ` (${printable(view.shell)})` : ""
      }, ${count(view.events.length, "command")}, ${view.failures.length} failed${
        view.pinned ? ", pinned" : ""
      }`,
    );
    inv.out(table(view.events.map((e) => [
      relativeTime(e.started_at, now),
      e.exit_code === null || e.exit_code === 0 ? " " : `✗${e.exit_code}`,
      printable(e.cmd),
    ])));
    for (const f of view.failures) {
      inv.out(`\nfailed (exit ${f.failed.exit_code}) in ${printable(f.failed.cwd ?? "?")}:`);
      if (f.before !== null) inv.out(`    ${printable(f.before.cmd)}`);
      inv.out(`  ✗ ${printable(f.failed.cmd)}`);
      if (f.after !== null) inv.out(`    ${printable(f.after.cmd)}`);
    }
  },
});
