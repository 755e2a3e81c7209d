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

import { writeFileAtomic } from "./_atomic_file.ts";
import { ownModule } from "./_modules.ts";
import { joinPath as join } from "./_path.ts";
import { HxError } from "./errors.ts";
import { compilePatterns } from "./history/secrets.ts";
import { VERSION } from "./version.ts";

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
 * The TOML parser (and npm with it) loads only when the file's text is new: `hx record` runs
 * after every command, and parsing would add ~6 MiB to each. What a parse gave is kept in
 * `cacheDir` with the exact text, the file's path, the home directory it expanded `~` with and
 * hx's version; a later call whose file reads the same uses it. Any other difference, or a
 * cache that is unreadable or not of the settings' shape, parses again.
 *
 * @param getEnv Reads an environment variable.
 * @param cacheDir Where to keep the parsed settings (hx's data directory), or `null` for none.
 *   A directory that does not exist or cannot be written costs a parse, nothing else.
 * @returns The settings in effect.
 * @throws {HxError} `invalid_input` naming the file, the line or key, and what is wrong.
 */
export async function loadSettings(
  getEnv: (name: string) => string | undefined = Deno.env.get,
  cacheDir: string | null = null,
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
  const key: Omit<SettingsCache, "settings"> = {
    version: VERSION,
    path,
    home: getEnv("HOME") ?? null,
    text,
  };
  const cachePath = cacheDir === null ? null : join(cacheDir, SETTINGS_CACHE);
  const cached = cachePath === null ? null : readSettingsCache(cachePath, key);
  if (cached !== null) return cached;
  // A specifier built at run time keeps the parser (and npm) out of the graph Deno builds at
  // start.
  const { parseSettings }: typeof import("./config_file.ts") = await import(
    ownModule("config_file.ts")
  );
  const settings = parseSettings(text, path, key.home ?? undefined);
  if (cachePath !== null) {
    const entry: SettingsCache = { ...key, settings };
    // Best effort: a read-only or absent data directory only means parsing next time too.
    await writeFileAtomic(cachePath, new TextEncoder().encode(JSON.stringify(entry)))
      .catch(() => {});
  }
  return settings;
}

/** The file, in hx's data directory, that keeps the last parse of the settings file. */
export const SETTINGS_CACHE = "settings-cache.json";

/** What the cache file holds: the parse and everything it depended on. */
interface SettingsCache {
  version: string;
  path: string;
  home: string | null;
  text: string;
  settings: Settings;
}

/** The cached settings if their key matches and they have the settings' shape, else `null`. */
function readSettingsCache(
  cachePath: string,
  key: Omit<SettingsCache, "settings">,
): Settings | null {
  try {
    // The cache holds the text and little more: bounded before it is read.
    if (Deno.statSync(cachePath).size > 4 * MAX_CONFIG_BYTES) return null;
    const entry = JSON.parse(Deno.readTextFileSync(cachePath)) as Partial<SettingsCache>;
    const same = entry.version === key.version && entry.path === key.path &&
      entry.home === key.home && entry.text === key.text;
    return same && sameShape(entry.settings, defaultSettings()) ? entry.settings as Settings : null;
  } catch {
    return null; // absent, unreadable or not JSON: parse the file
  }
}

/** Whether `value` has exactly the keys of `model`, each of the same kind (lists of strings). */
function sameShape(value: unknown, model: unknown): boolean {
  if (Array.isArray(model)) {
    return Array.isArray(value) && value.every((v) => typeof v === "string");
  }
  if (model === null || typeof model !== "object") {
    // null marks a value that may also be a string (path) or a number (auto_minutes).
    return model === null
      ? value === null || typeof value === "string" || typeof value === "number"
      : typeof value === typeof model;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(model);
  const got = Object.keys(value);
  return got.length === keys.length &&
    keys.every((k) =>
      sameShape((value as Record<string, unknown>)[k], (model as Record<string, unknown>)[k])
    );
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
