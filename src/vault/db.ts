/**
 * The local SQLite index (`node:sqlite`): opening, pragmas, migrations, transactions and
 * a statement cache. The index is derived data: deleting it and pulling again rebuilds
 * the same history.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { foldCase } from "../_text.ts";
import { HxError } from "../errors.ts";
import { MIGRATIONS } from "./migrations.ts";

/** A row as SQLite returns it. */
export type Row = Record<string, SQLInputValue>;

/** The page cache of a connection (MiB): what search on a large history reads most. */
export const PAGE_CACHE_MIB = 32;

/**
 * An open index database.
 *
 * @example
 * ```ts
 * import { Db } from "./db.ts";
 * const db = Db.open(":memory:");
 * console.assert(db.schemaVersion() >= 1);
 * db.close();
 * ```
 */
export class Db {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #depth = 0;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Opens (creating if needed) and migrates the database at `path`. A new file is created
   * readable by its owner only (SQLite gives its WAL and shared-memory files the same mode),
   * and deleted content is overwritten (`secure_delete`).
   *
   * @param path A file path, or `:memory:`.
   * @returns The open database.
   * @throws {HxError} `corrupt` (code `index_damaged`) for a file that is not a sound index,
   *   `auth` (code `home_unwritable`) when it cannot be created or written, `invalid_input`
   *   when it was written by a newer hx.
   */
  static open(path: string): Db {
    if (path !== ":memory:") createPrivate(path);
    let raw: DatabaseSync;
    try {
      raw = new DatabaseSync(path, { timeout: 10_000 });
    } catch (err) {
      throw openError(err, path);
    }
    const db = new Db(raw);
    try {
      raw.exec("PRAGMA journal_mode = WAL");
      raw.exec("PRAGMA synchronous = NORMAL");
      raw.exec("PRAGMA foreign_keys = ON");
      raw.exec("PRAGMA secure_delete = ON");
      raw.exec("PRAGMA temp_store = MEMORY");
      raw.exec(`PRAGMA cache_size = -${PAGE_CACHE_MIB * 1024}`);
      // Substring match with Unicode case folding (SQLite's LIKE folds ASCII only); the
      // needle is folded by the caller.
      raw.function(
        "hx_contains",
        { deterministic: true },
        (hay, needle) =>
          typeof hay === "string" && typeof needle === "string" && foldCase(hay).includes(needle)
            ? 1
            : 0,
      );
      db.#migrate();
    } catch (err) {
      raw.close();
      if (err instanceof HxError) throw err;
      throw openError(err, path);
    }
    return db;
  }

  /**
   * Moves everything in the write-ahead log into the database and empties the log, so that
   * deleted content (overwritten in the database by `secure_delete`) survives in no file.
   */
  checkpoint(): void {
    this.#db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  #migrate(): void {
    const current = this.schemaVersion();
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (current > latest) {
      throw new HxError(
        "invalid_input",
        `Cannot open the index: it has schema ${current}, this hx knows ${latest}; upgrade hx`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      this.transaction(() => {
        // Another process may have migrated while this one waited for the write lock.
        if (this.schemaVersion() >= migration.version) return;
        this.#db.exec(migration.sql);
        this.#db.exec(`PRAGMA user_version = ${migration.version}`);
      });
    }
  }

  /** The number of migrations applied. */
  schemaVersion(): number {
    const row = this.#db.prepare("PRAGMA user_version").get() as { user_version: number };
    return row.user_version;
  }

  /** A cached prepared statement. */
  prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** A statement prepared for one use (not cached): for iterating while others run. */
  prepareUncached(sql: string): StatementSync {
    return this.#db.prepare(sql);
  }

  /** Runs a statement, returning the number of changed rows. */
  run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.prepare(sql).run(...params).changes);
  }

  /** The first row, or `undefined`. */
  get<T = Row>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.prepare(sql).get(...params) as T | undefined;
  }

  /** Every row. */
  all<T = Row>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.prepare(sql).all(...params) as T[];
  }

  /** Defines (or redefines) a deterministic SQL function of one text argument on this connection. */
  defineFunction(name: string, fn: (text: string) => string | number | null): void {
    this.#db.function(name, { deterministic: true }, (v) => (typeof v === "string" ? fn(v) : null));
  }

  /** Runs raw SQL (several statements, no parameters). */
  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /**
   * Runs `fn` in a transaction (`BEGIN IMMEDIATE`, so writers queue instead of failing
   * later). Nested calls (and calls inside a {@linkcode Db.begin} batch) join the outer
   * transaction: when `fn` throws there, the outer one must be rolled back. (Savepoints would
   * undo a part alone, but keep a copy of every page the part changes in memory: tens of MiB
   * for a segment of a large history.)
   */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) {
      this.#depth++;
      try {
        return fn();
      } finally {
        this.#depth--;
      }
    }
    this.#db.exec("BEGIN IMMEDIATE");
    this.#depth = 1;
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    } finally {
      this.#depth = 0;
    }
  }

  /**
   * Opens a batch: one transaction that stays open, across awaits, until {@linkcode Db.commit}
   * or {@linkcode Db.rollback}, so that many small transactions (joining it) write their pages
   * once. Other processes cannot write meanwhile (`hx record` waits up to 10 s): keep batches
   * short, and never open across a wait on the network.
   *
   * @throws {Error} Inside a transaction already.
   */
  begin(): void {
    if (this.#depth > 0) throw new Error("Cannot open a batch inside a transaction");
    this.#db.exec("BEGIN IMMEDIATE");
    this.#depth = 1;
  }

  /** Commits the batch {@linkcode Db.begin} opened; nothing when none is open. */
  commit(): void {
    if (this.#depth === 0) return;
    this.#db.exec("COMMIT");
    this.#depth = 0;
  }

  /** Rolls back the batch {@linkcode Db.begin} opened: all of it; nothing when none is open. */
  rollback(): void {
    if (this.#depth === 0) return;
    this.#db.exec("ROLLBACK");
    this.#depth = 0;
  }

  /**
   * SQLite's `data_version`: it changes when another connection commits, not when this one
   * does.
   */
  dataVersion(): number {
    return this.get<{ data_version: number }>("PRAGMA data_version")!.data_version;
  }

  /** Whether a transaction or a batch is open. */
  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  /**
   * Bounds SQLite's page cache of this connection.
   *
   * @param mib The bound in MiB ({@linkcode PAGE_CACHE_MIB} when the index is opened).
   */
  setPageCache(mib: number): void {
    this.#db.exec(`PRAGMA cache_size = -${Math.round(mib * 1024)}`);
  }

  /** A value of the `meta` table. */
  meta(key: string): string | undefined {
    return this.get<{ value: string }>("SELECT value FROM meta WHERE key = ?", key)?.value;
  }

  /** Sets a value of the `meta` table. */
  setMeta(key: string, value: string): void {
    this.run(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  /** Closes the database. */
  close(): void {
    this.#statements.clear();
    this.#db.close();
  }
}

/** Creates the database file with mode 0600 if it does not exist; tightens an existing one. */
function createPrivate(path: string): void {
  try {
    Deno.openSync(path, { createNew: true, write: true, mode: 0o600 }).close();
    return;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) {
      throw openError(err, path);
    }
  }
  if (Deno.build.os === "windows") return;
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      const mode = Deno.statSync(path + suffix).mode;
      if (mode !== null && (mode & 0o077) !== 0) Deno.chmodSync(path + suffix, mode & 0o700);
    } catch {
      // absent, or not ours to change: SQLite will say if it cannot open it
    }
  }
}

/** The error an index that cannot be opened or used stands for, naming its path. */
function openError(err: unknown, path: string): HxError {
  const text = err instanceof Error ? err.message : String(err);
  if (
    err instanceof Deno.errors.PermissionDenied ||
    /readonly|read-only|unable to open|permission denied|access permission/i.test(text)
  ) {
    return new HxError("auth", `Cannot open the index ${path}: it cannot be written (${text})`, {
      code: "home_unwritable",
      cause: err,
    });
  }
  if (err instanceof Deno.errors.NotFound) {
    return new HxError("not_found", `Cannot open the index ${path}: its directory does not exist`, {
      code: "home_unwritable",
      cause: err,
    });
  }
  if (/not a database|malformed|corrupt|disk image/i.test(text)) {
    return new HxError("corrupt", `Cannot open the index ${path}: it is damaged (${text})`, {
      code: "index_damaged",
      cause: err,
    });
  }
  return new HxError("unknown", `Cannot open the index ${path}: ${text}`, { cause: err });
}
