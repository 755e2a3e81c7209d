/**
 * hx: local-first shell history with end-to-end-encrypted sync through storage you
 * already have (a shared folder or any S3-compatible bucket). No hx server.
 *
 * The {@linkcode Hx} facade is one device: its history index and its sync. The store
 * layer ({@linkcode openStore}, {@linkcode SyncStore}) can be used on its own, and new
 * backends can be added with {@linkcode registerScheme} and checked with the
 * conformance suite in `@hx/hx/testing`.
 *
 * @example Two devices syncing through a folder
 * ```ts
 * import { Hx } from "./mod.ts";
 *
 * const store = `folder:${await Deno.makeTempDir()}`;
 * const laptop = Hx.open({ home: await Deno.makeTempDir() });
 * const desktop = Hx.open({ home: await Deno.makeTempDir() });
 *
 * await laptop.syncInit({ store });
 * await desktop.syncJoin({ store, key: await laptop.exportKey() });
 *
 * laptop.record({ cmd: "make release", session_id: "s1", started_at: Date.now() - 2000, exit_code: 0 });
 * await laptop.push();
 * await desktop.pull();
 * console.assert(desktop.find({ text: "release" }).length === 1);
 *
 * laptop.close();
 * desktop.close();
 * ```
 *
 * @module
 */

export { type AutoSyncOutcome, Hx, type HxOptions } from "./src/hx.ts";
export type { RecordInput } from "./src/history/record.ts";
export {
  configPath,
  defaultSettings,
  loadSettings,
  type SearchFilter,
  type SearchMode,
  type Settings,
} from "./src/config.ts";
export { parseSettings } from "./src/config_file.ts";
export type { ImportResult } from "./src/history/import_file.ts";
export type { Shell } from "./src/history/parsed_command.ts";
export type { ArtifactListing, StoredArtifact } from "./src/history/artifacts.ts";
export type { PinnedSession, SessionView } from "./src/vault/sessions.ts";
export { hookScript, type KeyBindings } from "./src/history/shell_hooks.ts";
export type { FindQuery, InsertCounts, StoredEvent, StreamQuery } from "./src/vault/events.ts";
export type { HistoryStats, StatsQuery, Tally } from "./src/vault/stats.ts";
export type { LeftState } from "./src/vault/leave.ts";
export type { SlotKdf } from "./src/crypto/key_slot.ts";
export type { ApplyResult, ForgetOptions } from "./src/vault/tombstones.ts";
export type { PushCounts, PushOptions, PushResult } from "./src/sync/push.ts";
export type { DeletionCounts } from "./src/sync/compact.ts";
export { PACK_POLICY, type PackPolicy } from "./src/vault/packs.ts";
export type { PullCounts, PullOptions, PullResult } from "./src/sync/pull.ts";
export type { DeviceStatus, SyncStatus } from "./src/sync/status.ts";
export type { RunKind, RunRecord } from "./src/vault/runs.ts";
export type { QuarantineEntry, QuarantineKind, QuarantineSummary } from "./src/vault/quarantine.ts";
export type { AutoSyncState } from "./src/sync/auto.ts";
export type { BlobUploadCounts } from "./src/sync/blobs.ts";
export type { VerifyProblem, VerifyReport } from "./src/sync/verify.ts";
export type { InitOptions, InitResult, JoinOptions, SetupOptions } from "./src/sync/setup.ts";
export type { DoctorCheck, DoctorReport } from "./src/doctor.ts";
export type {
  ArtifactRecord,
  EventRecord,
  ManifestPayload,
  ManifestSegment,
  TombstonePayload,
} from "./src/object/payloads.ts";
export type { SyncConfig } from "./src/vault/home.ts";

export type {
  CallOptions,
  GetOptions,
  GetResult,
  GetStreamOptions,
  ObjectInfo,
  PutBody,
  PutOptions,
  PutResult,
  ReplayableBody,
  RequestKind,
  RequestObserver,
  Retrier,
  RetryContext,
  StoreCapabilities,
  StoreEnvironment,
  StreamResult,
  SyncStore,
} from "./src/store/types.ts";
export { openStore, type OpenStoreOptions } from "./src/store/open.ts";
export { type ParsedStoreUri, parseStoreUri, redactStoreUri } from "./src/store/uri.ts";
export { registerScheme, type SchemeHandler } from "./src/store/registry.ts";
export { MemoryStore } from "./src/store/memory.ts";
export { FolderStore } from "./src/store/folder.ts";
export { createRetrier, type RetryInfo, type RetryOptions, withRetry } from "./src/store/retry.ts";
export {
  Meter,
  type MeterDelta,
  type MeterSnapshot,
  type RequestCounts,
  withMetering,
} from "./src/store/metered.ts";
export { MAX_KEY_BYTES, validateKey, validatePrefix } from "./src/store/keys.ts";
export {
  categoryOf,
  ERROR_CATEGORIES,
  type ErrorCategory,
  isRetryable,
  NotFoundError,
  PreconditionError,
  StoreError,
  type StoreErrorOptions,
  TooLargeError,
} from "./src/store/errors.ts";
export {
  HxError,
  type HxErrorCode,
  type HxErrorOptions,
  IntegrityError,
  type IntegrityReason,
  KeyMismatchError,
} from "./src/errors.ts";
export { VERSION } from "./src/version.ts";
