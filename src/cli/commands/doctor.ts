/**
 * `hx doctor`: checks this device's setup, recording and sync, and says what to do.
 *
 * @module
 */

import { command } from "../command.ts";
import { printable } from "../format.ts";
import { printJson } from "../output.ts";

export default command({
  usage: "hx doctor [--json]",
  summary: "check this device's setup, recording and sync, and say what to do",
  options: {},
  async run(inv) {
    const { runDoctor } = await import("../../doctor.ts");
    const report = await runDoctor(await inv.hx(), undefined, {
      path: inv.settings.path,
      problem: inv.settingsProblem,
    });
    if (inv.json) printJson(inv.out, report);
    else {
      inv.out(`hx ${report.version} (deno ${report.deno}), data in ${report.home}`);
      for (const c of report.checks) {
        inv.out(`${c.ok ? "ok  " : "FIX "} ${c.name}: ${printable(c.detail)}`);
      }
    }
    return report.checks.every((c) => c.ok) ? 0 : 1;
  },
});
