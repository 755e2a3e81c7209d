/**
 * `hx sync push`: publishes this device's new history.
 *
 * @module
 */

import { command } from "../command.ts";
import { bytes } from "../format.ts";
import { count, optional, printJson, progress, requestsLine } from "../output.ts";

export default command({
  usage: "hx sync push [--json]",
  summary: "publish this device's new history",
  options: {},
  async run(inv) {
    const result = await (await inv.hx()).push({
      ...optional("onProgress", progress(inv.json, "push")),
      ...optional("onBlobProgress", progress(inv.json, "blobs")),
    });
    if (inv.json) return printJson(inv.out, result);
    inv.out(
      result.manifest_seq === null
        ? "Nothing to push."
        : `Pushed ${count(result.events, "command")} in ${
          count(result.segments.uploaded, "segment")
        } (${bytes(result.bytes)}); manifest seq ${result.manifest_seq}.`,
    );
    if (inv.values.verbose) inv.out(requestsLine(result.requests));
  },
});
