/**
 * The JSON payloads inside objects, and strict validation of everything read from the
 * store: every field typed and bounded, every record belonging to the node whose place
 * it came from. Unknown fields are ignored, so newer writers stay readable.
 *
 * @module
 */

import { fromUtf8, utf8 } from "../_encoding.ts";
import { SHA256_RE, UUID_RE } from "../_ids.ts";
import { IntegrityError } from "../errors.ts";

/** One command run in a shell. Its identity is `(node_id, session_id, seq)`. */
export interface EventRecord {
  /** The device that recorded it. */
  node_id: string;
  /** The shell session it ran in. */
  session_id: string;
  /** Its position in the session. */
  seq: number;
  /** When it started (ms since the epoch). */
  started_at: number;
  /** When it ended (ms), if known. */
  ended_at: number | null;
  /** How long it ran (ms), if known. */
  duration_ms: number | null;
  /** Its exit status, if known. */
  exit_code: number | null;
  /** The directory it ran in, if known. */
  cwd: string | null;
  /** The command line. */
  cmd: string;
  /** The host it ran on. */
  host: string | null;
}

/** A shell session. */
export interface SessionRecord {
  session_id: string;
  node_id: string;
  started_at: number;
  host: string | null;
  shell: string | null;
}

/** A file attached to a session, stored as a blob. */
export interface ArtifactRecord {
  /** The artifact's id. */
  artifact_id: string;
  /** The device that attached it. */
  node_id: string;
  /** The session it is attached to. */
  session_id: string;
  /** SHA-256 of the plaintext file. */
  sha256: string;
  /** The blob's id on the store (keyed hash of `sha256` in encrypted vaults). */
  blob_hash: string;
  /** The file's name when attached. */
  name: string;
  /** Its size in bytes. */
  size: number;
  /** When it was attached (ms). */
  created_at: number;
}

/** A session pinned by a device. Pins only grow: pinned anywhere means pinned. */
export interface PinRecord {
  session_id: string;
  node_id: string;
  pinned_at: number;
}

/** What a segment carries. */
export interface SegmentPayload {
  events: EventRecord[];
  sessions: SessionRecord[];
  artifacts: ArtifactRecord[];
  pins: PinRecord[];
}

/** A forgotten time window: every event that started inside it, on `node_id` or on all nodes. */
export interface TombstonePayload {
  /** The tombstone's id. */
  tombstone_id: string;
  /** The device that created it. */
  created_by: string;
  /** When it was created (ms). */
  created_at: number;
  /** Start of the forgotten window (ms, inclusive). */
  start_ts: number;
  /** End of the forgotten window (ms, inclusive). */
  end_ts: number;
  /** Limit to one node's events; `null` covers every node. */
  node_id: string | null;
}

/** One published segment as a manifest lists it. */
export interface ManifestSegment {
  segment_id: string;
  /** SHA-256 of the object bytes as stored. */
  sha256: string;
  created_at: number;
  events: number;
  bytes: number;
}

/** One published tombstone as a manifest lists it. */
export interface ManifestTombstone {
  tombstone_id: string;
  sha256: string;
  created_at: number;
}

/** A node's record of everything it has published. */
export interface ManifestPayload {
  vault_id: string;
  node_id: string;
  manifest_seq: number;
  created_at: number;
  host: string | null;
  segments: ManifestSegment[];
  tombstones: ManifestTombstone[];
  capabilities: { format: number; compression: string[] };
}

/** Bounds on what a reader accepts. */
export const LIMITS = {
  cmdChars: 256 * 1024,
  cwdChars: 4096,
  hostChars: 255,
  nameChars: 1024,
  sessionIdChars: 64,
  recordsPerSegment: 200_000,
  entriesPerManifest: 2_000_000,
} as const;

const SESSION_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_TS = 2 ** 47; // year 6429 in ms

function fail(what: string, why: string): never {
  throw new IntegrityError("bad_payload", `Cannot import ${what}: ${why}`);
}

type Obj = Record<string, unknown>;

function obj(value: unknown, what: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(what, "not an object");
  }
  return value as Obj;
}

function arr(value: unknown, what: string, max: number, optional = false): unknown[] {
  if (value === undefined && optional) return [];
  if (!Array.isArray(value)) fail(what, "not a list");
  if (value.length > max) fail(what, `more than ${max} entries`);
  return value;
}

function text(o: Obj, f: string, what: string, max: number, re?: RegExp): string {
  const v = o[f];
  if (typeof v !== "string" || v.length > max || (re !== undefined && !re.test(v))) {
    fail(what, `field "${f}" is missing or malformed`);
  }
  return v;
}

function textOrNull(o: Obj, f: string, what: string, max: number): string | null {
  return o[f] === null || o[f] === undefined ? null : text(o, f, what, max);
}

function int(o: Obj, f: string, what: string, min: number, max: number): number {
  const v = o[f];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(what, `field "${f}" is missing or out of range`);
  }
  return v;
}

function intOrNull(o: Obj, f: string, what: string, min: number, max: number): number | null {
  return o[f] === null || o[f] === undefined ? null : int(o, f, what, min, max);
}

function ownedBy(o: Obj, what: string, node: string): string {
  const owner = text(o, "node_id", what, 36, UUID_RE);
  if (owner !== node) {
    throw new IntegrityError(
      "wrong_node",
      `Cannot import ${what}: it claims node ${owner} inside an object of node ${node}`,
    );
  }
  return owner;
}

/** Parses JSON bytes, failing with `bad_payload`. */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(fromUtf8.decode(bytes));
  } catch {
    fail(what, "not valid UTF-8 JSON");
  }
}

/** Serialises a payload to UTF-8 JSON. */
export function encodeJson(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

/** Validates one event that must belong to `node`. */
export function checkEvent(value: unknown, node: string): EventRecord {
  const what = "event";
  const o = obj(value, what);
  return {
    node_id: ownedBy(o, what, node),
    session_id: text(o, "session_id", what, LIMITS.sessionIdChars, SESSION_RE),
    seq: int(o, "seq", what, 0, Number.MAX_SAFE_INTEGER),
    started_at: int(o, "started_at", what, 0, MAX_TS),
    ended_at: intOrNull(o, "ended_at", what, 0, MAX_TS),
    duration_ms: intOrNull(o, "duration_ms", what, 0, MAX_TS),
    exit_code: intOrNull(o, "exit_code", what, -(2 ** 31), 2 ** 31),
    cwd: textOrNull(o, "cwd", what, LIMITS.cwdChars),
    cmd: text(o, "cmd", what, LIMITS.cmdChars),
    host: textOrNull(o, "host", what, LIMITS.hostChars),
  };
}

function checkSession(value: unknown, node: string): SessionRecord {
  const what = "session";
  const o = obj(value, what);
  return {
    session_id: text(o, "session_id", what, LIMITS.sessionIdChars, SESSION_RE),
    node_id: ownedBy(o, what, node),
    started_at: int(o, "started_at", what, 0, MAX_TS),
    host: textOrNull(o, "host", what, LIMITS.hostChars),
    shell: textOrNull(o, "shell", what, 64),
  };
}

function checkArtifact(value: unknown, node: string): ArtifactRecord {
  const what = "artifact";
  const o = obj(value, what);
  return {
    artifact_id: text(o, "artifact_id", what, 36, UUID_RE),
    node_id: ownedBy(o, what, node),
    session_id: text(o, "session_id", what, LIMITS.sessionIdChars, SESSION_RE),
    sha256: text(o, "sha256", what, 64, SHA256_RE),
    blob_hash: text(o, "blob_hash", what, 64, SHA256_RE),
    name: text(o, "name", what, LIMITS.nameChars),
    size: int(o, "size", what, 0, Number.MAX_SAFE_INTEGER),
    created_at: int(o, "created_at", what, 0, MAX_TS),
  };
}

function checkPin(value: unknown, node: string): PinRecord {
  const what = "pin";
  const o = obj(value, what);
  return {
    session_id: text(o, "session_id", what, LIMITS.sessionIdChars, SESSION_RE),
    node_id: ownedBy(o, what, node),
    pinned_at: int(o, "pinned_at", what, 0, MAX_TS),
  };
}

/**
 * Validates a decrypted segment payload of `node`.
 *
 * @param bytes The plaintext payload.
 * @param node The node whose segment this is (from its key and manifest).
 * @returns The records, validated.
 * @throws {IntegrityError} `bad_payload` or `wrong_node`.
 */
export function parseSegment(bytes: Uint8Array, node: string): SegmentPayload {
  const o = obj(parseJson(bytes, "segment"), "segment");
  const max = LIMITS.recordsPerSegment;
  return {
    events: arr(o.events, "segment events", max).map((e) => checkEvent(e, node)),
    sessions: arr(o.sessions, "segment sessions", max, true).map((s) => checkSession(s, node)),
    artifacts: arr(o.artifacts, "segment artifacts", max, true).map((a) => checkArtifact(a, node)),
    pins: arr(o.pins, "segment pins", max, true).map((p) => checkPin(p, node)),
  };
}

/**
 * Validates a decrypted tombstone payload created by `node`.
 *
 * @param bytes The plaintext payload.
 * @param node The node whose manifest declared it.
 * @param tombstoneId The id its key and manifest gave.
 * @returns The tombstone.
 * @throws {IntegrityError} `bad_payload`, `wrong_node` or `wrong_id`.
 */
export function parseTombstone(
  bytes: Uint8Array,
  node: string,
  tombstoneId: string,
): TombstonePayload {
  const what = "tombstone";
  const o = obj(parseJson(bytes, what), what);
  const id = text(o, "tombstone_id", what, 36, UUID_RE);
  if (id !== tombstoneId) {
    throw new IntegrityError(
      "wrong_id",
      `Cannot import tombstone: it says ${id}, expected ${tombstoneId}`,
    );
  }
  const createdBy = text(o, "created_by", what, 36, UUID_RE);
  if (createdBy !== node) {
    throw new IntegrityError(
      "wrong_node",
      `Cannot import tombstone: created by ${createdBy}, but declared by node ${node}`,
    );
  }
  const start = int(o, "start_ts", what, 0, MAX_TS);
  const end = int(o, "end_ts", what, 0, MAX_TS);
  if (end < start) fail(what, "its window ends before it starts");
  const scope = o.node_id === null || o.node_id === undefined
    ? null
    : text(o, "node_id", what, 36, UUID_RE);
  return {
    tombstone_id: id,
    created_by: createdBy,
    created_at: int(o, "created_at", what, 0, MAX_TS),
    start_ts: start,
    end_ts: end,
    node_id: scope,
  };
}

/**
 * Validates a decrypted manifest of `node` in `vault`.
 *
 * @param bytes The plaintext payload.
 * @param vault The vault being pulled.
 * @param node The node its key names.
 * @returns The manifest.
 * @throws {IntegrityError} `bad_payload`, `wrong_vault` or `wrong_node`.
 */
export function parseManifest(bytes: Uint8Array, vault: string, node: string): ManifestPayload {
  const what = "manifest";
  const o = obj(parseJson(bytes, what), what);
  const vaultId = text(o, "vault_id", what, 36, UUID_RE);
  if (vaultId !== vault) {
    throw new IntegrityError(
      "wrong_vault",
      `Cannot import manifest: it is of vault ${vaultId}, not ${vault}`,
    );
  }
  const nodeId = ownedBy(o, what, node);
  const max = LIMITS.entriesPerManifest;
  const segments = arr(o.segments, "manifest segments", max).map((v) => {
    const s = obj(v, "manifest segment");
    return {
      segment_id: text(s, "segment_id", what, 36, UUID_RE),
      sha256: text(s, "sha256", what, 64, SHA256_RE),
      created_at: int(s, "created_at", what, 0, MAX_TS),
      events: int(s, "events", what, 0, LIMITS.recordsPerSegment),
      bytes: int(s, "bytes", what, 0, Number.MAX_SAFE_INTEGER),
    };
  });
  const tombstones = arr(o.tombstones, "manifest tombstones", max).map((v) => {
    const t = obj(v, "manifest tombstone");
    return {
      tombstone_id: text(t, "tombstone_id", what, 36, UUID_RE),
      sha256: text(t, "sha256", what, 64, SHA256_RE),
      created_at: int(t, "created_at", what, 0, MAX_TS),
    };
  });
  const caps = o.capabilities === undefined ? {} : obj(o.capabilities, "manifest capabilities");
  return {
    vault_id: vaultId,
    node_id: nodeId,
    manifest_seq: int(o, "manifest_seq", what, 1, Number.MAX_SAFE_INTEGER),
    created_at: int(o, "created_at", what, 0, MAX_TS),
    host: textOrNull(o, "host", what, LIMITS.hostChars),
    segments,
    tombstones,
    capabilities: {
      format: typeof caps.format === "number" ? caps.format : 1,
      compression: Array.isArray(caps.compression)
        ? caps.compression.filter((c): c is string => typeof c === "string")
        : ["gzip"],
    },
  };
}
