/**
 * `hx sync pull`: imports what other devices published.
 *
 * @module
 */

import { command } from "../command.ts";
import { count, optional, printJson, progress, requestsLine } from "../output.ts";

export default command({
  usage: "hx sync pull [--all] [--scan] [--json]",
  summary:
    "import what other devices published (--all: also history a --since join left; --scan: repair by importing every segment found)",
  options: { scan: { type: "boolean" }, all: { type: "boolean" } },
  async run(inv) {
    const result = await (await inv.hx()).pull({
      ...(inv.values.scan ? { scan: true } : {}),
      ...(inv.values.all ? { all: true } : {}),
      ...optional("onProgress", progress(inv.json, "pull")),
    });
    if (inv.json) return printJson(inv.out, result);
    inv.out(
      `Pulled ${count(result.events.inserted, "new command")} from ${
        count(result.segments.imported, "segment")
      }; applied ${count(result.tombstones.applied, "tombstone")}.`,
    );
    const failed = result.segments.failed + result.tombstones.refused + result.manifests.failed +
      result.manifests.rollback + result.manifests.missing;
    if (failed > 0) {
      inv.err(
        `${
          count(failed, "object")
        } failed or reported (${result.quarantined} in quarantine); see hx sync status`,
      );
    }
    if (inv.values.verbose) inv.out(requestsLine(result.requests));
  },
});
