/**
 * The user's settings: `$HX_CONFIG`, else `$XDG_CONFIG_HOME/hx/config.toml`, else
 * `~/.config/hx/config.toml`. A missing file means the defaults. The file is TOML, parsed
 * by smol-toml; a key hx does not know, or a value of the wrong kind, is an error that names
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

import { join, resolve } from "node:path";
// Inline on purpose: a project that imports mod.ts by path does not see hx's deno.json.
// deno-lint-ignore no-import-prefix
import { parse, TomlError } from "npm:smol-toml@1.9.1";
import { HxError } from "./errors.ts";
import { compilePatterns } from "./history/secrets.ts";
import { parseDuration } from "./history/time_spec.ts";

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
    const info = await Deno.stat(path);
    if (!info.isFile || info.size > MAX_CONFIG_BYTES) {
      throw bad(path, `not a settings file (a file of at most 256 KiB)`);
    }
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return defaultSettings();
    if (err instanceof HxError) throw err;
    throw bad(path, (err as Error).message);
  }
  return parseSettings(text, path, getEnv("HOME"));
}

/**
 * Parses settings text.
 *
 * @param text TOML.
 * @param path Where it came from (for messages).
 * @param home The home directory, for `~` in `ignore_directories`.
 * @returns The settings.
 * @throws {HxError} `invalid_input` for bad TOML, unknown keys and wrong values.
 *
 * @example
 * ```ts
 * import { parseSettings } from "./config.ts";
 * const s = parseSettings('[search]\nmode = "prefix"\n', "config.toml");
 * console.assert(s.search.mode === "prefix" && s.search.filter === "all");
 * ```
 */
export function parseSettings(text: string, path: string, home?: string): Settings {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    const where = err instanceof TomlError ? `line ${err.line}: ` : "";
    const first = (err as Error).message.split("\n")[0];
    throw bad(path, `${where}${first}`);
  }
  const s = defaultSettings();
  s.path = path;
  const table = (name: string, keys: string[]): Record<string, unknown> => {
    const t = doc[name] ?? {};
    if (typeof t !== "object" || t === null || Array.isArray(t)) {
      throw bad(path, `[${name}] must be a table`);
    }
    for (const k of Object.keys(t)) {
      if (!keys.includes(k)) {
        throw bad(path, `unknown key ${name}.${k} (known: ${keys.join(", ")})`);
      }
    }
    return t as Record<string, unknown>;
  };
  for (const k of Object.keys(doc)) {
    if (!["search", "keys", "record", "sync"].includes(k)) {
      throw bad(path, `unknown table [${k}] (known: search, keys, record, sync)`);
    }
  }
  const oneOf = <T extends string>(key: string, v: unknown, allowed: readonly T[], d: T): T => {
    if (v === undefined) return d;
    if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
    throw bad(path, `${key} must be one of ${allowed.join(", ")}`);
  };
  const bool = (key: string, v: unknown, d: boolean): boolean => {
    if (v === undefined) return d;
    if (typeof v === "boolean") return v;
    throw bad(path, `${key} must be true or false`);
  };
  const strings = (key: string, v: unknown): string[] => {
    if (v === undefined) return [];
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    throw bad(path, `${key} must be a list of strings`);
  };

  const search = table("search", ["mode", "filter"]);
  s.search.mode = oneOf("search.mode", search.mode, SEARCH_MODES, "fuzzy");
  s.search.filter = oneOf("search.filter", search.filter, SEARCH_FILTERS, "all");

  const keys = table("keys", ["ctrl_r", "up_arrow"]);
  s.keys.ctrl_r = bool("keys.ctrl_r", keys.ctrl_r, true);
  s.keys.up_arrow = bool("keys.up_arrow", keys.up_arrow, false);

  const record = table("record", ["secret_patterns", "ignore_commands", "ignore_directories"]);
  s.record.secret_patterns = strings("record.secret_patterns", record.secret_patterns);
  s.record.ignore_commands = strings("record.ignore_commands", record.ignore_commands);
  s.record.ignore_directories = strings("record.ignore_directories", record.ignore_directories)
    .map((d) => resolve(d === "~" || d.startsWith("~/") ? join(home ?? "~", d.slice(1)) : d));
  for (
    const [key, list] of [
      ["record.secret_patterns", s.record.secret_patterns],
      ["record.ignore_commands", s.record.ignore_commands],
    ] as const
  ) {
    try {
      compilePatterns(list);
    } catch (err) {
      throw bad(path, `${key}: ${(err as Error).message}`);
    }
  }

  const sync = table("sync", ["auto"]);
  if (sync.auto !== undefined) {
    if (sync.auto === "off" || sync.auto === false) s.sync.auto_minutes = 0;
    else if (typeof sync.auto === "string") {
      try {
        s.sync.auto_minutes = Math.max(1, Math.round(parseDuration(sync.auto) / 60_000));
      } catch {
        throw bad(path, `sync.auto must be a duration such as "10m" or "off"`);
      }
    } else throw bad(path, `sync.auto must be a duration such as "10m" or "off"`);
  }
  return s;
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

function bad(path: string, what: string): HxError {
  return new HxError("invalid_input", `Cannot use the settings in ${path}: ${what}`, {
    hint: "fix the file or remove the setting; hx info shows the settings in effect",
  });
}
