/**
 * What a history parser yields.
 *
 * @module
 */

/** One command read from a shell's history file. */
export interface ParsedCommand {
  cmd: string;
  /** When it started (ms), if the file says. */
  started_at: number | null;
  /** How long it ran (ms), if the file says. */
  duration_ms: number | null;
}

/** The shells whose history files hx reads. */
export type Shell = "zsh" | "bash" | "fish";
