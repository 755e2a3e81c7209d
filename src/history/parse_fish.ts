/**
 * fish history files: a YAML-like list of `- cmd:` entries with `when:` times, where
 * the command escapes backslashes as `\\` and newlines as `\n`.
 *
 * @module
 */

import type { ParsedCommand } from "./parsed_command.ts";

function unescapeFish(text: string): string {
  return text.replace(/\\(\\|n)/g, (_, c: string) => (c === "n" ? "\n" : "\\"));
}

/**
 * Parses a fish history file.
 *
 * @param bytes The raw file.
 * @returns Its commands, in file order.
 *
 * @example
 * ```ts
 * import { parseFish } from "./parse_fish.ts";
 * const cmds = parseFish(new TextEncoder().encode("- cmd: echo hi\\nthere\n  when: 1700000000\n"));
 * console.assert(cmds[0]?.cmd === "echo hi\nthere" && cmds[0]?.started_at === 1700000000000);
 * ```
 */
export function parseFish(bytes: Uint8Array): ParsedCommand[] {
  const out: ParsedCommand[] = [];
  let current: ParsedCommand | null = null;
  for (const line of new TextDecoder().decode(bytes).split("\n")) {
    if (line.startsWith("- cmd: ")) {
      if (current !== null && current.cmd.trim() !== "") out.push(current);
      current = {
        cmd: unescapeFish(line.slice("- cmd: ".length)),
        started_at: null,
        duration_ms: null,
      };
    } else if (current !== null) {
      const when = /^\s+when:\s*(\d+)\s*$/.exec(line);
      if (when !== null) current.started_at = Number(when[1]) * 1000;
    }
  }
  if (current !== null && current.cmd.trim() !== "") out.push(current);
  return out;
}
