/**
 * `hx pin`: pins a session (pins sync to every device). `hx unpin` is the same command the
 * other way round.
 *
 * @module
 */

import { type Command, command, UsageError } from "../command.ts";
import { printJson } from "../output.ts";

/** `hx pin` (`pinned`) or `hx unpin`. */
export function pinCommand(pinned: boolean): Command<{
  last: { type: "boolean" };
  session: { type: "string" };
}> {
  const verb = pinned ? "pin" : "unpin";
  return command({
    usage: `hx ${verb} --last | --session ID [--json]`,
    summary: pinned
      ? "pin a session (pins sync to every device)"
      : "unpin a session (on every device, after sync)",
    options: { last: { type: "boolean" }, session: { type: "string" } },
    async run(inv) {
      const hx = await inv.hx();
      const here = Deno.env.get("HX_SESSION");
      let id = inv.values.session;
      if (id === undefined) {
        if (!inv.values.last) throw new UsageError("give --last or --session ID");
        id = hx.last(here === undefined ? {} : { except: here }).session_id;
      }
      const changed = pinned ? hx.pin(id) : hx.unpin(id);
      if (inv.json) return printJson(inv.out, { session_id: id, pinned, changed });
      inv.out(
        changed
          ? `${pinned ? "Pinned" : "Unpinned"} session ${id}.`
          : `Session ${id} was ${pinned ? "already pinned" : "not pinned"}.`,
      );
    },
  });
}

export default pinCommand(true);
