/**
 * The `hx` command line: finds the command, loads only its module, parses its options and
 * prints errors as one line (category, what failed, what to do). Each command lives in
 * `src/cli/commands/`.
 *
 * @module
 */

import { ownModule } from "../_modules.ts";
import { categoryOf, messageOf } from "../store/errors.ts";
import { defaultHomePath, HxHome } from "../vault/home.ts";
import { defaultSettings, loadSettings, type Settings } from "../config.ts";
import { VERSION } from "../version.ts";
import { adviceFor } from "./advice.ts";
import { parseCommandLine } from "./args.ts";
import { type Command, GLOBAL_OPTIONS, type ParsedValues, UsageError } from "./command.ts";
import type { Hx } from "../hx.ts";
import type { RetryInfo, RetryOptions } from "../store/retry.ts";

type Loader = () => Promise<{ default: Command }>;

/**
 * Loads a command's module. The specifier is built at run time on purpose: before running
 * anything, Deno builds the graph of every import it can see, and with the commands visible
 * that is all of hx and its npm packages, ~20 ms on every `hx record`. (`deno task compile`
 * includes `src/` for the same reason.)
 */
const load = (name: string): Promise<{ default: Command }> =>
  provided.get(name) ?? import(ownModule(`cli/commands/${name}.ts`));

/** Commands already loaded by the entry that runs `main` (the one-file recorder). */
const provided = new Map<string, Promise<{ default: Command }>>();

/**
 * Gives `main` a command its entry has already loaded, in place of loading it when it runs.
 *
 * @param name The command's module name, such as `record`.
 * @param command The command.
 */
export function provideCommand(name: string, command: Command): void {
  provided.set(name, Promise.resolve({ default: command }));
}

const COMMANDS: Record<string, Loader> = {
  find: () => load("find"),
  last: () => load("last"),
  import: () => load("import"),
  record: () => load("record"),
  init: () => load("init"),
  forget: () => load("forget"),
  pause: () => load("pause"),
  resume: () => load("resume"),
  pin: () => load("pin"),
  unpin: () => load("unpin"),
  pins: () => load("pins"),
  attach: () => load("attach"),
  artifacts: () => load("artifacts"),
  artifact: () => load("artifact"),
  doctor: () => load("doctor"),
  info: () => load("info"),
  search: () => load("search"),
  stats: () => load("stats"),
  demo: () => load("demo"),
};

const SYNC: Record<string, Loader> = {
  now: () => load("sync_now"),
  init: () => load("sync_init"),
  join: () => load("sync_join"),
  push: () => load("sync_push"),
  pull: () => load("sync_pull"),
  status: () => load("sync_status"),
  auto: () => load("sync_auto"),
  verify: () => load("sync_verify"),
  digest: () => load("sync_digest"),
  key: () => load("sync_key"),
  quarantine: () => load("sync_quarantine"),
  leave: () => load("sync_leave"),
  compact: () => load("sync_compact"),
};

async function helpText(): Promise<string> {
  const lines = [
    `hx ${VERSION}: shell history, synced end-to-end encrypted through storage you own`,
    "",
    "Usage:",
  ];
  for (const load of [...Object.values(COMMANDS), ...Object.values(SYNC)]) {
    const c = (await load()).default;
    lines.push(`  ${c.usage}`, `      ${c.summary}`);
  }
  lines.push(
    "",
    "Global flags: --json (data output), --verbose (details, stack traces), --help",
    "Data directory: $HX_HOME, else $XDG_DATA_HOME/hx, else ~/.local/share/hx",
  );
  return lines.join("\n");
}

/** Where commands print; injectable for tests. */
export interface Io {
  /** Prints a line on stdout. */
  out(text: string): void;
  /** Writes text on stdout as is. */
  write(text: string): void;
  /** Prints a line on stderr. */
  err(text: string): void;
}

const stdio: Io = {
  out: (text) => console.log(text),
  write: (text) => {
    const data = new TextEncoder().encode(text);
    for (let at = 0; at < data.length;) at += Deno.stdout.writeSync(data.subarray(at));
  },
  err: (text) => console.error(text),
};

/**
 * The retry policy of the command's store: `HX_STORE_DEADLINE_S` (default 25) bounds how long
 * a call keeps retrying; with `--verbose` every retry is told on stderr, in one line.
 */
function retryPolicy(verbose: boolean, io: Io): RetryOptions {
  const deadline = Number(Deno.env.get("HX_STORE_DEADLINE_S") ?? "25");
  return {
    ...(Number.isFinite(deadline) && deadline > 0 ? { budgetMs: deadline * 1000 } : {}),
    ...(verbose
      ? {
        onRetry: (r: RetryInfo) =>
          io.err(
            `hx: retrying ${r.op} ${r.key} in ${r.delayMs} ms after ${r.category} (attempt ${r.attempt}): ${
              messageOf(r.error)
            }`,
          ),
      }
      : {}),
  };
}

/** The command an argument list names, and the arguments it gets. */
async function resolve(
  argv: readonly string[],
): Promise<{ command: Command; rest: readonly string[] }> {
  const [first, second] = argv;
  if (first === "sync") {
    const bare = second === undefined || second.startsWith("-");
    const load = bare ? SYNC.now : SYNC[second];
    if (load === undefined) throw new UsageError(`unknown sync subcommand "${second}"`);
    return { command: (await load()).default, rest: argv.slice(bare ? 1 : 2) };
  }
  const load = COMMANDS[first!];
  if (load === undefined) throw new UsageError(`unknown command "${first}"`);
  return { command: (await load()).default, rest: argv.slice(1) };
}

/**
 * Runs the CLI.
 *
 * @param argv The arguments after `hx`.
 * @param io Where to print (default: stdout and stderr).
 * @returns The exit status: 0 success, 1 failure, 2 usage error.
 */
export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  let verbose = argv.includes("--verbose") || argv.includes("-v");
  let hx: Hx | null = null;
  let command: Command | undefined;
  try {
    const first = argv[0];
    if (first === undefined || first === "help" || first === "--help" || first === "-h") {
      io.out(await helpText());
      return 0;
    }
    if (first === "--version" || first === "version") {
      io.out(argv.includes("--json") ? JSON.stringify({ version: VERSION }) : `hx ${VERSION}`);
      return 0;
    }
    const resolved = await resolve(argv);
    command = resolved.command;
    const parsed = parseCommandLine(resolved.rest, { ...GLOBAL_OPTIONS, ...command.options }) as {
      values: ParsedValues<typeof command.options>;
      positionals: string[];
    };
    verbose = parsed.values.verbose === true;
    if (parsed.values.help) {
      io.out(`${command.usage}\n  ${command.summary}`);
      return 0;
    }
    const [min, max] = command.positionals ?? [0, 0];
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new UsageError(
        parsed.positionals.length > max
          ? `unexpected argument "${parsed.positionals[max]}"`
          : "missing argument",
      );
    }
    const homePath = defaultHomePath();
    let settings: Settings;
    let settingsProblem: unknown = null;
    try {
      settings = await loadSettings(Deno.env.get, homePath);
    } catch (e) {
      // A broken settings file never stops a command (recording least of all): hx goes on
      // with the defaults, says so, and `hx doctor` and `hx info` show it.
      settings = defaultSettings();
      settingsProblem = e;
      if (argv[0] !== "record") {
        io.err(`hx: ${categoryOf(e)}: ${messageOf(e)} (${adviceFor(e)}); using the defaults`);
      }
    }
    const home = new HxHome(homePath, { autoSyncMinutes: settings.sync.auto_minutes });
    const status = await command.run({
      settings,
      settingsProblem,
      values: parsed.values,
      positionals: parsed.positionals,
      json: parsed.values.json === true,
      home,
      async hx() {
        if (hx === null) {
          // unseen by the startup graph, as above
          const { Hx }: typeof import("../hx.ts") = await import(ownModule("hx.ts"));
          hx = Hx.open({
            home: home.path,
            settings,
            storeOptions: { retry: retryPolicy(verbose, io) },
          });
        }
        return hx;
      },
      ...io,
    });
    return typeof status === "number" ? status : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      const usage = command === undefined
        ? "run hx help for the commands"
        : `usage: ${command.usage}`;
      io.err(`hx: ${e.message} (${usage})`);
      return 2;
    }
    io.err(`hx: ${categoryOf(e)}: ${messageOf(e)} (${adviceFor(e)})`);
    if (verbose && e instanceof Error && e.stack) io.err(e.stack);
    return 1;
  } finally {
    (hx as Hx | null)?.close();
  }
}
