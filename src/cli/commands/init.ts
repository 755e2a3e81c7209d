/**
 * `hx init zsh|bash|fish`: prints the shell hook.
 *
 * @module
 */

import { hookScript } from "../../history/shell_hooks.ts";
import { command, UsageError } from "../command.ts";

export default command({
  usage: "hx init zsh|bash|fish",
  summary: 'print the shell hook: eval "$(hx init zsh)" in ~/.zshrc (hx init fish | source)',
  options: {},
  positionals: [1, 1],
  run(inv) {
    const shell = inv.positionals[0]!;
    if (shell !== "zsh" && shell !== "bash" && shell !== "fish") {
      throw new UsageError(`unknown shell "${shell}"; use zsh, bash or fish`);
    }
    inv.out(hookScript(shell).trimEnd());
  },
});
