/**
 * Command-line parsing for the options hx's commands declare: `--name value`, `--name=value`,
 * boolean flags, single-letter short flags, and `--` before arguments that start with a dash.
 * The declarations are `node:util`'s `parseArgs` shapes (its types type the values), but the
 * parsing is hx's own: loading `node:util` starts Node compatibility, which costs `hx record`,
 * run after every command, more than the rest of its work.
 *
 * @module
 */

import type { ParseArgsOptionsConfig } from "node:util";
import { UsageError } from "./command.ts";

/** What a command line holds: option values by name, and the other arguments in order. */
export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses a command line against declared options; anything undeclared is an error.
 *
 * @param args The arguments (without the command's name).
 * @param options The options it takes.
 * @returns The values and positionals.
 * @throws {UsageError} For an unknown option, a missing value, or a value given to a flag.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./args.ts";
 * const { values, positionals } = parseCommandLine(
 *   ["--limit=5", "docker", "--json", "--", "-x"],
 *   { limit: { type: "string" }, json: { type: "boolean" } },
 * );
 * console.assert(values.limit === "5" && values.json === true);
 * console.assert(positionals.join(" ") === "docker -x");
 * ```
 */
export function parseCommandLine(
  args: readonly string[],
  options: ParseArgsOptionsConfig,
): ParsedArgs {
  const values: ParsedArgs["values"] = Object.create(null);
  const positionals: string[] = [];
  const shorts = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) shorts.set(o.short, name);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const option = Object.hasOwn(options, name) ? options[name] : undefined;
      if (option === undefined) throw new UsageError(`unknown option "--${name}"`);
      if (option.type === "boolean") {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        values[name] = true;
      } else if (eq >= 0) {
        values[name] = arg.slice(eq + 1);
      } else {
        values[name] = valueAfter(args, i, `--${name}`);
        i++;
      }
    } else if (arg.length === 2 && arg[0] === "-" && arg !== "--") {
      const name = shorts.get(arg[1]!);
      if (name === undefined) throw new UsageError(`unknown option "${arg}"`);
      if (options[name]!.type !== "boolean") {
        values[name] = valueAfter(args, i, arg);
        i++;
      } else values[name] = true;
    } else if (arg.startsWith("-") && arg.length > 1) {
      throw new UsageError(`unknown option "${arg}"`);
    } else positionals.push(arg);
  }
  return { values, positionals };
}

/** The word after an option as its value; one that starts with a dash needs `--name=value`. */
function valueAfter(args: readonly string[], i: number, option: string): string {
  const value = args[i + 1];
  if (value === undefined) throw new UsageError(`${option} needs a value`);
  if (value.length > 1 && value.startsWith("-")) {
    throw new UsageError(
      `${option} needs a value, not the option "${value}" (give ${option}=${value} if meant)`,
    );
  }
  return value;
}
