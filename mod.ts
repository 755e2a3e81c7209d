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

export { Hx, type HxOptions } from "./src/hx.ts";
export type { RecordInput } from "./src/history/record.ts";
export type { ImportResult } from "./src/history/import_file.ts";
export type { Shell } from "./src/history/parsed_command.ts";
export type { FindQuery, StoredEvent } from "./src/vault/events.ts";
export type { ForgetOptions } from "./src/vault/tombstones.ts";
export type { PushOptions, PushResult } from "./src/sync/push.ts";
export type { PullOptions, PullResult } from "./src/sync/pull.ts";
export type { SyncStatus } from "./src/sync/status.ts";
export type { QuarantineEntry } from "./src/sync/quarantine.ts";
export type { EventRecord } from "./src/object/payloads.ts";

export type {
  CallOptions,
  GetOptions,
  GetResult,
  GetStreamOptions,
  ObjectInfo,
  PutOptions,
  PutResult,
  StoreCapabilities,
  StreamResult,
  SyncStore,
} from "./src/store/types.ts";
export { openStore, type OpenStoreOptions } from "./src/store/open.ts";
export {
  type ParsedStoreUri,
  parseStoreUri,
  redactStoreUri,
  registerScheme,
  type SchemeHandler,
  type StoreEnvironment,
} from "./src/store/uri.ts";
export { MemoryStore } from "./src/store/memory.ts";
export { FolderStore } from "./src/store/folder.ts";
export { isRetryable, type RetryOptions, withRetry } from "./src/store/retry.ts";
export {
  Meter,
  type MeterSnapshot,
  type RequestCounts,
  withMetering,
} from "./src/store/metered.ts";
export { MAX_KEY_BYTES, validateKey, validatePrefix } from "./src/store/keys.ts";
export {
  NotFoundError,
  PreconditionError,
  StoreError,
  type StoreErrorOptions,
  TooLargeError,
} from "./src/store/errors.ts";
export {
  categoryOf,
  ERROR_CATEGORIES,
  type ErrorCategory,
  HxError,
  type HxErrorOptions,
  IntegrityError,
  type IntegrityReason,
  KeyMismatchError,
} from "./src/errors.ts";
export { VERSION } from "./src/version.ts";
