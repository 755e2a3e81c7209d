/**
 * Test helpers for people who write their own hx store backend: the conformance suite that
 * every built-in backend passes.
 *
 * @example
 * ```ts
 * import { runStoreConformance } from "./mod.ts";
 * import { MemoryStore } from "../src/store/memory.ts";
 * Deno.test("MemoryStore conforms", (t) => runStoreConformance(t, { open: () => new MemoryStore() }));
 * ```
 *
 * @module
 */

export { type ConformanceOptions, runStoreConformance } from "./store_conformance.ts";
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
  Retrier,
  RetryContext,
  StoreCapabilities,
  StreamResult,
  SyncStore,
} from "../src/store/types.ts";
