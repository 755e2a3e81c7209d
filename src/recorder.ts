/**
 * The entry of the one-file recorder, `recorder.bundle.js` beside this file: `hx record` and
 * what it needs, bundled by `deno task bundle`. The shell hook runs it after every command:
 * one module instead of some thirty is ~1.5 MiB less for each (docs/performance.md). What
 * recording rarely needs (the TOML parser when the settings file changed, sync when an
 * automatic sync is due) it still loads from the sources beside it.
 *
 * @module
 */

import record from "./cli/commands/record.ts";
import { main, provideCommand } from "./cli/main.ts";

provideCommand("record", record);

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
