/**
 * The user's settings: `$HX_CONFIG`, else `$XDG_CONFIG_HOME/hx/config.toml`, else
 * `~/.config/hx/config.toml`. A missing file means the defaults. The file is TOML, parsed
 * by smol-toml (loaded only when the file exists); a key hx does not know, or a value of the wrong kind, is an error that names
 * the file and the key (a typo never silently turns a setting off).
 *
 * ```toml
 * [search]
 * mode = "fuzzy"            # fuzzy | prefix | fulltext
 * filter = "all"            # all | host | session | directory
 *
 * [keys]
 * ctrl_r = true             # hx init binds ctrl-r to hx search
 * up_arrow = false          # hx init binds the up arrow to hx search in this session
 *
 * [record]
 * secret_patterns = ['corp_[a-z0-9]{24}']   # redacted like the built-in ones
 * ignore_commands = ['^ls$', '^cd( |$)']    # never recorded nor imported
 * ignore_directories = ['~/private']        # nothing run there (or below) is recorded
 *
 * [sync]
 * auto = "10m"              # or "off"; overrides `hx sync auto`
 * ```
 *
 * @module
 */

import { joinPath as join } from "./_path.ts";
import { HxError } from "./errors.ts";
import { compilePatterns } from "./history/secrets.ts";

/** How `hx search` matches what is typed. */
export type SearchMode = "fuzzy" | "prefix" | "fulltext";
/** Which part of history `hx search` looks at. */
export type SearchFilter = "all" | "host" | "session" | "directory";

/** The search modes, in the order the mode key cycles through them. */
export const SEARCH_MODES: readonly SearchMode[] = ["fuzzy", "prefix", "fulltext"];
/** The filters, in the order the filter key cycles through them. */
export const SEARCH_FILTERS: readonly SearchFilter[] = ["all", "host", "session", "directory"];

/** Settings in effect. */
export interface Settings {
  /** The file they were read from, or `null` when there is none (all defaults). */
  path: string | null;
  /** `hx search` defaults. */
  search: { mode: SearchMode; filter: SearchFilter };
  /** Key bindings `hx init` installs. */
  keys: { ctrl_r: boolean; up_arrow: boolean };
  /** What recording and import keep out. */
  record: {
    secret_patterns: string[];
    ignore_commands: string[];
    ignore_directories: string[];
  };
  /** Auto-sync interval in minutes (0 for off), or `null` to keep `hx sync auto`'s. */
  sync: { auto_minutes: number | null };
}

/** The defaults (what an absent file means). */
export function defaultSettings(): Settings {
  return {
    path: null,
    search: { mode: "fuzzy", filter: "all" },
    keys: { ctrl_r: true, up_arrow: false },
    record: { secret_patterns: [], ignore_commands: [], ignore_directories: [] },
    sync: { auto_minutes: null },
  };
}

/**
 * Where the settings file is.
 *
 * @param getEnv Reads an environment variable.
 * @returns The path (which may not exist), or `null` with no home directory.
 */
export function configPath(
  getEnv: (name: string) => string | undefined = Deno.env.get,
): string | null {
  const explicit = getEnv("HX_CONFIG");
  if (explicit) return explicit;
  const xdg = getEnv("XDG_CONFIG_HOME");
  if (xdg) return join(xdg, "hx", "config.toml");
  const home = getEnv("HOME") ?? getEnv("USERPROFILE");
  return home ? join(home, ".config", "hx", "config.toml") : null;
}

/** Bounds the file before it is read: settings are a few lines. */
const MAX_CONFIG_BYTES = 256 * 1024;

/**
 * Reads the settings.
 *
 * @param getEnv Reads an environment variable.
 * @returns The settings in effect.
 * @throws {HxError} `invalid_input` naming the file, the line or key, and what is wrong.
 */
export async function loadSettings(
  getEnv: (name: string) => string | undefined = Deno.env.get,
): Promise<Settings> {
  const path = configPath(getEnv);
  if (path === null) return defaultSettings();
  let text: string;
  try {
    const info = Deno.statSync(path); // sync: settings load for every recorded command
    if (!info.isFile || info.size > MAX_CONFIG_BYTES) {
      throw settingsError(path, `not a settings file (a file of at most 256 KiB)`);
    }
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return defaultSettings();
    if (err instanceof HxError) throw err;
    throw settingsError(path, (err as Error).message);
  }
  // The TOML parser loads only when there is a file: `hx record` runs after every command.
  // A specifier built at run time keeps it (and npm) out of the graph Deno builds at start.
  const { parseSettings }: typeof import("./config_file.ts") = await import(
    new URL("./config_file.ts", import.meta.url).href
  );
  return parseSettings(text, path, getEnv("HOME"));
}

/** What recording and import apply, compiled once. */
export interface RecordRules {
  /** Users' secret patterns. */
  secretPatterns: RegExp[];
  /**
   * Whether a command is kept out.
   *
   * @param cmd The command as typed.
   * @param cwd Where it ran, if known.
   */
  ignores(cmd: string, cwd: string | null): boolean;
}

/**
 * Compiles the recording rules of some settings.
 *
 * @param settings The settings.
 * @returns The rules.
 */
export function recordRules(settings: Settings): RecordRules {
  const commands = compilePatterns(settings.record.ignore_commands);
  const dirs = settings.record.ignore_directories;
  return {
    secretPatterns: compilePatterns(settings.record.secret_patterns),
    ignores(cmd, cwd) {
      for (const re of commands) {
        re.lastIndex = 0;
        if (re.test(cmd)) return true;
      }
      if (cwd === null) return false;
      return dirs.some((d) => cwd === d || cwd.startsWith(d.endsWith("/") ? d : `${d}/`));
    },
  };
}

/**
 * The error for a settings file hx cannot use.
 *
 * @param path The file.
 * @param what What is wrong, naming the line or key.
 * @returns An `invalid_input` error with what to do.
 */
export function settingsError(path: string, what: string): HxError {
  return new HxError("invalid_input", `Cannot use the settings in ${path}: ${what}`, {
    hint: "fix the file or remove the setting; hx info shows the settings in effect",
  });
}
