/**
 * Artifacts: files attached to a session (`hx attach`), kept in the local blob cache and
 * synced as encrypted blobs.
 *
 * @module
 */

import { basename } from "node:path";
import { uuidv7 } from "../_ids.ts";
import { HxError } from "../errors.ts";
import type { ArtifactRecord } from "../object/payloads.ts";
import { cacheStream, isCached, readPieces } from "../vault/blob_cache.ts";
import type { Db } from "../vault/db.ts";
import { insertSession } from "../vault/events.ts";
import type { Vault } from "../vault/vault.ts";

/** An artifact as the index holds it. */
export interface StoredArtifact extends Omit<ArtifactRecord, "blob_hash"> {
  /** The blob's id on the store; `null` until this device's first push assigns it. */
  blob_hash: string | null;
}

/**
 * The session a new artifact belongs to by default: this device's latest session.
 *
 * @returns Its id, or `null` if this device has recorded none.
 */
export function latestSession(db: Db, nodeId: string): string | null {
  return db.get<{ session_id: string }>(
    `SELECT s.session_id FROM events e JOIN sessions s ON s.ref = e.session_ref
     WHERE e.node_ref = (SELECT ref FROM nodes WHERE node_id = ?)
     ORDER BY e.started_at DESC, e.id DESC LIMIT 1`,
    nodeId,
  )?.session_id ?? null;
}

/**
 * Attaches a file: copies it into the blob cache (hashing it on the way) and records an
 * artifact linked to a session. Nothing leaves the machine until the next push.
 *
 * @param vault This device's index.
 * @param blobsDir The blob cache.
 * @param path The file.
 * @param opts The session (default: this device's latest).
 * @returns The artifact.
 */
export async function attachFile(
  vault: Vault,
  blobsDir: string,
  path: string,
  opts: { sessionId?: string } = {},
): Promise<StoredArtifact> {
  let file: Deno.FsFile;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new HxError("invalid_input", `Cannot attach ${path}: it is not a file`);
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof HxError) throw err;
    if (err instanceof Deno.errors.NotFound) {
      throw new HxError("not_found", `Cannot attach ${path}: no such file`, { cause: err });
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new HxError("auth", `Cannot attach ${path}: permission denied`, { cause: err });
    }
    throw err;
  }
  const { sha256, size } = await cacheStream(blobsDir, readPieces(file));
  const now = vault.now();
  const db = vault.db;
  const session = opts.sessionId ?? latestSession(db, vault.nodeId) ?? `attach-${uuidv7(now)}`;
  const artifact: StoredArtifact = {
    artifact_id: uuidv7(now),
    node_id: vault.nodeId,
    session_id: session,
    sha256,
    blob_hash: null,
    name: basename(path),
    size,
    created_at: now,
  };
  db.transaction(() => {
    insertSession(db, {
      session_id: session,
      node_id: vault.nodeId,
      started_at: now,
      host: vault.host,
      shell: null,
    }, null);
    db.run("INSERT OR IGNORE INTO blobs (sha256, size, uploaded) VALUES (?, ?, 0)", sha256, size);
    db.run(
      `INSERT INTO artifacts (artifact_id, node_id, session_id, sha256, blob_hash, name, size, created_at)
       VALUES (?, ?, ?, ?, NULL, ?, ?, ?)`,
      artifact.artifact_id,
      artifact.node_id,
      artifact.session_id,
      artifact.sha256,
      artifact.name,
      artifact.size,
      artifact.created_at,
    );
  });
  return artifact;
}

/** An artifact and whether its content is cached here. */
export interface ArtifactListing extends StoredArtifact {
  /** Whether its content is in the local cache (else it is fetched on demand). */
  cached: boolean;
}

/**
 * Lists artifacts, newest first.
 *
 * @param db The index.
 * @param blobsDir The blob cache.
 * @param opts Limit to one session.
 * @returns The artifacts.
 */
export async function listArtifacts(
  db: Db,
  blobsDir: string,
  opts: { sessionId?: string } = {},
): Promise<ArtifactListing[]> {
  const rows = opts.sessionId === undefined
    ? db.all<StoredArtifact>("SELECT * FROM artifacts ORDER BY created_at DESC, artifact_id DESC")
    : db.all<StoredArtifact>(
      "SELECT * FROM artifacts WHERE session_id = ? ORDER BY created_at DESC, artifact_id DESC",
      opts.sessionId,
    );
  const out: ArtifactListing[] = [];
  for (const row of rows) {
    const { segment_id: _segment, ...artifact } = row as StoredArtifact & { segment_id?: unknown };
    out.push({ ...artifact, cached: await isCached(blobsDir, row.sha256) });
  }
  return out;
}

/**
 * Finds one artifact by id, by a prefix (6+ hex digits) of its SHA-256, or by file name
 * (the newest artifact of that name).
 *
 * @param db The index.
 * @param ref The id, SHA-256 prefix or name.
 * @returns The artifact.
 * @throws {HxError} `not_found`, or `invalid_input` when a prefix is ambiguous.
 */
export function findArtifact(db: Db, ref: string): StoredArtifact {
  const byId = db.get<StoredArtifact>("SELECT * FROM artifacts WHERE artifact_id = ?", ref);
  if (byId !== undefined) return byId;
  if (/^[0-9a-f]{6,64}$/.test(ref)) {
    const matches = db.all<StoredArtifact>(
      "SELECT * FROM artifacts WHERE sha256 >= ? AND sha256 < ? ORDER BY created_at DESC",
      ref,
      ref + "g",
    );
    const distinct = new Set(matches.map((m) => m.sha256));
    if (distinct.size > 1) {
      throw new HxError(
        "invalid_input",
        `Cannot find artifact ${ref}: ${distinct.size} artifacts match; give more digits`,
      );
    }
    if (distinct.size === 1) return matches[0]!;
  }
  const byName = db.get<StoredArtifact>(
    "SELECT * FROM artifacts WHERE name = ? ORDER BY created_at DESC, artifact_id DESC LIMIT 1",
    ref,
  );
  if (byName !== undefined) return byName;
  throw new HxError(
    "not_found",
    `Cannot find artifact ${ref}: no artifact has that id, hash or name`,
    {
      hint: "hx artifacts lists them; hx sync pull fetches other devices' artifacts",
    },
  );
}
