/**
 * `hx search` on the terminal: a full-screen list of distinct commands, newest first, that
 * narrows as you type. It draws on `/dev/tty` (the shell captures stdout, where the choice
 * goes) in the alternate screen, and leaves the terminal as it found it.
 *
 * Keys: type to search; up/down (ctrl-p/ctrl-n), page up/down to move; enter runs the
 * command, tab puts it on the prompt to edit; ctrl-r cycles the filter (all, this host,
 * this session, this directory), ctrl-s the mode (fuzzy, prefix, full text); ctrl-o shows
 * the details of the selected command; ctrl-d deletes it from history on every device
 * (after a y); esc or ctrl-c leaves with nothing chosen.
 *
 * @module
 */

// Inline on purpose: a project that imports hx by path does not see hx's deno.json.
// deno-lint-ignore no-import-prefix
import { eastAsianWidth } from "npm:get-east-asian-width@1.7.0";
import { SEARCH_FILTERS, SEARCH_MODES, type SearchFilter, type SearchMode } from "../config.ts";
import { duration, localTime, printable } from "../cli/format.ts";
import type { Db } from "../vault/db.ts";
import { HxError } from "../errors.ts";
import {
  commandDetails,
  type CommandRow,
  filteredCommands,
  type LatestRun,
  latestRun,
  recentCommands,
  type RunFilter,
} from "../vault/recall.ts";
import { CommandList, type Matches, Search as Finder } from "./engine.ts";

/** What the user chose. */
export interface SearchChoice {
  /** `run`: execute it now; `edit`: put it on the prompt. */
  action: "run" | "edit";
  cmd: string;
}

/** Where the search runs: the context its filters refer to. */
export interface SearchContext {
  db: Db;
  host: string;
  /** The shell's session (`HX_SESSION`), if it records. */
  session: string | undefined;
  cwd: string;
  mode: SearchMode;
  filter: SearchFilter;
  /** What was already typed on the prompt. */
  query: string;
  /** Deletes every run of a command on every device (a tombstone, synced like forget). */
  forget(cmd: string): Promise<void>;
}

/** The terminal, raw, in the alternate screen. */
interface Terminal {
  read(buf: Uint8Array): Promise<number | null>;
  write(text: string): void;
  size(): { columns: number; rows: number };
  close(): void;
}

function openTerminal(): Terminal {
  let tty: Deno.FsFile;
  try {
    tty = Deno.openSync("/dev/tty", { read: true, write: true });
    tty.setRaw(true);
  } catch (err) {
    throw new HxError(
      "invalid_input",
      `Cannot search: no terminal to draw on (${(err as Error).message})`,
      { hint: "run it in a terminal; hx find searches without one" },
    );
  }
  const enc = new TextEncoder();
  const write = (text: string) => {
    const bytes = enc.encode(text);
    for (let off = 0; off < bytes.length;) off += tty.writeSync(bytes.subarray(off));
  };
  // Alternate screen, cursor hidden while drawing.
  write("\x1b[?1049h\x1b[H\x1b[2J");
  return {
    read: (buf) => tty.read(buf),
    write,
    size() {
      try {
        const size = Deno.consoleSize();
        if (size.columns > 0 && size.rows > 0) return size;
      } catch {
        // not a terminal Deno can ask: the usual size
      }
      return { columns: 80, rows: 24 };
    },
    close() {
      write("\x1b[?25h\x1b[?1049l");
      tty.setRaw(false);
      tty.close();
    },
  };
}

type Key =
  | { kind: "char"; text: string }
  | {
    kind:
      | "enter"
      | "tab"
      | "backspace"
      | "delete"
      | "up"
      | "down"
      | "left"
      | "right"
      | "home"
      | "end"
      | "pageup"
      | "pagedown"
      | "escape";
  }
  | { kind: "ctrl"; letter: string };

/** Splits input bytes into keys (escape sequences of the common terminals). */
function decodeKeys(text: string): Key[] {
  const keys: Key[] = [];
  const seq: Record<string, Key["kind"]> = {
    "[A": "up",
    "[B": "down",
    "[C": "right",
    "[D": "left",
    "OA": "up",
    "OB": "down",
    "OC": "right",
    "OD": "left",
    "[H": "home",
    "[F": "end",
    "OH": "home",
    "OF": "end",
    "[1~": "home",
    "[4~": "end",
    "[3~": "delete",
    "[5~": "pageup",
    "[6~": "pagedown",
  };
  for (let i = 0; i < text.length;) {
    const c = text[i]!;
    if (c === "\x1b") {
      // deno-lint-ignore no-control-regex
      const m = /^\x1b(\[[0-9;]*[A-Za-z~]|O[A-Za-z])/.exec(text.slice(i));
      if (m !== null) {
        const k = seq[m[1]!.replace(/^\[1;\d/, "[")];
        if (k !== undefined) keys.push({ kind: k } as Key);
        i += m[0].length;
        continue;
      }
      keys.push({ kind: "escape" });
      i++;
      continue;
    }
    const code = c.charCodeAt(0);
    if (c === "\r" || c === "\n") keys.push({ kind: "enter" });
    else if (c === "\t") keys.push({ kind: "tab" });
    else if (code === 0x7f || code === 0x08) keys.push({ kind: "backspace" });
    else if (code < 0x20) keys.push({ kind: "ctrl", letter: String.fromCharCode(code + 0x60) });
    else {
      const cp = text.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      keys.push({ kind: "char", text: ch });
      i += ch.length;
      continue;
    }
    i++;
  }
  return keys;
}

const segmenter = new Intl.Segmenter();
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;

/** The columns one grapheme takes: 2 for wide East Asian characters and emoji, 0 for controls. */
function cellWidth(g: string): number {
  const cp = g.codePointAt(0)!;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp >= 0x1f000 && PICTOGRAPHIC.test(g)) return 2;
  if (g.includes("\ufe0f") && PICTOGRAPHIC.test(g)) return 2; // emoji presentation
  return eastAsianWidth(cp);
}

/** The columns text takes on a terminal. */
function stringWidth(text: string): number {
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let w = 0;
  for (const { segment } of segmenter.segment(text)) w += cellWidth(segment);
  return w;
}

/** Cuts text to at most `width` terminal columns (wide characters count two), marking a cut with `…`. */
function fit(text: string, width: number): string {
  if (width <= 0) return "";
  if (/^[\x20-\x7e]*$/.test(text)) {
    return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
  }
  if (stringWidth(text) <= width) return text;
  let out = "";
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const w = cellWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}

/** Text cut or padded with spaces to exactly `width` columns. */
function padTo(text: string, width: number): string {
  const cut = fit(text, width);
  return cut + " ".repeat(Math.max(0, width - stringWidth(cut)));
}

function age(ms: number, now: number): string {
  const s = Math.max(0, Math.floor((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  if (s < 7 * 86_400) return `${Math.floor(s / 86_400)}d`;
  if (s < 365 * 86_400) return `${Math.floor(s / (7 * 86_400))}w`;
  return `${Math.floor(s / (365 * 86_400))}y`;
}

const FILTER_LABEL: Record<SearchFilter, string> = {
  all: "all history",
  host: "this host",
  session: "this session",
  directory: "this directory",
};

const PAGE_FIRST = 200;
const PAGE = 20_000;

/** How long one slice of a search may hold the screen (ms); the rest runs between keys. */
const SLICE_MS = 12;

/** The search's state and drawing; keys change it, `draw` shows it. */
class Screen {
  readonly #ctx: SearchContext;
  #query: string;
  #cursor: number;
  #mode: SearchMode;
  #filter: SearchFilter;
  #list = new CommandList();
  #loaded = false;
  #loading: Promise<void> | null = null;
  #generation = 0;
  #matches: Matches | undefined;
  #finder: Finder | null = null;
  #onChange: () => void = () => {};
  #selected = 0;
  #top = 0;
  #runs = new Map<number, LatestRun | null>();
  #message = "";
  #confirm: string | null = null;
  #details: string[] | null = null;
  readonly #color = Deno.env.get("NO_COLOR") === undefined;

  constructor(ctx: SearchContext) {
    this.#ctx = ctx;
    this.#query = ctx.query;
    this.#cursor = [...ctx.query].length;
    this.#mode = ctx.mode;
    this.#filter = ctx.filter;
  }

  /** Loads the commands of the filter: the first page at once, the rest in the background. */
  start(onMore: () => void): void {
    this.#onChange = onMore;
    const generation = ++this.#generation;
    this.#list = new CommandList();
    this.#matches = undefined;
    this.#runs.clear();
    this.#loaded = false;
    this.#selected = 0;
    this.#top = 0;
    const filter = this.#runFilter();
    if (filter === null) {
      this.#loaded = true;
      this.#refresh();
      return;
    }
    if (Object.keys(filter).length > 0) {
      for (const r of filteredCommands(this.#ctx.db, filter)) {
        this.#list.push(r.id, r.cmd, r.last_at);
      }
      this.#loaded = true;
      this.#refresh();
      return;
    }
    let last: CommandRow | undefined;
    const page = (limit: number) => {
      const rows = recentCommands(this.#ctx.db, limit, last);
      for (const r of rows) this.#list.push(r.id, r.cmd, r.last_at);
      last = rows.at(-1) ?? last;
      return rows.length === limit;
    };
    const more = page(PAGE_FIRST);
    this.#refresh();
    if (!more) {
      this.#loaded = true;
      return;
    }
    this.#loading = (async () => {
      while (generation === this.#generation) {
        await new Promise((r) => setTimeout(r, 0)); // let keys in between pages
        if (generation !== this.#generation) return;
        const again = page(PAGE);
        this.#continue();
        onMore();
        if (!again) break;
      }
      if (generation === this.#generation) this.#loaded = true;
      onMore();
    })();
  }

  #runFilter(): RunFilter | null {
    switch (this.#filter) {
      case "all":
        return {};
      case "host":
        return { host: this.#ctx.host };
      case "session":
        return this.#ctx.session === undefined ? null : { session: this.#ctx.session };
      case "directory":
        return { cwd: this.#ctx.cwd };
    }
  }

  /** Stops what runs in the background (loading, the rest of a search). */
  stop(): void {
    this.#generation++;
    this.#finder = null;
  }

  /** Searches again after the query or mode changed (narrowing when it can). */
  #refresh(narrow = true): void {
    const q = this.#query;
    if (q.trim() === "") {
      this.#finder = null;
      this.#matches = undefined;
    } else {
      this.#finder = new Finder(this.#list, q, this.#mode, narrow ? this.#matches : undefined);
    }
    this.#continue();
  }

  /** Runs a slice of the search (it also takes in commands loaded since), and the rest later. */
  #continue(): void {
    const finder = this.#finder;
    if (finder !== null) {
      const done = finder.run(SLICE_MS);
      this.#matches = finder.matches();
      if (!done) {
        setTimeout(() => {
          if (finder !== this.#finder) return; // a newer search replaced it
          this.#continue();
          this.#onChange();
        }, 0);
      }
    }
    const count = this.#count();
    if (this.#selected >= count) this.#selected = Math.max(0, count - 1);
  }

  #count(): number {
    return this.#matches === undefined ? this.#list.length : this.#matches.ranked.length;
  }

  #at(row: number): number {
    return this.#matches === undefined ? row : this.#matches.ranked[row]!;
  }

  #selectedCommand(): { id: number; cmd: string } | undefined {
    if (this.#selected >= this.#count()) return undefined;
    const i = this.#at(this.#selected);
    return { id: this.#list.ids[i]!, cmd: this.#list.texts[i]! };
  }

  #run(id: number): LatestRun | null {
    let run = this.#runs.get(id);
    if (run === undefined) {
      run = latestRun(this.#ctx.db, id, this.#runFilter() ?? {}) ?? null;
      this.#runs.set(id, run);
    }
    return run;
  }

  /**
   * Handles one key.
   *
   * @returns The choice, `null` to leave with nothing, `undefined` to go on.
   */
  async key(key: Key, onMore: () => void): Promise<SearchChoice | null | undefined> {
    this.#message = "";
    if (this.#details !== null) {
      this.#details = null;
      return undefined;
    }
    if (this.#confirm !== null) {
      const cmd = this.#confirm;
      this.#confirm = null;
      if (key.kind === "char" && (key.text === "y" || key.text === "Y")) {
        const selected = this.#selectedCommand();
        await this.#ctx.forget(cmd);
        if (selected !== undefined) this.#list.remove(selected.id);
        this.#refresh(false);
        this.#message = "Deleted here; the next sync deletes it on every device.";
      } else this.#message = "Nothing deleted.";
      return undefined;
    }
    const chars = [...this.#query];
    const setQuery = (next: string[], cursor: number) => {
      const narrows = next.join("").startsWith(this.#query);
      this.#query = next.join("");
      this.#cursor = cursor;
      this.#selected = 0;
      this.#top = 0;
      this.#refresh(narrows);
    };
    const page = Math.max(1, this.#listRows() - 1);
    switch (key.kind) {
      case "char":
        chars.splice(this.#cursor, 0, key.text);
        setQuery(chars, this.#cursor + 1);
        break;
      case "backspace":
        if (this.#cursor > 0) {
          chars.splice(this.#cursor - 1, 1);
          setQuery(chars, this.#cursor - 1);
        }
        break;
      case "delete":
        if (this.#cursor < chars.length) {
          chars.splice(this.#cursor, 1);
          setQuery(chars, this.#cursor);
        }
        break;
      case "left":
        this.#cursor = Math.max(0, this.#cursor - 1);
        break;
      case "right":
        this.#cursor = Math.min(chars.length, this.#cursor + 1);
        break;
      case "home":
        this.#cursor = 0;
        break;
      case "end":
        this.#cursor = chars.length;
        break;
      case "up":
        this.#selected = Math.max(0, this.#selected - 1);
        break;
      case "down":
        this.#selected = Math.min(Math.max(0, this.#count() - 1), this.#selected + 1);
        break;
      case "pageup":
        this.#selected = Math.max(0, this.#selected - page);
        break;
      case "pagedown":
        this.#selected = Math.min(Math.max(0, this.#count() - 1), this.#selected + page);
        break;
      case "enter":
      case "tab": {
        const s = this.#selectedCommand();
        // Nothing found: what was typed goes back to the prompt, to edit.
        if (s === undefined) {
          return this.#query === "" ? null : { action: "edit", cmd: this.#query };
        }
        return { action: key.kind === "enter" ? "run" : "edit", cmd: s.cmd };
      }
      case "escape":
        return null;
      case "ctrl":
        switch (key.letter) {
          case "c":
          case "g":
            return null;
          case "p":
            return this.key({ kind: "up" }, onMore);
          case "n":
            return this.key({ kind: "down" }, onMore);
          case "a":
            this.#cursor = 0;
            break;
          case "e":
            this.#cursor = chars.length;
            break;
          case "u":
            setQuery(chars.slice(this.#cursor), 0);
            break;
          case "w": {
            let at = this.#cursor;
            while (at > 0 && chars[at - 1] === " ") at--;
            while (at > 0 && chars[at - 1] !== " ") at--;
            chars.splice(at, this.#cursor - at);
            setQuery(chars, at);
            break;
          }
          case "r":
            this.#filter =
              SEARCH_FILTERS[(SEARCH_FILTERS.indexOf(this.#filter) + 1) % SEARCH_FILTERS.length]!;
            if (this.#filter === "session" && this.#ctx.session === undefined) {
              this.#message = "This shell does not record (no HX_SESSION): no session to search.";
            }
            this.start(onMore);
            break;
          case "s":
            this.#mode =
              SEARCH_MODES[(SEARCH_MODES.indexOf(this.#mode) + 1) % SEARCH_MODES.length]!;
            this.#selected = 0;
            this.#refresh(false);
            break;
          case "d": {
            const s = this.#selectedCommand();
            if (s !== undefined) this.#confirm = s.cmd;
            break;
          }
          case "o": {
            const s = this.#selectedCommand();
            if (s !== undefined) this.#details = this.#describe(s.id, s.cmd);
            break;
          }
        }
        break;
    }
    return undefined;
  }

  #describe(id: number, cmd: string): string[] {
    const d = commandDetails(this.#ctx.db, id);
    const run = this.#run(id);
    return [
      "Command",
      `  ${printable(cmd)}`,
      "",
      `Runs            ${d.runs} (${d.failures} failed)`,
      `First run       ${d.first_at ? localTime(d.first_at, true) : "-"}`,
      `Last run        ${d.last_at ? localTime(d.last_at, true) : "-"}`,
      `Last exit       ${run?.exit_code ?? "-"}`,
      `Last duration   ${run?.duration_ms == null ? "-" : duration(run.duration_ms)}`,
      `Last directory  ${printable(run?.cwd ?? "-")}`,
      `Last session    ${printable(run?.session_id ?? "-")}`,
      `Hosts           ${d.hosts.map(printable).join(", ") || "-"}`,
      `Directories     ${d.directories.map(printable).join(", ") || "-"}`,
      "",
      "Any key goes back.",
    ];
  }

  #listRows(): number {
    return Math.max(1, this.#size.rows - 3);
  }

  #size = { columns: 80, rows: 24 };

  /** The whole screen, as one write. */
  draw(size: { columns: number; rows: number }): string {
    this.#size = size;
    const { columns, rows } = size;
    const inverse = (s: string) => `\x1b[7m${s}\x1b[27m`;
    const dim = (s: string) => (this.#color ? `\x1b[2m${s}\x1b[22m` : s);
    const red = (s: string) => (this.#color ? `\x1b[31m${s}\x1b[39m` : s);
    let out = "\x1b[?25l\x1b[H";
    const line = (text: string) => {
      out += `${text}\x1b[K\r\n`;
    };
    if (this.#details !== null) {
      for (const l of this.#details.slice(0, rows - 1)) line(fit(l, columns));
      out += "\x1b[J\x1b[?25h";
      return out;
    }
    const count = this.#count();
    const complete = this.#loaded && (this.#matches === undefined || this.#matches.done);
    const status = `${this.#mode} · ${FILTER_LABEL[this.#filter]} · ${count}${
      complete ? "" : "+"
    } commands`;
    const prompt = "> ";
    const query = printable(this.#query);
    const room = Math.max(1, columns - stringWidth(status) - 3);
    line(`${prompt}${padTo(query, room - prompt.length)} ${dim(status)}`);
    const listRows = this.#listRows();
    if (this.#selected < this.#top) this.#top = this.#selected;
    if (this.#selected >= this.#top + listRows) this.#top = this.#selected - listRows + 1;
    const now = Date.now();
    for (let r = 0; r < listRows; r++) {
      const row = this.#top + r;
      if (row >= count) {
        line("");
        continue;
      }
      const i = this.#at(row);
      const run = this.#run(this.#list.ids[i]!);
      const exit = run?.exit_code;
      const exitText = exit == null ? " " : exit === 0 ? " " : String(exit);
      const dur = run?.duration_ms == null ? "" : duration(run.duration_ms);
      const meta = `${exitText.padStart(3)} ${age(this.#list.lastAt[i]!, now).padStart(4)} ${
        dur.padStart(7)
      }  `;
      const cmd = fit(printable(this.#list.texts[i]!), Math.max(1, columns - meta.length - 1));
      const coloured = `${exit != null && exit !== 0 ? red(meta.slice(0, 3)) : meta.slice(0, 3)}${
        dim(meta.slice(3))
      }`;
      line(row === this.#selected ? inverse(`${meta}${cmd}`) : `${coloured}${cmd}`);
    }
    const help = this.#confirm !== null
      ? `Delete every run of "${printable(this.#confirm)}" on every device? y/n`
      : this.#message ||
        "enter run · tab edit · ctrl-r filter · ctrl-s mode · ctrl-o details · ctrl-d delete · esc";
    out += fit(help, columns);
    out += "\x1b[K\x1b[J";
    // The cursor goes back into the query.
    const before = printable([...this.#query].slice(0, this.#cursor).join(""));
    out += `\x1b[1;${Math.min(columns, prompt.length + stringWidth(before) + 1)}H\x1b[?25h`;
    return out;
  }
}

/**
 * Runs the interactive search on the terminal.
 *
 * @param ctx The index, the context and the settings.
 * @returns The choice, or `null` when the user left with nothing.
 */
export async function runSearch(ctx: SearchContext): Promise<SearchChoice | null> {
  const term = openTerminal();
  const state = new Screen(ctx);
  let dirty = true;
  const redraw = () => {
    if (!dirty) return;
    dirty = false;
    term.write(state.draw(term.size()));
  };
  const onMore = () => {
    dirty = true;
    queueMicrotask(redraw);
  };
  const resize = () => {
    dirty = true;
    redraw();
  };
  try {
    Deno.addSignalListener("SIGWINCH", resize);
  } catch {
    // no such signal here
  }
  try {
    state.start(onMore);
    redraw();
    const buf = new Uint8Array(4096);
    const dec = new TextDecoder();
    for (;;) {
      const n = await term.read(buf);
      if (n === null) return null;
      for (const key of decodeKeys(dec.decode(buf.subarray(0, n), { stream: true }))) {
        const result = await state.key(key, onMore);
        if (result !== undefined) return result;
        dirty = true;
      }
      redraw();
    }
  } finally {
    state.stop();
    try {
      Deno.removeSignalListener("SIGWINCH", resize);
    } catch {
      // never added
    }
    term.close();
  }
}
