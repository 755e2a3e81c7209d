/**
 * Artifacts (files attached to sessions) and the blobs that hold their content, as the
 * index records them: the one place that reads and writes the `artifacts` and `blobs`
 * tables.
 *
 * @module
 */

import type { ArtifactRecord } from "../object/payloads.ts";
import type { Db } from "./db.ts";

/** An artifact as the index holds it. */
export interface StoredArtifact extends Omit<ArtifactRecord, "blob_hash"> {
  /** The blob's id on the store; `null` until this device's first push assigns it. */
  blob_hash: string | null;
}

const COLUMNS = "artifact_id, node_id, session_id, sha256, blob_hash, name, size, created_at";

/**
 * Records an artifact (idempotent by id). With `newBlob`, also records its content as a
 * cached blob this device must upload.
 *
 * @param db The index.
 * @param a The artifact.
 * @param opts The own segment that publishes it (`null`: not sealed, or another device's),
 *   and the size of a newly cached blob.
 */
export function insertArtifact(
  db: Db,
  a: StoredArtifact,
  opts: { segmentId: string | null; newBlob?: boolean },
): void {
  db.transaction(() => {
    if (opts.newBlob) {
      db.run(
        "INSERT OR IGNORE INTO blobs (sha256, size, uploaded) VALUES (?, ?, 0)",
        a.sha256,
        a.size,
      );
    }
    db.run(
      `INSERT OR IGNORE INTO artifacts (${COLUMNS}, segment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      a.artifact_id,
      a.node_id,
      a.session_id,
      a.sha256,
      a.blob_hash,
      a.name,
      a.size,
      a.created_at,
      opts.segmentId,
    );
  });
}

/** Records that a blob's content is cached here (fetched from the store). */
export function recordCachedBlob(db: Db, sha256: string, size: number): void {
  db.run("INSERT OR IGNORE INTO blobs (sha256, size, uploaded) VALUES (?, ?, 1)", sha256, size);
}

/** Content hashes of this device's artifacts that have no store id yet. */
export function blobsWithoutId(db: Db, node: string): string[] {
  return db.all<{ sha256: string }>(
    "SELECT DISTINCT sha256 FROM artifacts WHERE node_id = ? AND blob_hash IS NULL",
    node,
  ).map((r) => r.sha256);
}

/** Gives this device's artifacts of a content their store id. */
export function setBlobId(db: Db, node: string, sha256: string, blobHash: string): void {
  db.run(
    "UPDATE artifacts SET blob_hash = ? WHERE node_id = ? AND sha256 = ? AND blob_hash IS NULL",
    blobHash,
    node,
    sha256,
  );
}

/** A blob this device must upload. */
export interface PendingBlob {
  sha256: string;
  size: number;
  blob_hash: string;
}

/** This device's cached blobs not uploaded yet (with a store id). */
export function pendingBlobs(db: Db, node: string): PendingBlob[] {
  return db.all<PendingBlob>(
    `SELECT b.sha256, b.size, min(a.blob_hash) AS blob_hash FROM blobs b
     JOIN artifacts a ON a.sha256 = b.sha256 AND a.node_id = ?
     WHERE b.uploaded = 0 AND a.blob_hash IS NOT NULL GROUP BY b.sha256`,
    node,
  );
}

/** Records that a blob is on the store. */
export function markBlobUploaded(db: Db, sha256: string): void {
  db.run("UPDATE blobs SET uploaded = 1 WHERE sha256 = ?", sha256);
}

/** Artifacts, newest first (of one session, if given). */
export function listArtifactRows(db: Db, sessionId?: string): StoredArtifact[] {
  return sessionId === undefined
    ? db.all<StoredArtifact>(
      `SELECT ${COLUMNS} FROM artifacts ORDER BY created_at DESC, artifact_id DESC`,
    )
    : db.all<StoredArtifact>(
      `SELECT ${COLUMNS} FROM artifacts WHERE session_id = ? ORDER BY created_at DESC, artifact_id DESC`,
      sessionId,
    );
}

/** The artifact with an id, or `undefined`. */
export function artifactById(db: Db, id: string): StoredArtifact | undefined {
  return db.get<StoredArtifact>(`SELECT ${COLUMNS} FROM artifacts WHERE artifact_id = ?`, id);
}

/** Artifacts whose content hash starts with `prefix`, newest first. */
export function artifactByHashPrefix(db: Db, prefix: string): StoredArtifact[] {
  return db.all<StoredArtifact>(
    `SELECT ${COLUMNS} FROM artifacts WHERE sha256 >= ? AND sha256 < ? ORDER BY created_at DESC`,
    prefix,
    prefix + "g",
  );
}

/** The newest artifact of a file name, or `undefined`. */
export function artifactByName(db: Db, name: string): StoredArtifact | undefined {
  return db.get<StoredArtifact>(
    `SELECT ${COLUMNS} FROM artifacts WHERE name = ? ORDER BY created_at DESC, artifact_id DESC LIMIT 1`,
    name,
  );
}
