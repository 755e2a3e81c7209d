/**
 * Bulk writes: importing far more events than the index holds (a fresh device pulling a
 * vault's history) with the bookkeeping deferred to the end.
 *
 * Every event is a row in five B-trees; three of them (by start, by command, by session)
 * exist only to be read, and the one by command is written in random order: on a pull of 1M
 * events into an empty index they cost more than the rows themselves, and counting each
 * command's runs after every segment as much again. Built once from the finished table,
 * by sorting, they cost a fraction. So a bulk write drops them (and the commands' indexes by
 * text and by latest run), inserts events and new command texts only, then recreates the
 * indexes and counts every command's runs in one pass.
 *
 * The unique index of texts is dropped too, when the pull is not huge (`texts`): inserting
 * 300k new texts kept it in random order, ~1.5 s of a 1M pull, against ~0.4 s to build it by
 * sorting. The pull then finds the texts it stored already by their hashes, each hit checked
 * against its row (`vault/text_hashes.ts`), never by storing them again: deleting a copy costs
 * the trigram index milliseconds. Another writer (`hx record`, `hx import`) looks a text up by
 * scanning (~20 ms among 300k) and may store one the pull stores too: the index is built last,
 * and if it finds such copies, each text's events move to its first id and the other rows go
 * (their search entries with them, by trigger) before it is built again.
 *
 * The state is in the index (`meta.bulk_write`), committed before the first index is dropped:
 * a process killed in between leaves it set, and the next {@linkcode finishBulk} (every pull
 * starts with one) completes the work. Only pulls write in bulk, and they hold the sync lock:
 * a bulk write's owner is the only one that may finish it while its process lives (a finish by
 * another would leave the owner's later commands uncounted). Meanwhile the index stays sound
 * for every reader and writer: queries that would use a dropped index scan instead, `hx record`
 * counts its own runs as always, and the final count starts from the events, whoever wrote
 * them.
 *
 * @module
 */

import type { Db } from "./db.ts";

/** The indexes a bulk write drops and recreates: the same definitions as the migrations'. */
const DEFERRED_INDEXES: Readonly<Record<string, string>> = {
  events_started: "events (started_at)",
  events_cmd: "events (cmd_id, started_at)",
  events_session: "events (session_ref, started_at)",
  commands_recent: "commands (last_at)",
  commands_cmd: "commands (cmd)",
};
/** Built by {@linkcode buildCommandIndex}, or after the counts. */
const BUILT_APART = new Set(["commands_recent", "commands_cmd"]);

const FLAG = "bulk_write";

/**
 * Write-ahead log pages before a checkpoint during a bulk write (64 MiB), and otherwise
 * (SQLite's default). Each checkpoint copies the log's pages into the database and syncs it;
 * a bulk write's batches rewrite many of the same pages, which one larger checkpoint copies
 * once (a pull of 1M events: ~1 s less, in alternated runs).
 */
const BULK_WAL_PAGES = 16_384;
const WAL_PAGES = 1_000;

/**
 * Whether writing `incoming` events into this index is worth a bulk write: at least
 * `minEvents`, and at least as many as the index holds (rebuilding costs in proportion to
 * the whole table).
 *
 * @param db The index.
 * @param incoming Events about to be written.
 * @param minEvents Fewer never are.
 */
export function worthBulk(db: Db, incoming: number, minEvents: number): boolean {
  if (incoming < minEvents) return false;
  const held = db.get<{ n: number }>("SELECT count(*) AS n FROM events")!.n;
  return incoming >= held;
}

/**
 * Starts a bulk write: marks it in the index, then drops the deferred indexes, in one
 * transaction. Until {@linkcode finishBulk}, inserts must defer counting runs
 * (`insertEvents`' `deferCounts`), and, when the index of texts is dropped, find stored texts
 * by their hashes (`CommandIds.hashAll`).
 *
 * @param db The index (no transaction open).
 * @param opts `texts`: drop the unique index of command texts too.
 */
export function startBulk(db: Db, opts: { texts: boolean }): void {
  db.transaction(() => {
    db.setMeta(FLAG, "1");
    for (const name of Object.keys(DEFERRED_INDEXES)) {
      if (name !== "commands_cmd" || opts.texts) db.run(`DROP INDEX IF EXISTS ${name}`);
    }
    setAutomerge(db, BULK_AUTOMERGE);
  });
  db.exec(`PRAGMA wal_autocheckpoint = ${BULK_WAL_PAGES}`);
}

/**
 * Segments of the trigram index on one level before they are merged, during a bulk write and
 * otherwise (FTS5's default). A bulk write commits many batches, each a new segment of the
 * index, and merges less often with a higher bound (300k new texts: 1.15-1.47 -> 0.76-1.14 s);
 * afterwards the usual bound merges what it left as new texts come.
 */
const BULK_AUTOMERGE = 16;
const AUTOMERGE = 4;

function setAutomerge(db: Db, segments: number): void {
  // A literal: FTS5 refuses the number bound as a parameter (node:sqlite binds it as a real).
  db.run(`INSERT INTO commands_fts (commands_fts, rank) VALUES ('automerge', ${segments | 0})`);
}

/** Whether a bulk write started and was not finished (a process killed in between). */
export function bulkPending(db: Db): boolean {
  return db.meta(FLAG) !== undefined;
}

/**
 * Finishes a bulk write, if one is pending: recreates the indexes of events, then the unique
 * index of command texts (merging texts stored twice), then sets every command's run count and
 * latest run from its events and deletes the commands no event runs (met only in duplicates;
 * their search entries go with them, by trigger), each step a transaction that may run again.
 * Then checkpoints the log, which the bulk write let grow, and empties it. Safe to run again
 * after it failed: the bulk write is pending until the last step is done.
 *
 * @param db The index (no transaction open).
 * @returns Whether there was one to finish.
 */
export function finishBulk(db: Db): boolean {
  if (!bulkPending(db)) return false;
  const cache = db.get<{ cache_size: number }>("PRAGMA cache_size")!.cache_size;
  try {
    db.exec(`PRAGMA threads = ${navigator.hardwareConcurrency > 1 ? 1 : 0}`);
    db.setPageCache(SORT_PAGE_CACHE_MIB);
    // Sorting for the indexes of events spills to a temporary file rather than memory:
    // integers only (start times, ids). Command texts are sorted in memory, never on disk.
    db.exec("PRAGMA temp_store = FILE");
    db.transaction(() => {
      for (const [name, on] of Object.entries(DEFERRED_INDEXES)) {
        if (!BUILT_APART.has(name)) db.run(`CREATE INDEX IF NOT EXISTS ${name} ON ${on}`);
      }
    });
    db.exec("PRAGMA temp_store = MEMORY");
    db.transaction(() => buildCommandIndex(db));
    db.exec("PRAGMA threads = 0");
    db.exec(`PRAGMA cache_size = ${cache}`);
    db.transaction(() => finishCounts(db));
  } finally {
    db.exec("PRAGMA threads = 0");
    db.exec(`PRAGMA cache_size = ${cache}`);
    db.exec("PRAGMA temp_store = MEMORY");
    db.exec(`PRAGMA wal_autocheckpoint = ${WAL_PAGES}`);
  }
  db.checkpoint();
  return true;
}

/**
 * The page cache while the indexes of events are built (MiB). SQLite sorts in runs of that
 * size: with a second core, a helper thread sorts each run while this one reads the next
 * (1M events: the index by command 1.0 -> 0.5 s; one larger run leaves nothing to share).
 */
const SORT_PAGE_CACHE_MIB = 4;

/**
 * Builds the unique index of command texts, merging the texts stored twice during the bulk
 * write first if there are any (inside the caller's transaction).
 */
function buildCommandIndex(db: Db): void {
  const create =
    `CREATE UNIQUE INDEX IF NOT EXISTS commands_cmd ON ${DEFERRED_INDEXES.commands_cmd}`;
  try {
    db.run(create);
    return;
  } catch (err) {
    if (!String(err).includes("UNIQUE constraint failed")) throw err;
  }
  // Copies: every row of a text but its first. Ids only in the temporary table, no text.
  db.run(
    `CREATE TEMP TABLE bulk_copies AS
       SELECT c.id AS id, k.keep AS keep FROM commands c
       JOIN (SELECT cmd, min(id) AS keep FROM commands GROUP BY cmd HAVING count(*) > 1) AS k
         ON k.cmd = c.cmd
       WHERE c.id != k.keep`,
  );
  db.run("UPDATE events SET cmd_id = d.keep FROM temp.bulk_copies AS d WHERE events.cmd_id = d.id");
  db.run("DELETE FROM commands WHERE id IN (SELECT id FROM temp.bulk_copies)");
  db.run("DROP TABLE temp.bulk_copies");
  db.run(create);
}

/** Every command's runs and latest run from its events; the index by latest run; done. */
function finishCounts(db: Db): void {
  db.run(
    `UPDATE commands SET runs = n.c, last_at = n.m
     FROM (SELECT cmd_id, count(*) AS c, max(started_at) AS m FROM events GROUP BY cmd_id) AS n
     WHERE commands.id = n.cmd_id AND (commands.runs != n.c OR commands.last_at != n.m)`,
  );
  db.run(
    "DELETE FROM commands WHERE NOT EXISTS (SELECT 1 FROM events WHERE cmd_id = commands.id)",
  );
  db.run(`CREATE INDEX IF NOT EXISTS commands_recent ON ${DEFERRED_INDEXES.commands_recent}`);
  setAutomerge(db, AUTOMERGE);
  db.run("DELETE FROM meta WHERE key = ?", FLAG);
}
