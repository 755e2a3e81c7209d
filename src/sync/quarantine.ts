/**
 * Objects that failed to import: kept with their category and message, shown by
 * `hx sync status`, and retried on every later pull until they import.
 *
 * @module
 */

import { categoryOf, type ErrorCategory, IntegrityError, messageOf } from "../errors.ts";
import type { Db } from "../vault/db.ts";

/** What kind of object failed. */
export type QuarantineKind = "manifest" | "segment" | "tombstone" | "blob";

/** One quarantined object. */
export interface QuarantineEntry {
  /** The object's key on the store. */
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
  /** The SHA-256 its manifest declared, for the retry. */
  expected_sha256: string | null;
}

/** What identifies a quarantined object and lets a later pull retry it. */
export interface QuarantineTarget {
  key: string;
  kind: QuarantineKind;
  node_id?: string;
  object_id?: string;
  expected_sha256?: string;
}

/**
 * Records (or updates) a failed object.
 *
 * @param db The index.
 * @param target The object.
 * @param error Why it failed.
 * @param now The time (ms).
 */
export function quarantine(db: Db, target: QuarantineTarget, error: unknown, now: number): void {
  const reason = error instanceof IntegrityError ? error.reason : null;
  db.run(
    `INSERT INTO quarantine (key, kind, node_id, object_id, category, reason, message,
       first_seen, last_attempt, attempts, expected_sha256)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
     ON CONFLICT (key) DO UPDATE SET category = excluded.category, reason = excluded.reason,
       message = excluded.message, last_attempt = excluded.last_attempt,
       attempts = quarantine.attempts + 1,
       expected_sha256 = coalesce(excluded.expected_sha256, quarantine.expected_sha256)`,
    target.key,
    target.kind,
    target.node_id ?? null,
    target.object_id ?? null,
    categoryOf(error),
    reason,
    messageOf(error),
    now,
    now,
    target.expected_sha256 ?? null,
  );
}

/** Forgets a quarantined object once it imported. */
export function release(db: Db, key: string): void {
  db.run("DELETE FROM quarantine WHERE key = ?", key);
}

/** Every quarantined object, oldest first. */
export function listQuarantine(db: Db, kind?: QuarantineKind): QuarantineEntry[] {
  return kind === undefined
    ? db.all<QuarantineEntry>("SELECT * FROM quarantine ORDER BY first_seen, key")
    : db.all<QuarantineEntry>(
      "SELECT * FROM quarantine WHERE kind = ? ORDER BY first_seen, key",
      kind,
    );
}
