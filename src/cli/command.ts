/**
 * The shape of a CLI command: usage, summary, typed options and what it runs. Each command
 * lives in its own file under `src/cli/commands/` and is loaded only when it runs.
 *
 * @module
 */

import type { Settings } from "../config.ts";
import type { parseArgs, ParseArgsOptionsConfig } from "node:util";
import type { Hx } from "../hx.ts";
import type { HxHome } from "../vault/home.ts";

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsOptionsConfig;

/** The values `parseArgs` gives for options `O`, typed: a misspelt option does not compile. */
export type ParsedValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O & typeof GLOBAL_OPTIONS; allowPositionals: true; strict: true }>
>["values"];

/** What a running command is given. */
export interface Invocation<O extends ParseArgsOptionsConfig> {
  /** Its options, typed. */
  values: ParsedValues<O>;
  /** Its positional arguments. */
  positionals: string[];
  /** Whether `--json` was given. */
  json: boolean;
  /** The data directory (nothing opened). */
  home: HxHome;
  /** The settings in effect (the defaults when the file is broken). */
  settings: Settings;
  /** Why the settings file could not be used, or `null`. */
  settingsProblem: unknown;
  /** The device's hx (loaded and opened on first use). */
  hx(): Promise<Hx>;
  /** Prints a line on stdout. */
  out(text: string): void;
  /** Writes text on stdout as is. */
  write(text: string): void;
  /** Prints a line on stderr. */
  err(text: string): void;
}

/** One command. */
export interface Command<O extends ParseArgsOptionsConfig = ParseArgsOptionsConfig> {
  /** One line of usage. */
  usage: string;
  /** What it does, in a few words. */
  summary: string;
  /** Its own options. */
  options: O;
  /** How many positionals: [min, max]. Default none. */
  positionals?: [number, number];
  /** Runs it; the exit status is 0 unless it returns another. */
  run(inv: Invocation<O>): Promise<number | void> | number | void;
}

/**
 * Declares a command (an identity function that keeps its option types).
 *
 * @param c The command.
 * @returns The same command.
 */
export function command<O extends ParseArgsOptionsConfig>(c: Command<O>): Command<O> {
  return c;
}

/** A usage error: printed with the command's usage, exit status 2. */
export class UsageError extends Error {
  /** @param message What is wrong with the command line. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A whole number from an option, or `undefined`.
 *
 * @param name The option's name, for the message.
 * @param value Its value.
 * @returns The number.
 * @throws {UsageError} For anything but a whole number.
 */
export function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) {
    throw new UsageError(`--${name} needs a whole number, not "${value}"`);
  }
  return Number(value);
}
