/**
 * `hx import`: imports a shell history file (re-importing adds nothing).
 *
 * @module
 */

import type { Shell } from "../../history/parsed_command.ts";
import { command, UsageError } from "../command.ts";
import { count, printJson } from "../output.ts";

export default command({
  usage: "hx import --file PATH [--shell zsh|bash|fish] [--json]",
  summary: "import a shell history file (re-importing adds nothing)",
  options: { file: { type: "string" }, shell: { type: "string" } },
  positionals: [0, 1],
  async run(inv) {
    const file = inv.values.file ?? inv.positionals[0];
    if (file === undefined) throw new UsageError("--file PATH is required");
    const shell = inv.values.shell;
    if (shell !== undefined && !["zsh", "bash", "fish"].includes(shell)) {
      throw new UsageError(`--shell must be zsh, bash or fish, not "${shell}"`);
    }
    const result = await (await inv.hx()).importFile(
      file,
      shell === undefined ? {} : { shell: shell as Shell },
    );
    if (inv.json) return printJson(inv.out, result);
    inv.out(
      `Imported ${
        count(result.inserted, "new command")
      } from ${file} (${result.shell}; ${result.duplicate} already known, ${result.recorded} recorded by the hook, ${result.covered} forgotten)`,
    );
  },
});
