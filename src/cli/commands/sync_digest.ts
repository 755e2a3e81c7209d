/**
 * `hx sync digest`: a hash of the set of live events; equal on two devices means the same
 * history.
 *
 * @module
 */

import { command } from "../command.ts";

export default command({
  usage: "hx sync digest [--json]",
  summary: "a hash of the set of live events: equal on two devices means the same history",
  options: {},
  async run(inv) {
    const d = await (await inv.hx()).digest();
    inv.out(inv.json ? JSON.stringify(d) : `${d.digest}  (${d.events} events)`);
  },
});
