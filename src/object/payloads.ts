/**
 * The JSON payloads inside objects, and strict validation of everything read from the
 * store: every field typed and bounded, every record belonging to the node whose place
 * it came from. Unknown fields are ignored, so newer writers stay readable.
 *
 * @module
 */

import { decodeUtf8, utf8 } from "../_encoding.ts";
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

/**
 * A device pinning or unpinning a session. The latest action on a session, by any device,
 * decides (an unpin wins a tie); records written before unpinning existed have no `pinned`
 * and are pins.
 */
export interface PinRecord {
  session_id: string;
  node_id: string;
  /** When the device pinned (or unpinned) it (ms). */
  pinned_at: number;
  /** `false` for an unpin. */
  pinned: boolean;
}

/** What a segment carries. */
export interface SegmentPayload {
  events: EventRecord[];
  sessions: SessionRecord[];
  artifacts: ArtifactRecord[];
  pins: PinRecord[];
}

/**
 * A forgotten set of events: every event that started inside `[start_ts, end_ts]`, on
 * `node_id` (or on every node when `null`), whose command's SHA-256 is `cmd_sha256` (or any
 * command when `null`).
 */
export interface TombstonePayload {
  /** The tombstone's id. */
  tombstone_id: string;
  /** The device that created it. */
  created_by: string;
  /** When it was created (ms). */
  created_at: number;
  /** Start of the forgotten window (ms, inclusive). */
  start_ts: number;
  /** End of the forgotten window (ms, inclusive); at most `created_at` plus the clock skew. */
  end_ts: number;
  /** Limit to one node's events; `null` covers every node. */
  node_id: string | null;
  /** Limit to one command (SHA-256 of its text, hex); `null` covers every command. */
  cmd_sha256: string | null;
}

/** One object a node publishes, as its manifest lists it: a segment, or a pack of segments. */
export interface ManifestSegment {
  /** The object's id (its key names it). */
  segment_id: string;
  /** SHA-256 of the object bytes as stored. */
  sha256: string;
  /** Size of the stored object. */
  bytes: number;
  /** Events it holds. */
  events: number;
  /** The first segment number it covers. */
  first: number;
  /** The last segment number it covers (`first` for a loose segment). */
  last: number;
  /** When its earliest event started (ms; 0 when it holds none). */
  start_ts: number;
  /** When its latest event started (ms; 0 when it holds none). */
  end_ts: number;
  /** When it was written (ms). */
  created_at: number;
}

/** A node's record of what it publishes, what it has seen, and every tombstone it applied. */
export interface ManifestPayload {
  /** The manifest format: 2. */
  format: 2;
  /** The vault. */
  vault_id: string;
  /** The writer. */
  node_id: string;
  /** One more at every write of this node's manifest. */
  manifest_seq: number;
  /** When it was written (ms). */
  created_at: number;
  /** The writer's host name. */
  host: string | null;
  /** The highest seq of every node the writer has accepted, itself included. */
  seen: Record<string, number>;
  /** Every tombstone the writer has applied. */
  tombstones: TombstonePayload[];
  /** What the writer publishes: its segments and packs. */
  segments: ManifestSegment[];
}

/** The node that imported history belongs to, whichever device imported it. */
export const IMPORT_NODE_ID = "6cac7199-617e-8a86-b48d-5fd9cca0b10f";

/** The largest clock skew between devices that readers tolerate (ms). */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** Jan 1st 2020, from which the largest plausible manifest seq is counted. */
const SEQ_EPOCH = Date.UTC(2020, 0, 1);

/**
 * The largest manifest seq a device could have written by `now`: ten manifests a second
 * since 2020, orders of magnitude beyond any real device. Larger seqs are forgeries.
 *
 * @param now The reader's clock (ms).
 * @returns The bound.
 */
export function maxPlausibleSeq(now: number): number {
  return Math.max(1_000_000, Math.floor((now - SEQ_EPOCH) / 100));
}

/**
 * Bounds on what a reader accepts: orders of magnitude above what an honest device writes
 * (a segment holds at most 10,000 events, a pack 100,000; a manifest lists a few packs and
 * at most 64 loose segments), far below what would hurt.
 */
export const LIMITS = {
  cmdChars: 256 * 1024,
  cwdChars: 4096,
  hostChars: 255,
  nameChars: 1024,
  sessionIdChars: 64,
  recordsPerSegment: 1_000_000,
  segmentsPerManifest: 20_000,
  tombstonesPerManifest: 100_000,
  nodesPerManifest: 10_000,
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

function flag(o: Obj, f: string, what: string, absent: boolean): boolean {
  const v = o[f];
  if (v === undefined) return absent;
  if (typeof v !== "boolean") fail(what, `${f} must be true or false`);
  return v;
}

function ownedBy(o: Obj, what: string, node: string, imported = false): string {
  const owner = text(o, "node_id", what, 36, UUID_RE);
  if (owner !== node && !(imported && owner === IMPORT_NODE_ID)) {
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
    return JSON.parse(decodeUtf8(bytes));
  } catch {
    fail(what, "not valid UTF-8 JSON");
  }
}

/** Serialises a payload to UTF-8 JSON. */
export function encodeJson(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

/**
 * The node and session of the event checked last. A segment's events mostly share them: one
 * equal to the last is not matched against its pattern again, and the event gets the same
 * string as the last (which the maps interning ids then hash once, not once per event).
 */
interface LastIds {
  node: string | null;
  session: string | null;
}

/**
 * Validates one event that must belong to `node` (or be imported history, which any node
 * publishes).
 */
function checkEvent(value: unknown, node: string, last: LastIds): EventRecord {
  const what = "event";
  const o = obj(value, what);
  if (last.node === null || o.node_id !== last.node) last.node = ownedBy(o, what, node, true);
  if (last.session === null || o.session_id !== last.session) {
    last.session = text(o, "session_id", what, LIMITS.sessionIdChars, SESSION_RE);
  }
  return {
    node_id: last.node,
    session_id: last.session,
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
    node_id: ownedBy(o, what, node, true),
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
    pinned: flag(o, "pinned", what, true),
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
  const last: LastIds = { node: null, session: null };
  return {
    events: arr(o.events, "segment events", max).map((e) => checkEvent(e, node, last)),
    sessions: arr(o.sessions, "segment sessions", max, true).map((s) => checkSession(s, node)),
    artifacts: arr(o.artifacts, "segment artifacts", max, true).map((a) => checkArtifact(a, node)),
    pins: arr(o.pins, "segment pins", max, true).map((p) => checkPin(p, node)),
  };
}

/**
 * Validates one tombstone: its fields, and that its window does not end after it was made
 * (beyond the clock skew).
 *
 * @param value The tombstone as parsed from JSON.
 * @returns The tombstone.
 * @throws {IntegrityError} `bad_payload`, or `future` for a window that ends after its making.
 */
export function checkTombstone(value: unknown): TombstonePayload {
  const what = "tombstone";
  const o = obj(value, what);
  const start = int(o, "start_ts", what, 0, MAX_TS);
  const end = int(o, "end_ts", what, 0, MAX_TS);
  const created = int(o, "created_at", what, 0, MAX_TS);
  if (end < start) fail(what, "its window ends before it starts");
  if (end > created + CLOCK_SKEW_MS) {
    throw new IntegrityError(
      "future",
      `Cannot apply tombstone: its window ends ${new Date(end).toISOString()}, after it was made (${
        new Date(created).toISOString()
      })`,
    );
  }
  return {
    tombstone_id: text(o, "tombstone_id", what, 36, UUID_RE),
    created_by: text(o, "created_by", what, 36, UUID_RE),
    created_at: created,
    start_ts: start,
    end_ts: end,
    node_id: o.node_id === null || o.node_id === undefined
      ? null
      : text(o, "node_id", what, 36, UUID_RE),
    cmd_sha256: o.cmd_sha256 === null || o.cmd_sha256 === undefined
      ? null
      : text(o, "cmd_sha256", what, 64, SHA256_RE),
  };
}

/**
 * Validates a decrypted manifest of `node` in `vault`.
 *
 * @param bytes The plaintext payload.
 * @param vault The vault being pulled.
 * @param node The node its key names.
 * @param now The reader's clock (ms), which bounds the seqs it believes.
 * @returns The manifest; tombstones that break their rules are left out and returned apart.
 * @throws {IntegrityError} `bad_payload`, `wrong_vault`, `wrong_node`, `unsupported_version`,
 *   or `future` for a seq no device could have written.
 */
export function parseManifest(
  bytes: Uint8Array,
  vault: string,
  node: string,
  now: number,
): { manifest: ManifestPayload; refused: { tombstone: unknown; error: IntegrityError }[] } {
  const what = "manifest";
  const o = obj(parseJson(bytes, what), what);
  if (o.format !== 2) {
    throw new IntegrityError(
      "unsupported_version",
      `Cannot read manifest: format ${String(o.format ?? 1)} is not supported (this hx reads 2)`,
    );
  }
  const vaultId = text(o, "vault_id", what, 36, UUID_RE);
  if (vaultId !== vault) {
    throw new IntegrityError(
      "wrong_vault",
      `Cannot import manifest: it is of vault ${vaultId}, not ${vault}`,
    );
  }
  const nodeId = ownedBy(o, what, node);
  const bound = maxPlausibleSeq(now);
  const seq = int(o, "manifest_seq", what, 1, Number.MAX_SAFE_INTEGER);
  if (seq > bound) {
    throw new IntegrityError(
      "future",
      `Cannot accept manifest of node ${node}: its seq ${seq} is beyond what any device could have written`,
    );
  }
  const segments = arr(o.segments, "manifest segments", LIMITS.segmentsPerManifest).map((v) => {
    const s = obj(v, "manifest segment");
    const first = int(s, "first", what, 1, bound);
    const last = int(s, "last", what, first, bound);
    return {
      segment_id: text(s, "segment_id", what, 36, UUID_RE),
      sha256: text(s, "sha256", what, 64, SHA256_RE),
      bytes: int(s, "bytes", what, 0, Number.MAX_SAFE_INTEGER),
      events: int(s, "events", what, 0, LIMITS.recordsPerSegment),
      first,
      last,
      start_ts: int(s, "start_ts", what, 0, MAX_TS),
      end_ts: int(s, "end_ts", what, 0, MAX_TS),
      created_at: int(s, "created_at", what, 0, MAX_TS),
    };
  });
  const tombstones: TombstonePayload[] = [];
  const refused: { tombstone: unknown; error: IntegrityError }[] = [];
  for (const t of arr(o.tombstones, "manifest tombstones", LIMITS.tombstonesPerManifest)) {
    try {
      tombstones.push(checkTombstone(t));
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      refused.push({ tombstone: t, error: err });
    }
  }
  const seenObj = obj(o.seen, "manifest seen");
  const seenEntries = Object.entries(seenObj);
  if (seenEntries.length > LIMITS.nodesPerManifest) fail(what, "its seen list is too long");
  const seen: Record<string, number> = {};
  for (const [id, value] of seenEntries) {
    // A claim no device could have made raises no floor: it is dropped, not trusted.
    if (!UUID_RE.test(id) || typeof value !== "number" || !Number.isSafeInteger(value)) {
      fail(what, "its seen list is malformed");
    }
    if (value >= 1 && value <= bound) seen[id] = value;
  }
  return {
    manifest: {
      format: 2,
      vault_id: vaultId,
      node_id: nodeId,
      manifest_seq: seq,
      created_at: int(o, "created_at", what, 0, MAX_TS),
      host: textOrNull(o, "host", what, LIMITS.hostChars),
      seen,
      tombstones,
      segments,
    },
    refused,
  };
}
