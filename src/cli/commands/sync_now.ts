/**
 * `hx sync`: pushes, then pulls.
 *
 * @module
 */

import { command } from "../command.ts";
import { count, optional, printJson, progress } from "../output.ts";

export default command({
  usage: "hx sync [--json]",
  summary: "push then pull",
  options: {},
  async run(inv) {
    const result = await (await inv.hx()).sync({
      push: {
        ...optional("onProgress", progress(inv.json, "push")),
        ...optional("onBlobProgress", progress(inv.json, "blobs")),
      },
      pull: { ...optional("onProgress", progress(inv.json, "pull")) },
    });
    if (inv.json) return printJson(inv.out, result);
    const { push, pull } = result!;
    inv.out(
      `Pushed ${count(push.events, "command")}, pulled ${pull.events.inserted}; applied ${
        count(pull.tombstones.applied, "tombstone")
      }.`,
    );
    if (pull.quarantined > 0) {
      inv.err(`${count(pull.quarantined, "object")} in quarantine; see hx sync status`);
    }
  },
});
