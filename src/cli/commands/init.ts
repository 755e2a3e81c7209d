/**
 * `hx init zsh|bash|fish`: prints the shell hook.
 *
 * @module
 */

import { hookScript } from "../../history/shell_hooks.ts";
import { command, UsageError } from "../command.ts";

export default command({
  usage: "hx init zsh|bash|fish [--disable-ctrl-r] [--up-arrow]",
  summary:
    'print the shell hook and key bindings: eval "$(hx init zsh)" in ~/.zshrc (hx init fish | source)',
  options: { "disable-ctrl-r": { type: "boolean" }, "up-arrow": { type: "boolean" } },
  positionals: [1, 1],
  run(inv) {
    const shell = inv.positionals[0]!;
    if (shell !== "zsh" && shell !== "bash" && shell !== "fish") {
      throw new UsageError(`unknown shell "${shell}"; use zsh, bash or fish`);
    }
    const keys = inv.settings.keys;
    inv.out(
      hookScript(shell, undefined, {
        ctrlR: keys.ctrl_r && inv.values["disable-ctrl-r"] !== true,
        upArrow: keys.up_arrow || inv.values["up-arrow"] === true,
      }).trimEnd(),
    );
  },
});
