/**
 * Keeping the search index (`commands_fts`, FTS5) in shape after bulk writes.
 *
 * FTS5 writes each flush of new entries as a segment, and merges segments a few at a time on
 * later writes. An import or a pull of thousands of commands leaves several segments behind
 * (three after importing 60k commands), and the later writes that merged them were
 * `hx record`'s: on an index of 100k commands, one record in every few did a merge, with ~4 MiB
 * more memory and four times the time. Merging
 * once, right after the bulk write, puts the index in one segment at the top level, where the
 * one-command segments of recording never reach it; it costs ~0.2 s per 100k commands, so it is
 * done only when a write added a tenth of the index or more.
 *
 * @module
 */

import type { Db } from "./db.ts";

/** Fewer new commands than this never merge the index (FTS5's own merging is enough). */
const MIN_NEW_COMMANDS = 1000;

/**
 * Where the commands table ends now, before a bulk write.
 *
 * @param db The index.
 * @returns The highest command id.
 */
export function commandsMark(db: Db): number {
  return db.get<{ m: number }>("SELECT coalesce(max(id), 0) AS m FROM commands")!.m;
}

/**
 * Merges the search index into one segment if the write since `mark` added at least a tenth of
 * its commands, and 1,000 or more.
 *
 * @param db The index.
 * @param mark {@linkcode commandsMark} before the write.
 * @returns Whether it merged (`false` also when merging failed: the index stays sound).
 */
export function settleSearchIndex(db: Db, mark: number): boolean {
  const now = commandsMark(db);
  const added = now - mark;
  if (added < MIN_NEW_COMMANDS || added * 10 < now) return false;
  try {
    db.run("INSERT INTO commands_fts (commands_fts) VALUES ('optimize')");
    return true;
  } catch {
    // A statement of its own: when it fails (a full disk) the index is as it was, and FTS5
    // merges it bit by bit as before. Never a reason to fail the import or pull that came first.
    return false;
  }
}
