/**
 * What this device knows of every node of the vault (itself included), from their
 * manifests: the highest seq accepted, the highest seq any manifest claims to have seen (the
 * floor below which a manifest is a rollback), what each node currently publishes (its
 * declared objects) and what of that has been imported here, by segment numbers.
 *
 * One rule per table: a node's seq and claims only grow; a node's declared objects are
 * replaced whole by each manifest accepted from it; imported ranges of a node stay disjoint.
 *
 * @module
 */

import type { ManifestPayload, ManifestSegment } from "../object/payloads.ts";
import type { Db } from "./db.ts";

/** A node as its manifests showed it. */
export interface Peer {
  node_id: string;
  /** The highest seq accepted from its manifests (0: none yet). */
  seq: number;
  /** The highest seq any manifest says it has seen of this node. */
  claimed: number;
  /** The etag of its latest manifest accepted, for conditional reads. */
  etag: string | null;
  /** When its latest manifest was written (ms), if one was accepted. */
  created_at: number | null;
  /** Its host, as it reported it. */
  host: string | null;
  /** Objects its latest manifest lists. */
  segments: number;
  /** What it has seen of every node, as its latest manifest says. */
  seen: Record<string, number>;
}

interface PeerRow extends Omit<Peer, "seen"> {
  seen: string;
}

function decode(row: PeerRow): Peer {
  return { ...row, seen: JSON.parse(row.seen) as Record<string, number> };
}

/** A node, or `undefined` if nothing is known of it. */
export function getPeer(db: Db, node: string): Peer | undefined {
  const row = db.get<PeerRow>(
    "SELECT node_id, seq, claimed, etag, created_at, host, segments, seen FROM peers WHERE node_id = ?",
    node,
  );
  return row === undefined ? undefined : decode(row);
}

/** Every node known, latest manifest first. */
export function listPeers(db: Db): Peer[] {
  return db.all<PeerRow>(
    `SELECT node_id, seq, claimed, etag, created_at, host, segments, seen FROM peers
     ORDER BY created_at DESC NULLS LAST, node_id`,
  ).map(decode);
}

/** The lowest seq a manifest of `node` may have without being a rollback. */
export function floorOf(db: Db, node: string): number {
  const p = getPeer(db, node);
  return p === undefined ? 0 : Math.max(p.seq, p.claimed);
}

/**
 * Records an accepted manifest: the node's seq (only growing), etag and details, its
 * declared objects (replacing the previous ones), and the claims of its `seen` list.
 *
 * @param db The index.
 * @param m The manifest.
 * @param etag Its etag on the store, if known.
 * @param now The time (ms).
 * @returns How many objects the node declared before and this manifest no longer lists
 *   (replaced by a pack: the node waits for every device to say it has seen this); for a
 *   node read for the first time, how many packs it lists (they may replace objects that
 *   wait for the same).
 */
export function recordManifest(
  db: Db,
  m: ManifestPayload,
  etag: string | null,
  now: number,
): number {
  return db.transaction(() => {
    const listed = new Set(m.segments.map((s) => s.segment_id));
    const before = db.all<{ segment_id: string }>(
      "SELECT segment_id FROM declared WHERE node_id = ?",
      m.node_id,
    );
    // Read for the first time: its packs may replace objects still waiting for deletion.
    const dropped = before.length === 0
      ? m.segments.filter((s) => s.last > s.first).length
      : before.filter((d) => !listed.has(d.segment_id)).length;
    db.run(
      `INSERT INTO peers (node_id, seq, etag, created_at, host, segments, seen, fetched_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET seq = max(peers.seq, excluded.seq),
         etag = excluded.etag, created_at = excluded.created_at, host = excluded.host,
         segments = excluded.segments, seen = excluded.seen, fetched_at = excluded.fetched_at`,
      m.node_id,
      m.manifest_seq,
      etag,
      m.created_at,
      m.host,
      m.segments.length,
      JSON.stringify(m.seen),
      now,
    );
    db.run("DELETE FROM declared WHERE node_id = ?", m.node_id);
    const insert = db.prepare(
      `INSERT OR IGNORE INTO declared (node_id, segment_id, sha256, bytes, events, first_no,
         last_no, start_ts, end_ts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const s of m.segments) {
      insert.run(
        m.node_id,
        s.segment_id,
        s.sha256,
        s.bytes,
        s.events,
        s.first,
        s.last,
        s.start_ts,
        s.end_ts,
        s.created_at,
      );
    }
    recordClaims(db, m.seen);
    return dropped;
  });
}

/** Raises the claims of the nodes a manifest says it has seen. */
export function recordClaims(db: Db, seen: Record<string, number>): void {
  const upsert = db.prepare(
    `INSERT INTO peers (node_id, claimed) VALUES (?, ?)
     ON CONFLICT (node_id) DO UPDATE SET claimed = max(peers.claimed, excluded.claimed)`,
  );
  for (const [node, seq] of Object.entries(seen)) upsert.run(node, seq);
}

/** Forgets the etag of a node's manifest, so the next pull reads it whatever it is. */
export function forgetEtag(db: Db, node: string): void {
  db.run("UPDATE peers SET etag = NULL WHERE node_id = ?", node);
}

/** What every known node has seen of every other, for this device's manifest: `{node: seq}`. */
export function seenMap(db: Db): Record<string, number> {
  const out: Record<string, number> = {};
  for (
    const { node_id, seq } of db.all<{ node_id: string; seq: number }>(
      "SELECT node_id, seq FROM peers WHERE seq > 0",
    )
  ) {
    out[node_id] = seq;
  }
  return out;
}

/** A declared object of a node. */
export interface DeclaredSegment extends ManifestSegment {
  node_id: string;
}

/**
 * Since when this device fetches history (ms), or `null` for all of it: a device that joined
 * with `--since` leaves older objects on the store until `hx sync pull --all`.
 */
export function pullSince(db: Db): number | null {
  const v = db.meta("pull_since");
  return v === undefined ? null : Number(v);
}

/** Sets (or, with `null`, clears) since when this device fetches history. */
export function setPullSince(db: Db, since: number | null): void {
  if (since === null) db.run("DELETE FROM meta WHERE key = 'pull_since'");
  else db.setMeta("pull_since", String(since));
}

/**
 * Whether a declared object is one this device fetches: any, unless it holds only events
 * older than {@linkcode pullSince} (an object without events, sessions or pins only, always).
 */
const WANTED = "(?1 IS NULL OR d.events = 0 OR d.end_ts >= ?1)";

/** Declared objects not here that this device leaves on the store (`--since`): count and events. */
export function notLocal(db: Db): { objects: number; events: number } {
  const since = pullSince(db);
  if (since === null) return { objects: 0, events: 0 };
  return db.get<{ objects: number; events: number }>(
    `SELECT count(*) AS objects, coalesce(sum(d.events), 0) AS events FROM declared d
     WHERE NOT ${WANTED} AND NOT EXISTS
       (SELECT 1 FROM imported i WHERE i.node_id = d.node_id AND i.segment_id = d.segment_id)`,
    since,
  )!;
}

/**
 * Declared objects not imported here yet, that this device fetches (see
 * {@linkcode pullSince}). `covered` says whether the segment numbers of the object are all
 * here already (a pack of segments this device imported one by one): it is then recorded,
 * not fetched.
 *
 * @param db The index.
 * @returns The objects, oldest first.
 */
export function declaredMissing(db: Db): (DeclaredSegment & { covered: boolean })[] {
  return db.all<DeclaredSegment & { have: number }>(
    `SELECT d.node_id, d.segment_id, d.sha256, d.bytes, d.events, d.first_no AS first,
       d.last_no AS last, d.start_ts, d.end_ts, d.created_at,
       (SELECT coalesce(sum(i.last_no - i.first_no + 1), 0) FROM imported i
        WHERE i.node_id = d.node_id AND i.first_no >= d.first_no AND i.last_no <= d.last_no) AS have
     FROM declared d
     WHERE ${WANTED} AND NOT EXISTS
       (SELECT 1 FROM imported i WHERE i.node_id = d.node_id AND i.segment_id = d.segment_id)
     ORDER BY d.created_at, d.segment_id`,
    pullSince(db),
  ).map(({ have, ...d }) => ({ ...d, covered: have >= d.last - d.first + 1 }));
}

/** Whether any manifest accepted here still declares the object. */
export function isDeclared(db: Db, node: string, segmentId: string): boolean {
  return db.get("SELECT 1 FROM declared WHERE node_id = ? AND segment_id = ?", node, segmentId) !==
    undefined;
}

/**
 * Records that an object of a node is here: its numbers replace any imported ranges inside
 * them (a pack replaces the segments it packed), keeping a node's ranges disjoint.
 *
 * @param db The index.
 * @param node The node.
 * @param s The object's id and numbers.
 * @param now The time (ms).
 */
export function markImported(
  db: Db,
  node: string,
  s: { segment_id: string; first: number; last: number },
  now: number,
): void {
  db.transaction(() => {
    // Numbers start at 1; a repair scan, which knows none, records 0 and replaces nothing.
    if (s.first >= 1) {
      db.run(
        "DELETE FROM imported WHERE node_id = ? AND first_no >= ? AND last_no <= ?",
        node,
        s.first,
        s.last,
      );
    }
    db.run(
      `INSERT OR REPLACE INTO imported (node_id, segment_id, first_no, last_no, imported_at)
       VALUES (?, ?, ?, ?, ?)`,
      node,
      s.segment_id,
      s.first,
      s.last,
      now,
    );
  });
}

/** Whether an object of a node has been imported here. */
export function isImported(db: Db, node: string, segmentId: string): boolean {
  return db.get("SELECT 1 FROM imported WHERE node_id = ? AND segment_id = ?", node, segmentId) !==
    undefined;
}
