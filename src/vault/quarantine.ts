/**
 * Objects that failed to import: kept with their category and message, retried with
 * exponential backoff (a minute, doubling, at most a day), and released when they import or
 * when no manifest declares them any more.
 *
 * @module
 */

import { categoryOf, type ErrorCategory, IntegrityError, messageOf } from "../errors.ts";
import type { Db } from "./db.ts";

/** What kind of object failed. */
export type QuarantineKind = "manifest" | "segment" | "tombstone" | "blob";

/** One quarantined object. */
export interface QuarantineEntry {
  /** The object's key on the store (`tombstone:<id>` for a tombstone carried in a manifest). */
  key: string;
  /** What kind of object it is. */
  kind: QuarantineKind;
  /** The node whose manifest declared it, if known. */
  node_id: string | null;
  /** Its segment or tombstone id, if any. */
  object_id: string | null;
  /** Why it failed, by category. */
  category: ErrorCategory;
  /** The precise reason of an integrity failure (`decrypt_failed`, `wrong_vault`, …). */
  reason: string | null;
  /** The failure, in one line. */
  message: string;
  /** When it first failed (ms). */
  first_seen: number;
  /** When it last failed (ms). */
  last_attempt: number;
  /** How many times it failed. */
  attempts: number;
  /** When it is tried again at the earliest (ms). */
  next_attempt_at: number;
}

/** What identifies a quarantined object. */
export interface QuarantineTarget {
  key: string;
  kind: QuarantineKind;
  node_id?: string;
  object_id?: string;
  /** For a manifest: the etag that failed (a new etag is tried at once). */
  etag?: string;
}

const BACKOFF_BASE_MS = 60_000;
const BACKOFF_CAP_MS = 86_400_000;

/** The wait before trying again after `attempts` failures. */
export function backoff(attempts: number): number {
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(20, Math.max(0, attempts - 1)));
}

/**
 * Records (or updates) a failed object, and when to try it again.
 *
 * @param db The index.
 * @param target The object.
 * @param error Why it failed.
 * @param now The time (ms).
 */
export function quarantine(db: Db, target: QuarantineTarget, error: unknown, now: number): void {
  const reason = error instanceof IntegrityError ? error.reason : null;
  const previous = db.get<{ attempts: number }>(
    "SELECT attempts FROM quarantine WHERE key = ?",
    target.key,
  );
  const attempts = (previous?.attempts ?? 0) + 1;
  db.run(
    `INSERT INTO quarantine (key, kind, node_id, object_id, category, reason, message,
       first_seen, last_attempt, attempts, next_attempt_at, etag)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET category = excluded.category, reason = excluded.reason,
       message = excluded.message, last_attempt = excluded.last_attempt,
       attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
       etag = excluded.etag`,
    target.key,
    target.kind,
    target.node_id ?? null,
    target.object_id ?? null,
    categoryOf(error),
    reason,
    messageOf(error).slice(0, 1000),
    now,
    now,
    attempts,
    now + backoff(attempts),
    target.etag ?? null,
  );
}

/** Forgets a quarantined object (it imported, or nothing declares it any more). */
export function release(db: Db, key: string): void {
  db.run("DELETE FROM quarantine WHERE key = ?", key);
}

/**
 * Where an object stands with the quarantine: not in it, in it and due for another attempt,
 * or in it and waiting for its backoff. A manifest whose etag changed since it failed is
 * due at once.
 *
 * @param db The index.
 * @param key The object's key.
 * @param now The time (ms).
 * @param etag For a manifest: its etag now.
 * @returns The state.
 */
export function quarantineState(
  db: Db,
  key: string,
  now: number,
  etag?: string,
): "none" | "due" | "waiting" {
  const row = db.get<{ next_attempt_at: number; etag: string | null }>(
    "SELECT next_attempt_at, etag FROM quarantine WHERE key = ?",
    key,
  );
  if (row === undefined) return "none";
  if (etag !== undefined && row.etag !== etag) return "due";
  return row.next_attempt_at > now ? "waiting" : "due";
}

/** How many objects are quarantined. */
export function quarantineCount(db: Db): number {
  return db.get<{ n: number }>("SELECT count(*) AS n FROM quarantine")!.n;
}

/**
 * Releases segments no manifest declares any more, and manifests whose key is not listed
 * any more.
 *
 * @param db The index.
 * @param listedManifests Keys of the manifests the store lists now.
 * @returns How many entries were released.
 */
export function releaseUndeclared(db: Db, listedManifests: ReadonlySet<string>): number {
  let released = db.run(
    `DELETE FROM quarantine WHERE kind = 'segment' AND NOT EXISTS
       (SELECT 1 FROM declared d WHERE d.node_id = quarantine.node_id AND d.segment_id = quarantine.object_id)`,
  );
  for (
    const { key } of db.all<{ key: string }>("SELECT key FROM quarantine WHERE kind = 'manifest'")
  ) {
    if (!listedManifests.has(key)) released += db.run("DELETE FROM quarantine WHERE key = ?", key);
  }
  return released;
}

/** Every quarantined object, oldest first (at most `limit`). */
export function listQuarantine(
  db: Db,
  opts: { kind?: QuarantineKind; limit?: number } = {},
): QuarantineEntry[] {
  const limit = opts.limit === undefined ? "" : ` LIMIT ${Math.max(0, Math.floor(opts.limit))}`;
  const columns =
    "key, kind, node_id, object_id, category, reason, message, first_seen, last_attempt, attempts, next_attempt_at";
  return opts.kind === undefined
    ? db.all<QuarantineEntry>(`SELECT ${columns} FROM quarantine ORDER BY first_seen, key${limit}`)
    : db.all<QuarantineEntry>(
      `SELECT ${columns} FROM quarantine WHERE kind = ? ORDER BY first_seen, key${limit}`,
      opts.kind,
    );
}

/** Quarantine in a few lines: how many, by category, and the first entries. */
export interface QuarantineSummary {
  /** Entries in all. */
  total: number;
  /** Entries by category. */
  by_category: Partial<Record<ErrorCategory, number>>;
  /** The oldest entries (at most the number asked for). */
  first: QuarantineEntry[];
}

/** Summarises the quarantine without reading all of it. */
export function summarizeQuarantine(db: Db, first = 5): QuarantineSummary {
  const by_category: Partial<Record<ErrorCategory, number>> = {};
  let total = 0;
  for (
    const { category, n } of db.all<{ category: ErrorCategory; n: number }>(
      "SELECT category, count(*) AS n FROM quarantine GROUP BY category",
    )
  ) {
    by_category[category] = n;
    total += n;
  }
  return { total, by_category, first: listQuarantine(db, { limit: first }) };
}

/** Makes every quarantined object due now (`hx sync quarantine retry`). */
export function retryQuarantineNow(db: Db, now: number): number {
  return db.run("UPDATE quarantine SET next_attempt_at = ?, etag = NULL", now);
}

/** Empties the quarantine (`hx sync quarantine clear`): every object is tried afresh. */
export function clearQuarantine(db: Db): number {
  return db.run("DELETE FROM quarantine");
}
