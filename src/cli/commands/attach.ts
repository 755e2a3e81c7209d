/**
 * `hx attach`: attaches a file to a session; it syncs encrypted on the next push.
 *
 * @module
 */

import { command, UsageError } from "../command.ts";
import { bytes, printable } from "../format.ts";
import { printJson } from "../output.ts";

export default command({
  usage: "hx attach --file PATH [--session ID] [--json]",
  summary: "attach a file to a session (default: the latest); it syncs encrypted on the next push",
  options: { file: { type: "string" }, session: { type: "string" } },
  positionals: [0, 1],
  async run(inv) {
    const file = inv.values.file ?? inv.positionals[0];
    if (file === undefined) throw new UsageError("--file PATH is required");
    const session = inv.values.session;
    const a = await (await inv.hx()).attach(
      file,
      session === undefined ? {} : { sessionId: session },
    );
    if (inv.json) return printJson(inv.out, a);
    inv.out(
      `Attached ${printable(a.name)} (${bytes(a.size)}, sha256 ${
        a.sha256.slice(0, 12)
      }) to session ${printable(a.session_id)}.`,
    );
  },
});
