/**
 * `hx artifacts`: lists attached files, newest first.
 *
 * @module
 */

import { command } from "../command.ts";
import { bytes, printable, relativeTime, table } from "../format.ts";
import { printJson } from "../output.ts";

export default command({
  usage: "hx artifacts [--session ID] [--json]",
  summary: "list attached files, newest first (* = content here, the rest are fetched on demand)",
  options: { session: { type: "string" } },
  async run(inv) {
    const session = inv.values.session;
    const list = await (await inv.hx()).artifacts(
      session === undefined ? {} : { sessionId: session },
    );
    if (inv.json) return printJson(inv.out, list);
    const now = Date.now();
    inv.out(table(list.map((a) => [
      a.cached ? "*" : " ",
      a.sha256.slice(0, 12),
      bytes(a.size),
      relativeTime(a.created_at, now),
      printable(a.name),
    ])));
  },
});
