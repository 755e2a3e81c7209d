/**
 * bash history files, with or without `HISTTIMEFORMAT` timestamps (`#<epoch>` lines).
 * With timestamps, every line up to the next timestamp belongs to one command (which is
 * how bash writes multi-line commands under `lithist`); without, each line is a command.
 *
 * @module
 */

import type { ParsedCommand } from "./parsed_command.ts";

const STAMP = /^#(\d{9,11})$/;

/**
 * Parses a bash history file.
 *
 * @param bytes The raw file.
 * @returns Its commands, in file order.
 *
 * @example
 * ```ts
 * import { parseBash } from "./parse_bash.ts";
 * const cmds = parseBash(new TextEncoder().encode("#1700000000\nls -la\n"));
 * console.assert(cmds[0]?.started_at === 1700000000000);
 * ```
 */
export function parseBash(bytes: Uint8Array): ParsedCommand[] {
  const lines = new TextDecoder().decode(bytes).split("\n");
  const stamped = lines.some((l) => STAMP.test(l));
  const out: ParsedCommand[] = [];
  if (!stamped) {
    for (const line of lines) {
      if (line.trim() !== "") out.push({ cmd: line, started_at: null, duration_ms: null });
    }
    return out;
  }
  let current: ParsedCommand | null = null;
  const flush = () => {
    if (current !== null && current.cmd.trim() !== "") {
      current.cmd = current.cmd.replace(/\n+$/, "");
      out.push(current);
    }
    current = null;
  };
  for (const line of lines) {
    const m = STAMP.exec(line);
    if (m !== null) {
      flush();
      current = { cmd: "", started_at: Number(m[1]) * 1000, duration_ms: null };
    } else if (current === null) {
      // lines before the first timestamp: commands of unknown time
      if (line.trim() !== "") out.push({ cmd: line, started_at: null, duration_ms: null });
    } else {
      current.cmd = current.cmd === "" ? line : `${current.cmd}\n${line}`;
    }
  }
  flush();
  return out;
}
