#!/usr/bin/env -S deno run --allow-all
/**
 * The `hx` command. Each command lives in its own module under `src/cli/commands/`, loaded
 * only when it runs; this file starts the dispatcher.
 *
 * @example
 * ```sh
 * deno run --allow-all cli.ts find docker
 * ```
 *
 * @module
 */

export { type Io, main } from "./src/cli/main.ts";
import { main } from "./src/cli/main.ts";
import { tuneAllocator } from "./src/_allocator.ts";

if (import.meta.main) {
  tuneAllocator();
  Deno.exit(await main(Deno.args));
}
