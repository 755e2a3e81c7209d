/**
 * `hx pin`: pins a session (pins sync to every device).
 *
 * @module
 */

import { command, UsageError } from "../command.ts";
import { printJson } from "../output.ts";

export default command({
  usage: "hx pin --last | --session ID [--json]",
  summary: "pin a session (pins sync to every device and stay)",
  options: { last: { type: "boolean" }, session: { type: "string" } },
  async run(inv) {
    const hx = await inv.hx();
    const here = Deno.env.get("HX_SESSION");
    let id = inv.values.session;
    if (id === undefined) {
      if (!inv.values.last) throw new UsageError("give --last or --session ID");
      id = hx.last(here === undefined ? {} : { except: here }).session_id;
    }
    const added = hx.pin(id);
    if (inv.json) return printJson(inv.out, { session_id: id, pinned: true, new: added });
    inv.out(added ? `Pinned session ${id}.` : `Session ${id} was already pinned.`);
  },
});
