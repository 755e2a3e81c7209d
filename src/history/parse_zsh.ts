/**
 * zsh history files: plain (`cmd` per line) or extended (`: <start>:<elapsed>;<cmd>`),
 * with multi-line commands continued by a trailing backslash, and zsh's "metafied"
 * encoding of special bytes undone.
 *
 * @module
 */

import type { ParsedCommand } from "./parsed_command.ts";

const META = 0x83;

/** Undoes zsh's metafication: byte 0x83 followed by `b` stands for `b ^ 0x20`. */
export function unmetafy(bytes: Uint8Array): Uint8Array {
  if (!bytes.includes(META)) return bytes;
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === META && i + 1 < bytes.length) out[n++] = bytes[++i]! ^ 0x20;
    else out[n++] = b;
  }
  return out.subarray(0, n);
}

const EXTENDED = /^: *(\d+):(\d+);/;

/**
 * Parses a zsh history file.
 *
 * @param bytes The raw file.
 * @returns Its commands, in file order.
 *
 * @example
 * ```ts
 * import { parseZsh } from "./parse_zsh.ts";
 * const cmds = parseZsh(new TextEncoder().encode(": 1700000000:2;make\n"));
 * console.assert(cmds[0]?.cmd === "make" && cmds[0]?.duration_ms === 2000);
 * ```
 */
export function parseZsh(bytes: Uint8Array): ParsedCommand[] {
  const text = new TextDecoder().decode(unmetafy(bytes));
  const lines = text.split("\n");
  const out: ParsedCommand[] = [];
  let current: ParsedCommand | null = null;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (current === null) {
      const m = EXTENDED.exec(line);
      current = m === null
        ? { cmd: "", started_at: null, duration_ms: null }
        : { cmd: "", started_at: Number(m[1]) * 1000, duration_ms: Number(m[2]) * 1000 };
      if (m !== null) line = line.slice(m[0].length);
      current.cmd = line;
    } else {
      current.cmd += "\n" + line;
    }
    if (current.cmd.endsWith("\\") && i + 1 < lines.length) {
      current.cmd = current.cmd.slice(0, -1); // continued on the next line
      continue;
    }
    if (current.cmd.trim() !== "") out.push(current);
    current = null;
  }
  return out;
}
