/**
 * Reading the settings file's TOML (see `config.ts` for what it holds). A module of its own so
 * that the TOML parser is loaded only when there is a file to read.
 *
 * @module
 */

import { isAbsolute, join, resolve } from "node:path";
// Inline on purpose: a project that imports mod.ts by path does not see hx's deno.json.
// deno-lint-ignore no-import-prefix
import { parse, TomlError } from "npm:smol-toml@1.9.1";
import {
  defaultSettings,
  SEARCH_FILTERS,
  SEARCH_MODES,
  type Settings,
  settingsError as bad,
} from "./config.ts";
import { compilePatterns } from "./history/secrets.ts";
import { parseDuration } from "./history/time_spec.ts";

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
 * import { parseSettings } from "./config_file.ts";
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
  // Absolute (or under ~) only: a relative one would mean a different place for every command.
  s.record.ignore_directories = strings("record.ignore_directories", record.ignore_directories)
    .map((d) => {
      const expanded = d === "~" || d.startsWith("~/") ? join(home ?? "~", d.slice(1)) : d;
      if (!isAbsolute(expanded)) {
        throw bad(path, `record.ignore_directories: "${d}" must be absolute or start with ~/`);
      }
      return resolve(expanded);
    });
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
