/**
 * The matching behind `hx search`, over distinct commands held newest first.
 *
 * Text is compared case-folded and NFKC-normalised (`WÖRLD` matches `wörld`, a full-width
 * `ｌｓ` matches `ls`). Three modes:
 *
 * - **fuzzy** (default): every word typed must appear in order, letters possibly apart
 *   (`gco` finds `git checkout`). Commands where every word appears whole come first, those
 *   where each starts at a word boundary before them; within a rank, newest first.
 * - **prefix**: the command starts with what is typed.
 * - **fulltext**: every word typed appears whole, anywhere.
 *
 * Matching one more letter only narrows the previous matches, so typing is cheap however
 * long the history: each keystroke looks only at what still matched.
 *
 * @module
 */

import type { SearchMode } from "../config.ts";

/**
 * Folds text for comparison: NFKC, then lower case.
 *
 * @param text Any text.
 * @returns The folded text.
 */
export function fold(text: string): string {
  // ASCII needs no normalisation (and most commands are ASCII): lower case is enough.
  return ASCII.test(text) ? text.toLowerCase() : text.normalize("NFKC").toLowerCase();
}

// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** Distinct commands, newest first, with their folded text. */
export class CommandList {
  /** Command ids (the index's `commands.id`). */
  readonly ids: number[] = [];
  /** The commands as typed. */
  readonly texts: string[] = [];
  /** When each last ran (ms). */
  readonly lastAt: number[] = [];
  readonly #folded: string[] = [];

  /** How many there are. */
  get length(): number {
    return this.ids.length;
  }

  /** Appends a command older than every one held. */
  push(id: number, text: string, lastAt: number): void {
    this.ids.push(id);
    this.texts.push(text);
    this.lastAt.push(lastAt);
    this.#folded.push(fold(text));
  }

  /** The folded text of the command at `i`. */
  folded(i: number): string {
    return this.#folded[i]!;
  }

  /** Removes the command with this id (after it was deleted). */
  remove(id: number): void {
    const i = this.ids.indexOf(id);
    if (i < 0) return;
    this.ids.splice(i, 1);
    this.texts.splice(i, 1);
    this.lastAt.splice(i, 1);
    this.#folded.splice(i, 1);
  }
}

/** What one search found (so far, while it is not `done`). */
export interface Matches {
  /** The query, folded. */
  query: string;
  mode: SearchMode;
  /** Whether every command was looked at. */
  done: boolean;
  /** How many commands of the list were looked at (matches refer to the first `scanned`). */
  scanned: number;
  /** Positions in the list of every match, in list order (newest first). */
  all: number[];
  /** Positions in the order to show them: best rank first, newest first within a rank. */
  ranked: number[];
}

function words(query: string): string[] {
  return query.split(/\s+/).filter((w) => w !== "");
}

/** Whether a match at `at` starts a word: at the start, or after a character of no word. */
function isBoundary(text: string, at: number): boolean {
  if (at === 0) return true;
  const c = text.charCodeAt(at - 1);
  if (c < 0x80) {
    return !((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f ||
      (c >= 0x41 && c <= 0x5a));
  }
  return !/[\p{L}\p{N}]/u.test(text[at - 1]!);
}

/** Whether `word` is a subsequence of `text` (letters in order, possibly apart). */
function subsequence(text: string, word: string): boolean {
  let at = 0;
  for (let i = 0; i < word.length; i++) {
    const found = text.indexOf(word[i]!, at);
    if (found < 0) return false;
    at = found + 1;
  }
  return true;
}

/**
 * Ranks one command: -1 for no match, higher is better.
 *
 * @param text The command, folded.
 * @param terms The words typed, folded (for prefix mode, the whole query as one).
 * @param mode The mode.
 */
function rank(text: string, terms: readonly string[], mode: SearchMode): number {
  if (mode === "prefix") return text.startsWith(terms[0] ?? "") ? 0 : -1;
  let whole = true;
  let boundary = true;
  for (const term of terms) {
    const at = text.indexOf(term);
    if (at < 0) {
      if (mode === "fulltext" || !subsequence(text, term)) return -1;
      whole = false;
      boundary = false;
      continue;
    }
    if (boundary) {
      let b = isBoundary(text, at);
      for (let from = at + 1; !b;) {
        const next = text.indexOf(term, from);
        if (next < 0) break;
        b = isBoundary(text, next);
        from = next + 1;
      }
      boundary = b;
    }
  }
  return whole ? (boundary ? 2 : 1) : 0;
}

/**
 * One search over the list, run in slices so that a long one never holds up the screen: the
 * caller runs a slice, draws what was found so far, and runs the rest when it has time.
 * Narrows `previous` (when it was complete and the new query only adds to it).
 */
export class Search {
  readonly #list: CommandList;
  readonly #query: string;
  readonly #terms: string[];
  readonly #mode: SearchMode;
  readonly #tiers: number[][] = [[], [], []];
  readonly #all: number[] = [];
  /** Candidates still to look at: previous matches first, then the list from `#from`. */
  readonly #candidates: readonly number[];
  #next = 0;
  #from: number;

  /**
   * Prepares a search.
   *
   * @param list The commands, newest first.
   * @param query What is typed (not folded).
   * @param mode The mode.
   * @param previous The last result on the same list, to narrow.
   */
  constructor(list: CommandList, query: string, mode: SearchMode, previous?: Matches) {
    this.#list = list;
    this.#query = fold(query);
    this.#mode = mode;
    this.#terms = mode === "prefix" ? [this.#query] : words(this.#query);
    // Whatever matches the longer query matched the shorter one: each of its words extends
    // one of the shorter query's words or is new.
    if (
      previous !== undefined && previous.done && previous.mode === mode &&
      this.#query.startsWith(previous.query)
    ) {
      this.#candidates = previous.all;
      this.#from = previous.scanned;
    } else {
      this.#candidates = [];
      this.#from = 0;
    }
  }

  /**
   * Looks at more commands, for about `budgetMs` (all of them when it is `Infinity`).
   *
   * @returns Whether the search is complete.
   */
  run(budgetMs = Infinity): boolean {
    const deadline = performance.now() + budgetMs;
    const list = this.#list;
    const terms = this.#terms;
    const mode = this.#mode;
    for (;;) {
      const stop = Math.min(this.#next + 2048, this.#candidates.length);
      for (; this.#next < stop; this.#next++) this.#consider(this.#candidates[this.#next]!);
      if (this.#next < this.#candidates.length) {
        if (performance.now() > deadline) return false;
        continue;
      }
      const end = Math.min(this.#from + 2048, list.length);
      for (; this.#from < end; this.#from++) {
        const r = rank(list.folded(this.#from), terms, mode);
        if (r >= 0) {
          this.#all.push(this.#from);
          this.#tiers[2 - r]!.push(this.#from);
        }
      }
      if (this.#from >= list.length) return true;
      if (performance.now() > deadline) return false;
    }
  }

  #consider(i: number): void {
    const r = rank(this.#list.folded(i), this.#terms, this.#mode);
    if (r < 0) return;
    this.#all.push(i);
    this.#tiers[2 - r]!.push(i);
  }

  /** What was found so far. */
  matches(): Matches {
    const done = this.#next >= this.#candidates.length && this.#from >= this.#list.length;
    return {
      query: this.#query,
      mode: this.#mode,
      done,
      scanned: this.#from,
      // Previous matches come first in list order, then the newly scanned ones: still in order.
      all: this.#all,
      ranked: this.#tiers.flat(),
    };
  }
}

/**
 * Searches the list to the end, narrowing `previous` when the new query only adds to it.
 *
 * @param list The commands, newest first.
 * @param query What is typed (not folded).
 * @param mode The mode.
 * @param previous The last result on the same list, to narrow.
 * @returns The matches.
 *
 * @example
 * ```ts
 * import { CommandList, search } from "./engine.ts";
 * const list = new CommandList();
 * list.push(3, "git checkout main", 3);
 * list.push(2, "echo Grüße", 2);
 * list.push(1, "git commit -m x", 1);
 * const m = search(list, "gco", "fuzzy");
 * console.assert(m.ranked.map((i) => list.texts[i]).join("|") === "git checkout main|git commit -m x");
 * console.assert(search(list, "GRÜẞE", "fulltext").ranked[0] === 1);
 * ```
 */
export function search(
  list: CommandList,
  query: string,
  mode: SearchMode,
  previous?: Matches,
): Matches {
  const s = new Search(list, query, mode, previous);
  s.run();
  return s.matches();
}
