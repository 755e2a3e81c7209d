/**
 * This device's own objects on the store, as the index tracks them: sealed (events assigned,
 * not uploaded), uploaded (hash known), numbered and listed by a manifest, replaced by a pack.
 * Segment ids are assigned before any upload, so a crash and a re-push upload the same ids;
 * numbers are assigned to uploaded segments, in order, before the manifest that lists them is
 * written, and never reused.
 *
 * @module
 */

import { uuidv7 } from "../_ids.ts";
import { utf8 } from "../_encoding.ts";
import type {
  ArtifactRecord,
  ManifestSegment,
  SegmentPayload,
  SessionRecord,
} from "../object/payloads.ts";
import type { Db } from "./db.ts";
import type { Vault } from "./vault.ts";

/** JSON field names and numbers of one event, roughly, in bytes. */
const EVENT_OVERHEAD = 160;
/** Ids per UPDATE … IN (…) statement. */
const ID_CHUNK = 500;

/** Bounds of {@linkcode sealPending}. */
export interface SealBounds {
  /** Events per segment at most. */
  maxEvents: number;
  /** Approximate plaintext bytes per segment at most. */
  maxBytes: number;
}

/** This device's events not sealed yet: the rows of the partial index `events_unsealed`. */
const UNSEALED = "e.origin = 0 AND e.segment_id IS NULL";
/** An event's approximate size in a segment payload. */
const EVENT_SIZE =
  `length(c.cmd) + coalesce(length(e.cwd), 0) + coalesce(length(e.host), 0) + ${EVENT_OVERHEAD}`;

/** An unsealed event's position in sealing order. */
interface Position {
  at: number;
  id: number;
}

/**
 * Assigns the events this device publishes and has not sealed yet (and its sessions, pins
 * and artifacts not yet published) to new segments, in one transaction, before anything is
 * uploaded. Events are sealed in (started_at, id) order, each segment a range of that order:
 * the index finds each range's end and one UPDATE assigns it, so no event is read into
 * JavaScript (unless a range holds more bytes than a segment may, rare with shell commands).
 *
 * @param vault This device's index.
 * @param bounds Segment bounds.
 * @returns The number of segments created.
 */
export function sealPending(vault: Vault, bounds: SealBounds): number {
  const db = vault.db;
  const node = vault.nodeId;
  return db.transaction(() => {
    const now = vault.now();
    let created = 0;
    let last: string | null = null;
    const open = () => {
      last = uuidv7(now);
      db.run("INSERT INTO segments (segment_id, created_at) VALUES (?, ?)", last, now);
      created++;
      return last;
    };
    for (;;) {
      const end = rangeEnd(db, bounds);
      if (end === undefined) break;
      db.run(
        `UPDATE events AS e INDEXED BY events_unsealed SET segment_id = ?
         WHERE ${UNSEALED} AND (e.started_at, e.id) <= (?, ?)`,
        open(),
        end.at,
        end.id,
      );
    }
    const others = db.get<{ n: number }>(
      `SELECT (SELECT count(*) FROM sessions WHERE node_id = ?1 AND segment_id IS NULL
                 AND started_at IS NOT NULL)
            + (SELECT count(*) FROM pins WHERE node_id = ?1 AND segment_id IS NULL)
            + (SELECT count(*) FROM artifacts WHERE node_id = ?1 AND segment_id IS NULL) AS n`,
      node,
    )!.n;
    if (others > 0 && last === null) open();
    if (last !== null) {
      db.run(
        `UPDATE sessions SET segment_id = ? WHERE segment_id IS NULL AND started_at IS NOT NULL
           AND (node_id = ? OR ref IN (SELECT session_ref FROM events WHERE segment_id = ?))`,
        last,
        node,
        last,
      );
      for (const table of ["pins", "artifacts"]) {
        db.run(
          `UPDATE ${table} SET segment_id = ? WHERE node_id = ? AND segment_id IS NULL`,
          last,
          node,
        );
      }
    }
    return created;
  });
}

/**
 * The last unsealed event of the next segment: the `maxEvents`-th in sealing order (or the
 * last there is), moved back while the range holds more than `maxBytes`; at least one event.
 */
function rangeEnd(db: Db, bounds: SealBounds): Position | undefined {
  const ordered = `FROM events AS e INDEXED BY events_unsealed WHERE ${UNSEALED}`;
  const end = db.get<Position>(
    `SELECT e.started_at AS at, e.id ${ordered} ORDER BY e.started_at, e.id LIMIT 1 OFFSET ?`,
    bounds.maxEvents - 1,
  ) ?? db.get<Position>(
    `SELECT e.started_at AS at, e.id ${ordered} ORDER BY e.started_at DESC, e.id DESC LIMIT 1`,
  );
  if (end === undefined) return undefined;
  const joined = `FROM events AS e INDEXED BY events_unsealed JOIN commands c ON c.id = e.cmd_id
    WHERE ${UNSEALED}`;
  const bytes = db.get<{ bytes: number }>(
    `SELECT sum(${EVENT_SIZE}) AS bytes ${joined} AND (e.started_at, e.id) <= (?, ?)`,
    end.at,
    end.id,
  )!.bytes;
  if (bytes <= bounds.maxBytes) return end;
  let total = 0;
  let previous: Position | undefined;
  const rows = db.prepareUncached(
    `SELECT e.started_at AS at, e.id, ${EVENT_SIZE} AS size ${joined}
     ORDER BY e.started_at, e.id LIMIT ?`,
  );
  for (const row of rows.iterate(bounds.maxEvents) as Iterable<Position & { size: number }>) {
    total += row.size;
    if (previous !== undefined && total > bounds.maxBytes) break;
    previous = { at: row.at, id: row.id };
  }
  return previous;
}

/** Events per query while a payload is built (SQLite holds one page's JSON at a time). */
const PAYLOAD_PAGE = 1000;
/** An event record's fields, in payload order (the page query selects them, and `id`). */
const EVENT_FIELDS = [
  "node_id",
  "session_id",
  "seq",
  "started_at",
  "ended_at",
  "duration_ms",
  "exit_code",
  "cwd",
  "cmd",
  "host",
];

/** A segment payload, serialised, and what it says about its events. */
export interface BuiltPayload {
  /** The payload JSON ({@linkcode SegmentPayload}), UTF-8. */
  json: Uint8Array;
  /** Nothing at all: no event, session, artifact or pin. */
  empty: boolean;
  events: number;
  /** The earliest and latest event start (0 and 0 without events). */
  start_ts: number;
  end_ts: number;
}

/**
 * The records an own segment holds, read back from the index and serialised: events in
 * the order they were inserted, a page at a time (the segment index keeps that order, so no
 * sort), each page written as JSON by SQLite, so that only the text is held, never the rows.
 *
 * @param db The index.
 * @param segmentId The segment.
 * @returns Its payload JSON ({@linkcode SegmentPayload}) and its events' range.
 */
export function segmentPayload(db: Db, segmentId: string): BuiltPayload {
  // No row objects for V8 to collect (a push of 100k events made 100k of them, and its heap
  // grew with them).
  const page = db.prepare(
    `SELECT json_group_array(json_object(${
      EVENT_FIELDS.map((f) => `'${f}', ${f}`).join(", ")
    }) ORDER BY id) AS json, count(*) AS n, min(started_at) AS lo, max(started_at) AS hi,
       max(id) AS last
     FROM (SELECT e.id, n.node_id, s.session_id, e.seq, e.started_at, e.ended_at, e.duration_ms,
             e.exit_code, e.cwd, c.cmd, e.host
           FROM events e INDEXED BY events_segment JOIN nodes n ON n.ref = e.node_ref
             JOIN sessions s ON s.ref = e.session_ref JOIN commands c ON c.id = e.cmd_id
           WHERE e.segment_id = ? AND e.origin = 0 AND e.id > ? ORDER BY e.id
           LIMIT ${PAYLOAD_PAGE})`,
  );
  const pages: string[] = [];
  let events = 0;
  let start_ts = Number.MAX_SAFE_INTEGER;
  let end_ts = 0;
  let after = -1;
  for (;;) {
    const got = page.get(segmentId, after) as unknown as PayloadPage;
    if (got.n === 0) break;
    start_ts = Math.min(start_ts, got.lo);
    end_ts = Math.max(end_ts, got.hi);
    after = got.last;
    events += got.n;
    pages.push(got.json.slice(1, -1));
  }
  const sessions = db.all<SessionRecord>(
    `SELECT session_id, node_id, started_at, host, shell FROM sessions
     WHERE segment_id = ? AND node_id IS NOT NULL ORDER BY started_at`,
    segmentId,
  );
  const artifacts = db.all<ArtifactRecord>(
    `SELECT artifact_id, node_id, session_id, sha256, blob_hash, name, size, created_at
     FROM artifacts WHERE segment_id = ? ORDER BY created_at`,
    segmentId,
  );
  const pins = db.all<{ session_id: string; node_id: string; pinned_at: number; pinned: number }>(
    `SELECT session_id, node_id, pinned_at, pinned FROM pins WHERE segment_id = ?
     ORDER BY pinned_at`,
    segmentId,
  ).map((p) => ({ ...p, pinned: p.pinned === 1 }));
  const rest = JSON.stringify(
    { sessions, artifacts, pins } satisfies Omit<SegmentPayload, "events">,
  );
  const json = utf8.encode(`{"events":[${pages.join(",")}],${rest.slice(1)}`);
  const empty = events + sessions.length + artifacts.length + pins.length === 0;
  return { json, empty, events, start_ts: events === 0 ? 0 : start_ts, end_ts };
}

/** What {@linkcode segmentPayload}'s page query returns: a page of events as JSON. */
interface PayloadPage {
  json: string;
  n: number;
  lo: number;
  hi: number;
  last: number;
}

/** An own segment (or pack) sealed and not uploaded yet. */
export interface PendingSegment {
  segment_id: string;
  created_at: number;
  /** Its first number: set for a pack (the numbers it replaces) and for a re-upload. */
  first_no: number | null;
}

/** Own segments and packs sealed and not uploaded yet, oldest first. */
export function pendingUploads(db: Db): PendingSegment[] {
  return db.all<PendingSegment>(
    `SELECT segment_id, created_at, first_no FROM segments WHERE sha256 IS NULL
     ORDER BY created_at, segment_id`,
  );
}

/**
 * Notes that an own object's records are being read to upload it: a tombstone applied
 * from now on marks it for rewriting again.
 */
export function markClean(db: Db, segmentId: string): void {
  db.run("UPDATE segments SET dirty = 0 WHERE segment_id = ?", segmentId);
}

/** Records that an own segment landed on the store. */
export function markUploaded(
  db: Db,
  segmentId: string,
  info: { sha256: string; bytes: number; events: number; start_ts: number; end_ts: number },
): void {
  db.run(
    `UPDATE segments SET sha256 = ?, bytes = ?, events = ?, start_ts = ?, end_ts = ?
     WHERE segment_id = ?`,
    info.sha256,
    info.bytes,
    info.events,
    info.start_ts,
    info.end_ts,
    segmentId,
  );
}

/** Forgets an own segment that ended up empty (all of it forgotten before upload). */
export function dropSegment(db: Db, segmentId: string): void {
  db.run("DELETE FROM segments WHERE segment_id = ?", segmentId);
}

/**
 * Gives uploaded segments that have no number yet the next numbers, in order, and returns
 * how many there were: what a manifest must list that none has.
 *
 * @param db The index.
 * @returns The number of segments newly numbered (0 when every uploaded one is numbered).
 */
export function numberUploaded(db: Db): number {
  return db.transaction(() => {
    const fresh = db.all<{ segment_id: string }>(
      `SELECT segment_id FROM segments WHERE sha256 IS NOT NULL AND first_no IS NULL
       ORDER BY created_at, segment_id`,
    );
    let next = Number(db.meta("segment_no") ?? "0");
    for (const { segment_id } of fresh) {
      next++;
      db.run(
        "UPDATE segments SET first_no = ?, last_no = ? WHERE segment_id = ?",
        next,
        next,
        segment_id,
      );
    }
    db.setMeta("segment_no", String(next));
    return fresh.length;
  });
}

/** How many own objects are numbered but not yet listed by a written manifest. */
export function unlistedSegments(db: Db): number {
  return db.get<{ n: number }>(
    `SELECT count(*) AS n FROM segments WHERE first_no IS NOT NULL AND sha256 IS NOT NULL
       AND listed = 0 AND replaced_at_seq IS NULL`,
  )!.n;
}

/** Own objects replaced by a pack that is uploaded: a manifest must list the pack instead. */
const REPLACED = `replaced_by IS NOT NULL AND EXISTS
  (SELECT 1 FROM segments p WHERE p.segment_id = segments.replaced_by AND p.sha256 IS NOT NULL)`;

/** What this device's manifest lists: its numbered objects not replaced by a pack. */
export function listedSegments(db: Db): ManifestSegment[] {
  return db.all<ManifestSegment>(
    `SELECT segment_id, sha256, bytes, events, first_no AS first, last_no AS last, start_ts,
       end_ts, created_at
     FROM segments WHERE first_no IS NOT NULL AND sha256 IS NOT NULL AND replaced_at_seq IS NULL
       AND NOT (${REPLACED})
     ORDER BY first_no`,
  );
}

/**
 * Records what the manifest just written (seq `seq`) lists: every uploaded numbered object
 * is listed, and the objects it no longer lists (replaced by an uploaded pack) are replaced
 * as of `seq`: they may be deleted once every device has seen that seq.
 */
export function markSegmentsListed(db: Db, seq: number): void {
  db.run(
    "UPDATE segments SET listed = 1 WHERE first_no IS NOT NULL AND sha256 IS NOT NULL AND listed = 0",
  );
  db.run(
    `UPDATE segments SET replaced_at_seq = ? WHERE replaced_at_seq IS NULL AND ${REPLACED}`,
    seq,
  );
}

/** How many of this device's events no written manifest lists yet. */
export function pendingEvents(db: Db): number {
  return db.get<{ n: number }>(
    `SELECT count(*) AS n FROM events WHERE origin = 0 AND (segment_id IS NULL OR segment_id IN
       (SELECT segment_id FROM segments WHERE listed = 0))`,
  )!.n;
}

/** Whether an own segment id is known here (sealed, uploaded or listed). */
export function isOwnSegment(db: Db, segmentId: string): boolean {
  return db.get("SELECT 1 FROM segments WHERE segment_id = ?", segmentId) !== undefined;
}

/**
 * Takes a listed object of this device's own node, found in its manifest on the store but
 * unknown to this index (the index was restored from an older backup), as its own: listed,
 * with its numbers, so that the next manifest lists it again and numbers go on after it.
 *
 * @param db The index.
 * @param s The object as the manifest lists it.
 */
export function adoptSegment(db: Db, s: ManifestSegment): void {
  db.transaction(() => {
    db.run(
      `INSERT INTO segments (segment_id, created_at, sha256, bytes, events, first_no, last_no,
         start_ts, end_ts, listed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT (segment_id) DO UPDATE SET sha256 = excluded.sha256, bytes = excluded.bytes,
         events = excluded.events, first_no = excluded.first_no, last_no = excluded.last_no,
         start_ts = excluded.start_ts, end_ts = excluded.end_ts, listed = 1`,
      s.segment_id,
      s.created_at,
      s.sha256,
      s.bytes,
      s.events,
      s.first,
      s.last,
      s.start_ts,
      s.end_ts,
    );
    if (Number(db.meta("segment_no") ?? "0") < s.last) db.setMeta("segment_no", String(s.last));
    if (s.last > s.first) {
      // A pack: the objects this index knows inside its numbers are replaced by it.
      const inside = db.all<{ segment_id: string }>(
        `SELECT segment_id FROM segments WHERE first_no >= ? AND last_no <= ? AND segment_id != ?`,
        s.first,
        s.last,
        s.segment_id,
      ).map((r) => r.segment_id);
      replaceBy(db, inside, s.segment_id);
    }
  });
}

/**
 * Moves the records of own objects to the pack that replaces them, and marks them replaced
 * by it: they stay listed until the pack is uploaded.
 *
 * @param db The index.
 * @param objects The objects replaced.
 * @param pack The pack's segment id.
 */
export function replaceBy(db: Db, objects: readonly string[], pack: string): void {
  for (let at = 0; at < objects.length; at += ID_CHUNK) {
    const chunk = objects.slice(at, at + ID_CHUNK);
    const marks = chunk.map(() => "?").join(",");
    for (const table of ["events", "sessions", "pins", "artifacts"]) {
      db.run(`UPDATE ${table} SET segment_id = ? WHERE segment_id IN (${marks})`, pack, ...chunk);
    }
    db.run(`UPDATE segments SET replaced_by = ? WHERE segment_id IN (${marks})`, pack, ...chunk);
  }
}

/**
 * Makes an own listed segment upload again (the store lost it): it keeps its id and
 * numbers; the next push seals it afresh and lists the new object's hash.
 *
 * @param db The index.
 * @param segmentId The segment.
 */
export function markForUpload(db: Db, segmentId: string): void {
  db.run("UPDATE segments SET sha256 = NULL WHERE segment_id = ?", segmentId);
}
