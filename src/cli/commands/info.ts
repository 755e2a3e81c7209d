/**
 * `hx info`: where hx keeps things, the settings in effect and the environment that chose
 * them. Opens nothing and needs no sync.
 *
 * @module
 */

import { configPath } from "../../config.ts";
import { VERSION } from "../../version.ts";
import { messageOf } from "../../store/errors.ts";
import { command } from "../command.ts";
import { printable } from "../format.ts";
import { printJson } from "../output.ts";

/** The environment variables hx reads (values shown; none of them holds a secret). */
const ENVIRONMENT = [
  "HX_HOME",
  "HX_CONFIG",
  "HX_SESSION",
  "HX_BIN",
  "XDG_DATA_HOME",
  "XDG_CONFIG_HOME",
] as const;

export default command({
  usage: "hx info [--json]",
  summary: "show paths, the settings in effect and the environment that chose them",
  options: {},
  run(inv) {
    const s = inv.settings;
    let sync;
    try {
      sync = inv.home.readConfig();
    } catch {
      sync = null;
    }
    const info = {
      version: VERSION,
      deno: Deno.version.deno,
      data_directory: inv.home.path,
      index: inv.home.dbPath,
      settings_file: s.path ?? configPath(),
      settings_file_exists: s.path !== null,
      settings_problem: inv.settingsProblem === null ? null : messageOf(inv.settingsProblem),
      settings: { search: s.search, keys: s.keys, record: s.record, sync: s.sync },
      store: sync?.store ?? null,
      environment: Object.fromEntries(ENVIRONMENT.map((n) => [n, Deno.env.get(n) ?? null])),
    };
    if (inv.json) return printJson(inv.out, info);
    const line = (k: string, v: string) => inv.out(`${k.padEnd(20)} ${printable(v)}`);
    line("hx", `${info.version} (deno ${info.deno})`);
    line("data directory", info.data_directory);
    line("index", info.index);
    line(
      "settings file",
      `${info.settings_file ?? "(no home directory)"}${
        info.settings_file_exists ? "" : " (absent: defaults)"
      }`,
    );
    if (info.settings_problem !== null) line("settings problem", info.settings_problem);
    line("search", `mode ${s.search.mode}, filter ${s.search.filter}`);
    line(
      "keys",
      `ctrl-r ${s.keys.ctrl_r ? "on" : "off"}, up arrow ${s.keys.up_arrow ? "on" : "off"}`,
    );
    line("secret patterns", `${s.record.secret_patterns.length} of yours, and the built-in ones`);
    line("ignored commands", s.record.ignore_commands.join("  ") || "none");
    line("ignored directories", s.record.ignore_directories.join("  ") || "none");
    line(
      "auto-sync",
      s.sync.auto_minutes === null
        ? "as hx sync auto set it"
        : s.sync.auto_minutes === 0
        ? "off (settings file)"
        : `every ${s.sync.auto_minutes} min (settings file)`,
    );
    line("store", info.store ?? "sync not set up");
    for (const [k, v] of Object.entries(info.environment)) line(k, v ?? "(unset)");
  },
});
