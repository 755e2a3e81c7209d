/**
 * `hx sync verify`: reads every object in the store and reports what does not decrypt or
 * hash.
 *
 * @module
 */

import { command } from "../command.ts";
import { bytes, printable, table } from "../format.ts";
import { count, optional, printJson, progress } from "../output.ts";

export default command({
  usage: "hx sync verify [--json]",
  summary: "read every object in the store and report what does not decrypt or hash",
  options: {},
  async run(inv) {
    const report = await (await inv.hx()).verify({
      ...optional("onProgress", progress(inv.json, "verify")),
    });
    if (inv.json) printJson(inv.out, report);
    else {
      inv.out(
        `Read ${count(report.objects, "object")} (${bytes(report.bytes)}): ${
          count(report.problems.length, "problem")
        }.`,
      );
      if (report.problems.length > 0) {
        inv.out(
          table(
            report.problems.map((p) => [p.kind, p.category, printable(`${p.key}: ${p.message}`)]),
          ),
        );
      }
    }
    return report.problems.length === 0 ? 0 : 1;
  },
});
