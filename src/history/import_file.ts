/**
 * Importing a shell's history file into the local index, idempotently.
 *
 * Imported commands become this node's events, synced like recorded ones. Their identity
 * is derived from their content, so importing the same file again, a backup and the
 * current file, or a file that has grown, stores each command once: a command with a
 * timestamp is identified by (time, text, occurrence among identical ones); a command
 * without one by (text, occurrence).
 *
 * @module
 */

import type { RecordRules } from "../config.ts";
import { basename } from "node:path";
import { HxError } from "../errors.ts";
import { type EventRecord, IMPORT_NODE_ID } from "../object/payloads.ts";
import {
  type InsertCounts,
  insertEvents,
  recordedInSecond,
  recordedRuns,
} from "../vault/events.ts";
import { insertSession } from "../vault/sessions.ts";
import type { Vault } from "../vault/vault.ts";
import { parseBash } from "./parse_bash.ts";
import { parseFish } from "./parse_fish.ts";
import { parseZsh } from "./parse_zsh.ts";
import type { ParsedCommand, Shell } from "./parsed_command.ts";
import { redactSecrets } from "./secrets.ts";
import { commandsMark, settleSearchIndex } from "../vault/search_index.ts";

/** What an import did. */
export interface ImportResult extends InsertCounts {
  /** Commands skipped because the shell hook already recorded them (same text, same second). */
  recorded: number;
  /** The shell whose format was read. */
  shell: Shell;
  /** Commands read from the file. */
  parsed: number;
  /** Commands the settings keep out (`record.ignore_commands`). */
  ignored: number;
}

const PARSERS: Record<Shell, (bytes: Uint8Array) => ParsedCommand[]> = {
  zsh: parseZsh,
  bash: parseBash,
  fish: parseFish,
};

/**
 * Guesses which shell wrote a history file, from its name and then its content.
 *
 * @param path The file's path.
 * @param bytes Its content.
 * @returns The shell.
 */
export function detectShell(path: string, bytes: Uint8Array): Shell {
  const name = basename(path);
  if (/zsh|^\.?zhistory$|^\.histfile$/.test(name)) return "zsh"; // zsh's usual names
  if (/bash/.test(name)) return "bash";
  if (/fish/.test(name)) return "fish";
  const sample = bytes.subarray(0, 65536);
  const head = new TextDecoder().decode(sample.subarray(0, 4096));
  if (/^: *\d+:\d+;/m.test(head)) return "zsh";
  if (/^- cmd: /m.test(head)) return "fish";
  // zsh writes bytes above 0x7f "metafied": 0x83 then the byte xor 0x20, never valid UTF-8.
  if (sample.includes(0x83) && !isUtf8(sample)) return "zsh";
  return "bash";
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses what is not a text file (a shell history never holds a NUL byte), before a binary
 * file turns into thousands of "commands".
 *
 * @param path The file, for the message.
 * @param bytes Its content.
 * @throws {HxError} `invalid_input` for binary content.
 */
export function refuseBinary(path: string, bytes: Uint8Array): void {
  if (bytes.subarray(0, 1 << 20).includes(0)) {
    throw new HxError(
      "invalid_input",
      `Cannot import ${path}: it is a binary file, not a shell history`,
      { hint: "give the history file itself (e.g. ~/.zsh_history, ~/.bash_history)" },
    );
  }
}

/**
 * The session all imports from one shell belong to, on every device: imported history has
 * one identity whichever device imported it (its node is {@linkcode IMPORT_NODE_ID}).
 */
export function importSessionId(shell: Shell): string {
  return `import-${shell}`;
}

/** A well-mixed 53-bit hash of a string (two 32-bit multiply-xorshift lanes). */
export function hash53(text: string): number {
  let a = 0x9e3779b9;
  let b = 0x85ebca6b;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
    b = Math.imul(b ^ c, 0x1b873593);
    b = (b << 13) | (b >>> 19);
  }
  a ^= text.length;
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35) ^ Math.imul(a ^ (a >>> 13), 0x85ebca6b);
  a ^= a >>> 16;
  return (b & 0x1fffff) * 4294967296 + (a >>> 0);
}

/**
 * The seq of an imported command. A dated command's seq starts with its time in seconds
 * (so imports append to the identity index in order), then 20 bits of hash of its text and
 * occurrence among identical ones; an undated command's seq is 53 bits of that hash.
 */
function seqOf(startedAt: number | null, h: number): number {
  return startedAt === null ? h : Math.floor(startedAt / 1000) * 1048576 + (h % 1048576);
}

function secondKey(cmd: string, startedAt: number): number {
  return hash53(`${Math.floor(startedAt / 1000)}\0${cmd}`);
}

/**
 * What the shell hook recorded while the file's commands ran: hashes of command and second,
 * read in one query rather than one per line.
 */
function hookedSeconds(vault: Vault, commands: readonly ParsedCommand[]): Set<number> {
  let from = Infinity;
  let to = -Infinity;
  for (const c of commands) {
    if (c.started_at === null) continue;
    if (c.started_at < from) from = c.started_at;
    if (c.started_at > to) to = c.started_at;
  }
  const keys = new Set<number>();
  if (from > to) return keys;
  const start = Math.floor(from / 1000) * 1000;
  for (const r of recordedRuns(vault.db, start, Math.floor(to / 1000) * 1000 + 999)) {
    keys.add(secondKey(r.cmd, r.started_at));
  }
  return keys;
}

/**
 * Imports parsed commands as this node's events.
 *
 * @param vault This device's index.
 * @param commands Parsed commands, in file order.
 * @param opts The shell, and the time given to commands without one (ms; each gets a
 *   millisecond less than the next, keeping file order).
 * @returns Counts by outcome.
 */
export function importCommands(
  vault: Vault,
  commands: readonly ParsedCommand[],
  opts: { shell: Shell; undatedTime: number; rules?: RecordRules },
): InsertCounts & { recorded: number; ignored: number } {
  const session = importSessionId(opts.shell);
  let recorded = 0;
  let ignored = 0;
  const seen = new Map<number, number>(); // occurrences, by hash of the identity
  const events: EventRecord[] = [];
  const hooked = hookedSeconds(vault, commands);
  commands.forEach((c, i) => {
    if (opts.rules?.ignores(c.cmd, null)) {
      ignored++;
      return;
    }
    const cmd = redactSecrets(c.cmd, opts.rules?.secretPatterns);
    if (
      c.started_at !== null && hooked.has(secondKey(cmd, c.started_at)) &&
      recordedInSecond(vault.db, cmd, c.started_at) // a hash can collide: confirm
    ) {
      recorded++; // the shell hook recorded it already, with more detail
      return;
    }
    const identity = `${c.started_at ?? "-"}\0${cmd}`;
    const h = hash53(identity);
    const occurrence = seen.get(h) ?? 0;
    seen.set(h, occurrence + 1);
    const started = c.started_at ?? Math.max(0, opts.undatedTime - (commands.length - i));
    events.push({
      node_id: IMPORT_NODE_ID,
      session_id: session,
      seq: seqOf(c.started_at, occurrence === 0 ? h : hash53(`${identity}\0${occurrence}`)),
      started_at: started,
      ended_at: c.duration_ms === null ? null : started + c.duration_ms,
      duration_ms: c.duration_ms,
      exit_code: null,
      cwd: null,
      cmd,
      host: null, // where the file's commands ran is not known
    });
  });
  const mark = commandsMark(vault.db);
  const counts = vault.db.transaction(() => {
    if (events.length > 0) {
      insertSession(vault.db, {
        session_id: session,
        node_id: IMPORT_NODE_ID,
        started_at: 0,
        host: null,
        shell: opts.shell,
      }, null);
    }
    return { ...insertEvents(vault.db, events, { origin: "here" }), recorded, ignored };
  });
  settleSearchIndex(vault.db, mark);
  return counts;
}

/** A history file read and parsed, not yet imported. */
export interface HistoryFile {
  shell: Shell;
  commands: ParsedCommand[];
  /** The file's modification time (ms): the time given to commands without one. */
  mtime: number;
}

/**
 * Reads and parses a history file, touching nothing else.
 *
 * @param path The file.
 * @param opts The shell, when it should not be guessed.
 * @returns The parsed commands.
 * @throws {HxError} `not_found`, `auth` or `invalid_input` when the file cannot be read.
 */
export async function readHistoryFile(
  path: string,
  opts: { shell?: Shell } = {},
): Promise<HistoryFile> {
  let bytes: Uint8Array;
  let mtime: number;
  try {
    bytes = await Deno.readFile(path);
    mtime = (await Deno.stat(path)).mtime?.getTime() ?? Date.now();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new HxError("not_found", `Cannot import ${path}: no such file`, { cause: err });
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new HxError("auth", `Cannot import ${path}: permission denied`, { cause: err });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new HxError("invalid_input", `Cannot import ${path}: it is a directory`, {
        cause: err,
      });
    }
    throw err;
  }
  refuseBinary(path, bytes);
  const shell = opts.shell ?? detectShell(path, bytes);
  return { shell, commands: PARSERS[shell](bytes), mtime };
}

/**
 * Imports a parsed history file.
 *
 * @param vault This device's index.
 * @param file What {@linkcode readHistoryFile} returned.
 * @returns What was imported.
 */
export function importHistory(
  vault: Vault,
  file: HistoryFile,
  opts: { rules?: RecordRules } = {},
): ImportResult {
  const counts = importCommands(vault, file.commands, {
    shell: file.shell,
    undatedTime: file.mtime,
    ...(opts.rules === undefined ? {} : { rules: opts.rules }),
  });
  return { shell: file.shell, parsed: file.commands.length, ...counts };
}

/**
 * Reads and imports a history file.
 *
 * @param vault This device's index.
 * @param path The file.
 * @param opts The shell, when it should not be guessed.
 * @returns What was imported.
 */
export async function importHistoryFile(
  vault: Vault,
  path: string,
  opts: { shell?: Shell; rules?: RecordRules } = {},
): Promise<ImportResult> {
  return importHistory(vault, await readHistoryFile(path, opts), opts);
}
