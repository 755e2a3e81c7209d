/**
 * Run records: every push and pull with its counts by outcome, request counts and last
 * error, for `hx sync status`.
 *
 * @module
 */

import { categoryOf, type ErrorCategory, messageOf } from "../errors.ts";
import type { MeterDelta } from "../store/metered.ts";
import type { Db } from "./db.ts";

/** Kinds of recorded run. */
export type RunKind = "push" | "pull" | "compact";

/** One recorded run. */
export interface RunRecord {
  /** The run's row id. */
  id: number;
  /** Push or pull. */
  kind: RunKind;
  /** When it started (ms). */
  started_at: number;
  /** When it ended (ms), or `null` while it runs. */
  ended_at: number | null;
  /** Whether it completed; `null` while it runs. */
  ok: boolean | null;
  /** Its counts by outcome. */
  counts: Record<string, unknown>;
  /** Store requests it made. */
  requests: MeterDelta["requests"] | null;
  /** Category of its failure, or of the last object that failed. */
  error_category: ErrorCategory | null;
  /** That failure, in one line. */
  error_message: string | null;
  /** Advice the failure carried, naming no command, if any. */
  error_hint: string | null;
  /** The precise situation of the failure, if it named one (see `HxErrorCode`). */
  error_code: string | null;
}

const KEEP = 500;

/** Starts a run record. */
export function startRun(db: Db, kind: RunKind, now: number): number {
  db.run("INSERT INTO runs (kind, started_at) VALUES (?, ?)", kind, now);
  const id = db.get<{ id: number }>("SELECT last_insert_rowid() AS id")!.id;
  db.run("DELETE FROM runs WHERE kind = ? AND id <= ?", kind, id - KEEP);
  return id;
}

/** What a finished run reports. */
export interface RunOutcome {
  counts: object;
  requests: MeterDelta["requests"];
  /** The failure that ended the run, or the last per-object failure of a successful one. */
  error?: unknown;
  /** Whether the run completed. */
  ok: boolean;
}

/** Finishes a run record. */
export function finishRun(db: Db, id: number, outcome: RunOutcome, now: number): void {
  const err = outcome.error;
  const message = err === undefined ? null : messageOf(err);
  const given = err as { hint?: unknown; code?: unknown } | undefined;
  const hint = typeof given?.hint === "string" ? given.hint : null;
  const code = typeof given?.code === "string" ? given.code : null;
  db.run(
    `UPDATE runs SET ended_at = ?, ok = ?, counts = ?, requests = ?, error_category = ?,
       error_message = ? WHERE id = ?`,
    now,
    outcome.ok ? 1 : 0,
    JSON.stringify(outcome.counts),
    JSON.stringify(outcome.requests),
    err === undefined ? null : categoryOf(err),
    message === null ? null : JSON.stringify({ message, hint, code }),
    id,
  );
}

interface RawRun {
  id: number;
  kind: RunKind;
  started_at: number;
  ended_at: number | null;
  ok: number | null;
  counts: string;
  requests: string | null;
  error_category: ErrorCategory | null;
  error_message: string | null;
}

function decode(raw: RawRun): RunRecord {
  const error = raw.error_message === null ? null : JSON.parse(raw.error_message) as {
    message: string;
    hint: string | null;
    code?: string | null;
  };
  return {
    id: raw.id,
    kind: raw.kind,
    started_at: raw.started_at,
    ended_at: raw.ended_at,
    ok: raw.ok === null ? null : raw.ok === 1,
    counts: JSON.parse(raw.counts),
    requests: raw.requests === null ? null : JSON.parse(raw.requests),
    error_category: raw.error_category,
    error_message: error?.message ?? null,
    error_hint: error?.hint ?? null,
    error_code: error?.code ?? null,
  };
}

/** The latest run of a kind, or `null`. */
export function lastRun(db: Db, kind: RunKind): RunRecord | null {
  const raw = db.get<RawRun>("SELECT * FROM runs WHERE kind = ? ORDER BY id DESC LIMIT 1", kind);
  return raw === undefined ? null : decode(raw);
}

/** The latest successful run of a kind, or `null`. */
export function lastSuccessfulRun(db: Db, kind: RunKind): RunRecord | null {
  const raw = db.get<RawRun>(
    "SELECT * FROM runs WHERE kind = ? AND ok = 1 ORDER BY id DESC LIMIT 1",
    kind,
  );
  return raw === undefined ? null : decode(raw);
}

/** The latest run that failed or recorded an error, or `null`. */
export function lastError(db: Db): RunRecord | null {
  const raw = db.get<RawRun>(
    "SELECT * FROM runs WHERE error_category IS NOT NULL ORDER BY id DESC LIMIT 1",
  );
  return raw === undefined ? null : decode(raw);
}
