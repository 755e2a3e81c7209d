/**
 * `hx sync compact`: rewrites this device's published history into packs now, and deletes
 * from the store what every device has seen replaced.
 *
 * @module
 */

import { command } from "../command.ts";
import { count, printJson } from "../output.ts";

export default command({
  usage: "hx sync compact [--json]",
  summary: "pack this device's published history; delete what every device has seen replaced",
  options: {},
  async run(inv) {
    const result = await (await inv.hx()).compact();
    if (inv.json) return printJson(inv.out, result);
    const { packs, replaced, deleted } = result.push.compaction;
    inv.out(
      packs === 0
        ? "Nothing to pack."
        : `Packed ${count(replaced, "object")} into ${count(packs, "pack")}.`,
    );
    const gone = deleted.objects + deleted.blobs;
    if (gone > 0) inv.out(`Deleted ${count(gone, "object")} from the store.`);
    if (deleted.waiting > 0) {
      inv.out(
        `${
          count(deleted.waiting, "replaced object")
        } stay until every device has synced (or 30 days).`,
      );
    }
    if (deleted.failed > 0) inv.err("Could not delete from the store; the next sync tries again.");
  },
});
