/**
 * `hx artifact get`: writes an artifact to a file, fetching it from the store if needed.
 *
 * @module
 */

import { command, UsageError } from "../command.ts";
import { bytes, printable } from "../format.ts";
import { optional, printJson, progress } from "../output.ts";

export default command({
  usage: "hx artifact get REF --out PATH [--json]",
  summary: "write an artifact (by name, id or sha256 prefix) to PATH, fetching it if needed",
  options: { out: { type: "string" } },
  positionals: [2, 2],
  async run(inv) {
    const [action, ref] = inv.positionals as [string, string];
    if (action !== "get") throw new UsageError(`unknown artifact action "${action}"; use get`);
    const out = inv.values.out;
    if (out === undefined) throw new UsageError("--out PATH is required");
    const a = await (await inv.hx()).getArtifact(ref, out, {
      ...optional("onProgress", progress(inv.json, "fetch")),
    });
    if (inv.json) return printJson(inv.out, { ...a, out });
    inv.out(`Wrote ${printable(a.name)} (${bytes(a.size)}) to ${out}.`);
  },
});
