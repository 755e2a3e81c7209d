/**
 * Versioned schema migrations of the local index. `PRAGMA user_version` records how many
 * have been applied; each runs once, in order, inside a transaction.
 *
 * @module
 */

/** One schema step. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Every migration, in order. Never edit one that has shipped: add another. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "history, sessions, pins, artifacts, blobs and sync state",
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      -- Node ids, interned: events refer to them by ref. This device is always ref 1.
      CREATE TABLE nodes (
        ref INTEGER PRIMARY KEY,
        node_id TEXT NOT NULL UNIQUE
      ) STRICT;

      -- Sessions, interned the same way. A row exists as soon as an event names the
      -- session; its details (node, start, host, shell) arrive with its session record.
      -- segment_id: for this device's sessions, the segment that published the record.
      CREATE TABLE sessions (
        ref INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL UNIQUE,
        node_id TEXT,
        started_at INTEGER,
        host TEXT,
        shell TEXT,
        segment_id TEXT
      ) STRICT;

      -- Every command known here: recorded on this device or imported from others. Its
      -- identity is (node, session, seq). segment_id is set only for this device's events
      -- (NULL until sealed into a segment) and for its own events restored from the store;
      -- events of other devices leave it NULL, so the partial indexes below stay small.
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        node_ref INTEGER NOT NULL,
        session_ref INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        duration_ms INTEGER,
        exit_code INTEGER,
        cwd TEXT,
        cmd TEXT NOT NULL,
        host TEXT,
        segment_id TEXT,
        UNIQUE (node_ref, session_ref, seq)
      ) STRICT;
      CREATE INDEX events_started ON events (started_at);
      CREATE INDEX events_unsealed ON events (id) WHERE node_ref = 1 AND segment_id IS NULL;
      CREATE INDEX events_segment ON events (segment_id) WHERE segment_id IS NOT NULL;

      -- Substring search: trigrams of every command, without positions (detail=none keeps
      -- the index small; matches are verified against the command itself). Rows are added
      -- in bulk after each batch of inserts; deletions go through the trigger.
      CREATE VIRTUAL TABLE events_fts USING fts5 (
        cmd, content = 'events', content_rowid = 'id', tokenize = 'trigram', detail = 'none',
        columnsize = 0
      );
      CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
        INSERT INTO events_fts (events_fts, rowid, cmd) VALUES ('delete', old.id, old.cmd);
      END;

      CREATE TABLE pins (
        session_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        pinned_at INTEGER NOT NULL,
        segment_id TEXT,
        PRIMARY KEY (session_id, node_id)
      ) STRICT;

      -- blob_hash (the blob's id on the store) is assigned by the first push: it is keyed by
      -- the vault key, which a device may not have when it attaches a file.
      CREATE TABLE artifacts (
        artifact_id TEXT PRIMARY KEY,
        node_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        blob_hash TEXT,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        segment_id TEXT
      ) STRICT;
      CREATE INDEX artifacts_session ON artifacts (session_id);
      CREATE INDEX artifacts_sha ON artifacts (sha256);

      -- Blob contents in the local cache ($HX_HOME/blobs/<sha256>): this node's attachments
      -- (uploaded once pushed) and blobs fetched from the store.
      CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        uploaded INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      -- This node's segments: sealed (sha256 NULL), uploaded (sha256 set), published
      -- (listed by a manifest that was written).
      CREATE TABLE segments (
        segment_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        sha256 TEXT,
        bytes INTEGER,
        events INTEGER NOT NULL DEFAULT 0,
        published INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      -- Every tombstone applied here; this node's own also carry upload state (sha256)
      -- and whether a written manifest lists them.
      CREATE TABLE tombstones (
        tombstone_id TEXT PRIMARY KEY,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        start_ts INTEGER NOT NULL,
        end_ts INTEGER NOT NULL,
        node_id TEXT,
        sha256 TEXT,
        published INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      -- Segments of any node imported here, as their manifest declared them.
      CREATE TABLE imported_segments (
        segment_id TEXT PRIMARY KEY,
        node_id TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        events INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        imported_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX imported_segments_node ON imported_segments (node_id);

      CREATE TABLE manifests_seen (
        node_id TEXT PRIMARY KEY,
        manifest_seq INTEGER NOT NULL,
        etag TEXT,
        created_at INTEGER NOT NULL,
        host TEXT,
        segments INTEGER NOT NULL,
        tombstones INTEGER NOT NULL,
        fetched_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE quarantine (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        node_id TEXT,
        object_id TEXT,
        category TEXT NOT NULL,
        reason TEXT,
        message TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_attempt INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        expected_sha256 TEXT
      ) STRICT;

      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        ok INTEGER,
        counts TEXT NOT NULL DEFAULT '{}',
        requests TEXT,
        error_category TEXT,
        error_message TEXT
      ) STRICT;
      CREATE INDEX runs_kind ON runs (kind, id);
    `,
  },
  {
    version: 2,
    description:
      "format 2: distinct commands indexed once, events that say who publishes them, numbered own segments, peers, declared and imported objects, quarantine backoff, deferred tombstones",
    sql: `
      -- Sync state of format 1 cannot be read by format 2: this device's history is published
      -- again (in a new vault), what came from others stays here.
      DROP TABLE manifests_seen;
      DROP TABLE imported_segments;
      DROP TABLE quarantine;
      DROP TABLE segments;

      -- Every distinct command text once; events refer to it. last_at and runs describe its
      -- live events, so search can list distinct commands newest first without a scan.
      CREATE TABLE commands (
        id INTEGER PRIMARY KEY,
        cmd TEXT NOT NULL UNIQUE,
        last_at INTEGER NOT NULL,
        runs INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX commands_recent ON commands (last_at);
      CREATE VIRTUAL TABLE commands_fts USING fts5 (
        cmd, content = 'commands', content_rowid = 'id', tokenize = 'trigram', detail = 'none',
        columnsize = 0
      );
      -- Deleting from the index removes the entries themselves, not only their visibility:
      -- a forgotten command leaves no trigram behind.
      INSERT INTO commands_fts (commands_fts, rank) VALUES ('secure-delete', 1);
      CREATE TRIGGER commands_fts_delete AFTER DELETE ON commands BEGIN
        INSERT INTO commands_fts (commands_fts, rowid, cmd) VALUES ('delete', old.id, old.cmd);
      END;
      INSERT INTO commands (cmd, last_at, runs)
        SELECT cmd, max(started_at), count(*) FROM events GROUP BY cmd;
      INSERT INTO commands_fts (rowid, cmd) SELECT id, cmd FROM commands;

      -- origin 0: this device publishes the event (its own, or history it imported) and
      -- segment_id is the own object holding it (NULL until sealed); 1: another device does.
      CREATE TABLE events_v2 (
        id INTEGER PRIMARY KEY,
        node_ref INTEGER NOT NULL,
        session_ref INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        duration_ms INTEGER,
        exit_code INTEGER,
        cwd TEXT,
        cmd_id INTEGER NOT NULL,
        host TEXT,
        origin INTEGER NOT NULL,
        segment_id TEXT,
        UNIQUE (node_ref, session_ref, seq)
      ) STRICT;
      INSERT INTO events_v2 (id, node_ref, session_ref, seq, started_at, ended_at, duration_ms,
          exit_code, cwd, cmd_id, host, origin, segment_id)
        SELECT e.id, e.node_ref, e.session_ref, e.seq, e.started_at, e.ended_at, e.duration_ms,
          e.exit_code, e.cwd, c.id, e.host, CASE WHEN e.node_ref = 1 THEN 0 ELSE 1 END, NULL
        FROM events e JOIN commands c ON c.cmd = e.cmd;
      DROP TRIGGER events_fts_delete;
      DROP TABLE events_fts;
      DROP TABLE events;
      ALTER TABLE events_v2 RENAME TO events;
      CREATE INDEX events_started ON events (started_at);
      CREATE INDEX events_cmd ON events (cmd_id);
      CREATE INDEX events_unsealed ON events (id) WHERE origin = 0 AND segment_id IS NULL;
      CREATE INDEX events_segment ON events (segment_id) WHERE segment_id IS NOT NULL;

      UPDATE sessions SET segment_id = NULL;
      UPDATE pins SET segment_id = NULL;
      UPDATE artifacts SET segment_id = NULL, blob_hash = NULL;
      UPDATE blobs SET uploaded = 0;

      -- This device's objects: sealed (sha256 NULL), uploaded, numbered and listed by a
      -- manifest, or replaced by a pack (and then deleted once every device has seen that).
      CREATE TABLE segments (
        segment_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        sha256 TEXT,
        bytes INTEGER,
        events INTEGER NOT NULL DEFAULT 0,
        first_no INTEGER,
        last_no INTEGER,
        start_ts INTEGER NOT NULL DEFAULT 0,
        end_ts INTEGER NOT NULL DEFAULT 0,
        listed INTEGER NOT NULL DEFAULT 0,
        replaced_at_seq INTEGER,
        deleted INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      -- Tombstones: applied here (and carried in this device's manifest once published), or
      -- deferred because their window ends ahead of this device's clock.
      CREATE TABLE tombstones_v2 (
        tombstone_id TEXT PRIMARY KEY,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        start_ts INTEGER NOT NULL,
        end_ts INTEGER NOT NULL,
        node_id TEXT,
        cmd_sha256 TEXT,
        deferred INTEGER NOT NULL DEFAULT 0,
        published INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      INSERT INTO tombstones_v2 (tombstone_id, created_by, created_at, start_ts, end_ts, node_id)
        SELECT tombstone_id, created_by, created_at, start_ts, end_ts, node_id FROM tombstones;
      DROP TABLE tombstones;
      ALTER TABLE tombstones_v2 RENAME TO tombstones;
      CREATE INDEX tombstones_start ON tombstones (start_ts) WHERE deferred = 0;

      -- Every other device, as its manifests showed it: the highest seq accepted from it, the
      -- highest any manifest claims to have seen, and its latest manifest's etag and details.
      CREATE TABLE peers (
        node_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL DEFAULT 0,
        claimed INTEGER NOT NULL DEFAULT 0,
        etag TEXT,
        created_at INTEGER,
        host TEXT,
        segments INTEGER NOT NULL DEFAULT 0,
        seen TEXT NOT NULL DEFAULT '{}',
        fetched_at INTEGER
      ) STRICT;

      -- What each node's latest accepted manifest lists: what should be here.
      CREATE TABLE declared (
        node_id TEXT NOT NULL,
        segment_id TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        events INTEGER NOT NULL,
        first_no INTEGER NOT NULL,
        last_no INTEGER NOT NULL,
        start_ts INTEGER NOT NULL,
        end_ts INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (node_id, segment_id)
      ) STRICT;

      -- What has been imported here, by segment numbers: disjoint ranges per node.
      CREATE TABLE imported (
        node_id TEXT NOT NULL,
        segment_id TEXT NOT NULL,
        first_no INTEGER NOT NULL,
        last_no INTEGER NOT NULL,
        imported_at INTEGER NOT NULL,
        PRIMARY KEY (node_id, segment_id)
      ) STRICT;
      CREATE INDEX imported_range ON imported (node_id, first_no);

      CREATE TABLE quarantine (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        node_id TEXT,
        object_id TEXT,
        category TEXT NOT NULL,
        reason TEXT,
        message TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_attempt INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        etag TEXT
      ) STRICT;
      CREATE INDEX quarantine_due ON quarantine (next_attempt_at);

      DELETE FROM meta WHERE key IN ('manifest_seq');
    `,
  },
  {
    version: 3,
    description: "indexes for interactive search: a command's latest run, a session's commands",
    sql: `
      DROP INDEX events_cmd;
      CREATE INDEX events_cmd ON events (cmd_id, started_at);
      CREATE INDEX events_session ON events (session_ref, started_at);
    `,
  },
  {
    version: 4,
    description: "unpinning: each device's latest pin or unpin of a session",
    sql: `
      -- 1: this device's latest action on the session was a pin (at pinned_at), 0: an unpin.
      ALTER TABLE pins ADD COLUMN pinned INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    version: 5,
    description:
      "compaction: packs that replace segments, objects a tombstone made stale, blobs to erase",
    sql: `
      -- The pack an own object is being replaced by (its records moved there); the object is
      -- listed until the pack is uploaded, and deleted once every device has seen a manifest
      -- without it (replaced_at_seq: the first such manifest of this device).
      ALTER TABLE segments ADD COLUMN replaced_by TEXT;
      -- 1: a tombstone removed records this object holds on the store: rewrite it.
      ALTER TABLE segments ADD COLUMN dirty INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX segments_listed ON segments (first_no) WHERE first_no IS NOT NULL;

      -- Blobs on the store that only forgotten artifacts referenced: deleted once every device
      -- has seen a manifest of this device written after they were forgotten (after_seq).
      CREATE TABLE erased_blobs (
        blob_hash TEXT PRIMARY KEY,
        forgotten_at INTEGER NOT NULL,
        after_seq INTEGER
      ) STRICT;
    `,
  },
  {
    version: 6,
    description: "sealing by ranges: this device's unsealed events in the order they are sealed",
    sql: `
      -- A push assigns unsealed events to segments in (started_at, id) order, a range per
      -- segment: the index gives each boundary and each range without reading other rows.
      DROP INDEX events_unsealed;
      CREATE INDEX events_unsealed ON events (started_at, id) WHERE origin = 0 AND segment_id IS NULL;
    `,
  },
  {
    version: 7,
    description: "command texts unique by an index of their own, which a bulk write can drop",
    sql: `
      -- The same table, its uniqueness now a named index instead of the column's constraint:
      -- a bulk write drops it and builds it once at its end by sorting (vault/bulk.ts). Ids are
      -- kept, so the trigram index (which names its content table) stays as it is.
      CREATE TABLE commands_v7 (
        id INTEGER PRIMARY KEY,
        cmd TEXT NOT NULL,
        last_at INTEGER NOT NULL,
        runs INTEGER NOT NULL
      ) STRICT;
      INSERT INTO commands_v7 (id, cmd, last_at, runs) SELECT id, cmd, last_at, runs FROM commands;
      DROP TRIGGER commands_fts_delete;
      DROP TABLE commands;
      ALTER TABLE commands_v7 RENAME TO commands;
      CREATE UNIQUE INDEX commands_cmd ON commands (cmd);
      CREATE INDEX commands_recent ON commands (last_at);
      CREATE TRIGGER commands_fts_delete AFTER DELETE ON commands BEGIN
        INSERT INTO commands_fts (commands_fts, rowid, cmd) VALUES ('delete', old.id, old.cmd);
      END;
    `,
  },
];
