/**
 * Artifacts: files attached to a session (`hx attach`), kept in the local blob cache and
 * synced as encrypted blobs.
 *
 * @module
 */

import { basename } from "node:path";
import { uuidv7 } from "../_ids.ts";
import { HxError } from "../errors.ts";
import {
  artifactByHashPrefix,
  artifactById,
  artifactByName,
  insertArtifact,
  listArtifactRows,
  type StoredArtifact,
} from "../vault/artifacts.ts";
import { cacheStream, isCached } from "../vault/blob_cache.ts";
import type { Db } from "../vault/db.ts";
import { insertSession, latestSessionOf } from "../vault/sessions.ts";
import type { Vault } from "../vault/vault.ts";

export type { StoredArtifact };

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
  const { sha256, size } = await cacheStream(blobsDir, file.readable);
  const now = vault.now();
  const db = vault.db;
  const session = opts.sessionId ?? latestSessionOf(db, vault.nodeId) ?? `attach-${uuidv7(now)}`;
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
    insertArtifact(db, artifact, { segmentId: null, newBlob: true });
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
  const rows = listArtifactRows(db, opts.sessionId);
  const out: ArtifactListing[] = [];
  for (const row of rows) {
    out.push({ ...row, cached: await isCached(blobsDir, row.sha256) });
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
  const byId = artifactById(db, ref);
  if (byId !== undefined) return byId;
  if (/^[0-9a-f]{6,64}$/.test(ref)) {
    const matches = artifactByHashPrefix(db, ref);
    const distinct = new Set(matches.map((m) => m.sha256));
    if (distinct.size > 1) {
      throw new HxError(
        "invalid_input",
        `Cannot find artifact ${ref}: ${distinct.size} artifacts match; give more digits`,
      );
    }
    if (distinct.size === 1) return matches[0]!;
  }
  const byName = artifactByName(db, ref);
  if (byName !== undefined) return byName;
  throw new HxError(
    "not_found",
    `Cannot find artifact ${ref}: no artifact has that id, hash or name`,
  );
}
