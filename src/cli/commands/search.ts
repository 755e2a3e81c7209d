/**
 * `hx search`: the interactive search that `hx init` binds to ctrl-r. It draws on the
 * terminal and prints the choice on stdout for the shell's key binding: one line `run` or
 * `edit`, then the command. Leaving with nothing prints nothing and exits with 130.
 *
 * @module
 */

import { SEARCH_FILTERS, SEARCH_MODES, type SearchFilter, type SearchMode } from "../../config.ts";
import { HxError } from "../../errors.ts";
import { Vault } from "../../vault/vault.ts";
import { command, UsageError } from "../command.ts";

export default command({
  usage:
    "hx search [--mode fuzzy|prefix|fulltext] [--filter all|host|session|directory] [--query TEXT]",
  summary: "search history interactively (ctrl-r after hx init); prints the chosen command",
  options: {
    mode: { type: "string" },
    filter: { type: "string" },
    query: { type: "string" },
  },
  async run(inv) {
    const mode = inv.values.mode ?? inv.settings.search.mode;
    const filter = inv.values.filter ?? inv.settings.search.filter;
    if (!(SEARCH_MODES as readonly string[]).includes(mode)) {
      throw new UsageError(`--mode must be one of ${SEARCH_MODES.join(", ")}`);
    }
    if (!(SEARCH_FILTERS as readonly string[]).includes(filter)) {
      throw new UsageError(`--filter must be one of ${SEARCH_FILTERS.join(", ")}`);
    }
    // The key bindings pass what is on the prompt in the environment, not on an argv.
    const query = inv.values.query ?? Deno.env.get("HX_SEARCH_QUERY") ?? "";
    try {
      Deno.statSync(inv.home.dbPath);
    } catch {
      throw new HxError("not_found", `Cannot search: no history in ${inv.home.path} yet`, {
        code: "no_history",
      });
    }
    const { runSearch } = await import("../../search/tui.ts");
    const vault = Vault.open(inv.home.dbPath);
    let choice;
    try {
      choice = await runSearch({
        db: vault.db,
        host: vault.host,
        session: Deno.env.get("HX_SESSION") || undefined,
        cwd: Deno.cwd(),
        mode: mode as SearchMode,
        filter: filter as SearchFilter,
        query,
        forget: async (cmd) => {
          await (await inv.hx()).forget({ start: 0, cmd });
        },
      });
    } finally {
      vault.close();
    }
    if (choice === null) return 130;
    inv.write(`${choice.action}\n${choice.cmd}\n`);
  },
});
