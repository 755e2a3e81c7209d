/**
 * The conformance suite every {@linkcode SyncStore} must pass. Backends written outside
 * hx can run it too:
 *
 * ```ts ignore
 * import { runStoreConformance } from "@hx/hx/testing";
 * Deno.test("MyStore conforms", (t) => runStoreConformance(t, { open: () => new MyStore() }));
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { StoreError } from "../src/store/errors.ts";
import type { ObjectInfo, ReplayableBody, SyncStore } from "../src/store/types.ts";

/** How the suite gets a store to test. */
export interface ConformanceOptions {
  /** Returns an empty store (or one scoped to a fresh prefix) for one case. */
  open(): SyncStore | Promise<SyncStore>;
  /** Called after each case with the store it used. */
  cleanup?(store: SyncStore): void | Promise<void>;
  /** How many keys the paging case writes; above 1000 to cross S3's page size. */
  manyKeys?: number;
  /** Size of the object the streaming case writes, in bytes. */
  largeBytes?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function keysOf(store: SyncStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys.sort();
}

async function read(store: SyncStore, key: string): Promise<Uint8Array> {
  return (await store.get(key)).data;
}

async function category(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${err}`);
    return err.category;
  }
  throw new assert.AssertionError({ message: "expected the call to reject" });
}

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A replayable body of chunks, failing after `failAfter` chunks if given. */
function bodyOf(chunks: Uint8Array[], failAfter?: number, size?: number): ReplayableBody {
  return { open: () => streamOf(chunks, failAfter), ...(size === undefined ? {} : { size }) };
}

function streamOf(chunks: Uint8Array[], failAfter?: number): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (failAfter !== undefined && i === failAfter) {
        controller.error(new Error("source failed"));
        return;
      }
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

type Case = [name: string, run: (store: SyncStore, opts: ConformanceOptions) => Promise<void>];

const CASES: Case[] = [
  ["putAtomic() then get() returns the same bytes, including empty objects", async (store) => {
    const payload = bytes(70_000);
    await store.putAtomic("c/round/binary.bin", payload);
    await store.putAtomic("c/round/empty", new Uint8Array());
    assert.deepEqual(await read(store, "c/round/binary.bin"), payload);
    assert.equal((await read(store, "c/round/empty")).byteLength, 0);
  }],
  [
    "get(), getIfChanged() and getStream() of a missing key reject with not_found; stat() gives null",
    async (store) => {
      assert.equal(await category(store.get("c/missing/x")), "not_found");
      assert.equal(await category(store.getIfChanged("c/missing/x", '"x"')), "not_found");
      assert.equal(await category(store.getStream("c/missing/x")), "not_found");
      assert.equal(await store.stat("c/missing/x"), null);
    },
  ],
  ["putAtomic() over an existing key replaces it and changes its etag", async (store) => {
    await store.putAtomic("c/over/k", enc.encode("first"));
    const before = await store.stat("c/over/k");
    await store.putAtomic("c/over/k", enc.encode("second, longer"));
    const after = await store.stat("c/over/k");
    assert.equal(dec.decode(await read(store, "c/over/k")), "second, longer");
    assert.equal(after?.size, 14);
    if (before?.etag !== undefined && after?.etag !== undefined) {
      assert.notEqual(before.etag, after.etag);
    }
    assert.deepEqual(await keysOf(store, "c/over/"), ["c/over/k"]);
  }],
  ["stat() reports the size and the same etag as get() and putAtomic()", async (store) => {
    const put = await store.putAtomic("c/stat/k", bytes(1234));
    const info = await store.stat("c/stat/k");
    if (put.etag !== undefined) assert.equal(put.etag, info?.etag);
    assert.equal(info?.key, "c/stat/k");
    assert.equal(info?.size, 1234);
    const got = await store.get("c/stat/k");
    assert.equal(got.etag, info?.etag);
  }],
  ["list() yields each key under the prefix once, and only those", async (store) => {
    for (const key of ["c/list/a/1", "c/list/a/2", "c/list/ab", "c/list/b/1", "c/lists"]) {
      await store.putAtomic(key, enc.encode(key));
    }
    assert.deepEqual(await keysOf(store, "c/list/a/"), ["c/list/a/1", "c/list/a/2"]);
    assert.deepEqual(await keysOf(store, "c/list/a"), ["c/list/a/1", "c/list/a/2", "c/list/ab"]);
    assert.deepEqual(await keysOf(store, "c/list/"), [
      "c/list/a/1",
      "c/list/a/2",
      "c/list/ab",
      "c/list/b/1",
    ]);
    assert.deepEqual(await keysOf(store, "c/nothing/"), []);
    const infos: ObjectInfo[] = [];
    for await (const info of store.list("c/list/b/")) infos.push(info);
    assert.equal(infos[0]?.size, "c/list/b/1".length);
  }],
  [
    "keys with spaces, unicode, '+', '%', '=' and '&' round trip through put, list and get",
    async (store) => {
      const keys = [
        "c/odd/with space.hx",
        "c/odd/plus+sign",
        "c/odd/percent%20literal",
        "c/odd/ünïcødé/日本語/🙂",
        "c/odd/a=b&c=d;e,f'g(h)",
        "c/odd/trailing space ",
        "c/odd/00123",
        "c/odd/~tilde!*",
      ];
      for (const key of keys) await store.putAtomic(key, enc.encode(key));
      assert.deepEqual(await keysOf(store, "c/odd/"), [...keys].sort());
      for (const key of keys) assert.equal(dec.decode(await read(store, key)), key);
      assert.deepEqual(await keysOf(store, "c/odd/plus+"), ["c/odd/plus+sign"]);
      assert.deepEqual(await keysOf(store, "c/odd/with "), ["c/odd/with space.hx"]);
    },
  ],
  ["list() pages through more keys than one listing page holds", async (store, opts) => {
    const n = opts.manyKeys ?? 1100;
    const want: string[] = [];
    for (let i = 0; i < n; i++) want.push(`c/many/${String(i).padStart(5, "0")}`);
    const queue = [...want];
    const workers = Array.from({ length: 16 }, async () => {
      for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
        await store.putAtomic(key, new Uint8Array([1]));
      }
    });
    await Promise.all(workers);
    const got = await keysOf(store, "c/many/");
    assert.equal(got.length, n);
    assert.deepEqual(got, want);
  }],
  [
    "getIfChanged() of the current etag gives null, and the new bytes once changed",
    async (store) => {
      await store.putAtomic("c/cond/k", enc.encode("v1"));
      const etag = (await store.get("c/cond/k")).etag;
      if (etag === undefined || !store.capabilities.conditionalGet) return;
      assert.equal(await store.getIfChanged("c/cond/k", etag), null);
      await store.putAtomic("c/cond/k", enc.encode("v2"));
      const second = await store.getIfChanged("c/cond/k", etag);
      assert.equal(dec.decode(second!.data), "v2");
      assert.notEqual(second!.etag, etag);
    },
  ],
  ["putAtomic() with ifAbsent writes once and then rejects with precondition", async (store) => {
    await store.putAtomic("c/absent/k", enc.encode("first"), { ifAbsent: true });
    assert.equal(
      await category(store.putAtomic("c/absent/k", enc.encode("second"), { ifAbsent: true })),
      "precondition",
    );
    assert.equal(dec.decode(await read(store, "c/absent/k")), "first");
  }],
  ["delete() removes an object and is idempotent", async (store) => {
    await store.putAtomic("c/del/k", enc.encode("x"));
    await store.delete("c/del/k");
    await store.delete("c/del/k");
    await store.delete("c/del/never-existed");
    assert.equal(await store.stat("c/del/k"), null);
    assert.equal(await category(store.get("c/del/k")), "not_found");
    assert.deepEqual(await keysOf(store, "c/del/"), []);
  }],
  ["concurrent writers of one key leave exactly one writer's bytes, whole", async (store) => {
    const payloads = Array.from({ length: 8 }, (_, i) => bytes(50_000 + i * 1000, i + 7));
    await Promise.all(payloads.map((p) => store.putAtomic("c/race/k", p)));
    const got = await read(store, "c/race/k");
    assert.ok(
      payloads.some((p) => p.byteLength === got.byteLength && p.every((b, i) => got[i] === b)),
    );
    assert.deepEqual(await keysOf(store, "c/race/"), ["c/race/k"]);
  }],
  ["an aborted or failing put leaves nothing visible at the key", async (store) => {
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(store.putAtomic("c/abort/a", enc.encode("x"), { signal: aborted.signal }));
    const failing = bodyOf([bytes(10_000), bytes(10_000, 2), bytes(10_000, 3)], 2);
    await assert.rejects(store.putAtomic("c/abort/b", failing));
    const midway = new AbortController();
    const slow: ReplayableBody = {
      open: () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes(10_000));
          },
          pull() {
            midway.abort();
            return new Promise(() => {}); // never delivers more
          },
        }),
    };
    await assert.rejects(store.putAtomic("c/abort/c", slow, { signal: midway.signal }));
    for (const key of ["c/abort/a", "c/abort/b", "c/abort/c"]) {
      assert.equal(await store.stat(key), null, key);
    }
    assert.deepEqual(await keysOf(store, "c/abort/"), []);
    const gone = new AbortController();
    gone.abort();
    await assert.rejects(store.get("c/abort/a", { signal: gone.signal }));
  }],
  ["get() and getStream() refuse objects above maxBytes with too_large", async (store) => {
    await store.putAtomic("c/big/k", bytes(4096));
    assert.equal(await category(store.get("c/big/k", { maxBytes: 4095 })), "too_large");
    assert.equal((await read(store, "c/big/k")).byteLength, 4096);
    assert.equal((await store.get("c/big/k", { maxBytes: 4096 })).data.byteLength, 4096);
    let streamFailure = "none";
    try {
      const { stream } = await store.getStream("c/big/k", { maxBytes: 100 });
      await drain(stream);
    } catch (err) {
      streamFailure = err instanceof StoreError ? err.category : String(err);
    }
    assert.equal(streamFailure, "too_large");
  }],
  ["streamed puts and getStream() round trip a large object", async (store, opts) => {
    const size = opts.largeBytes ?? 3 * 1024 * 1024 + 17;
    const payload = bytes(size, 99);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < size; at += 256 * 1024) {
      chunks.push(payload.subarray(at, at + 256 * 1024));
    }
    let progress = 0;
    await store.putAtomic("c/stream/k", bodyOf(chunks, undefined, size), {
      onProgress: (done) => (progress = done),
    });
    await store.putAtomic("c/stream/unsized", bodyOf(chunks));
    assert.equal((await store.stat("c/stream/unsized"))?.size, size);
    assert.equal(progress, size);
    const { stream, info } = await store.getStream("c/stream/k");
    assert.equal(info.size, size);
    const got = await drain(stream);
    assert.equal(got.byteLength, size);
    assert.ok(got.every((b, i) => payload[i] === b));
  }],
  ["invalid keys and prefixes are rejected with invalid_input before any I/O", async (store) => {
    const bad = [
      "",
      "/abs",
      "a/../b",
      "..",
      "a/./b",
      "a//b",
      "a/",
      "a\\b",
      "a\0b",
      "k".repeat(1025),
      "é".repeat(513),
    ];
    for (const key of bad) {
      assert.equal(await category(store.putAtomic(key, enc.encode("x"))), "invalid_input", key);
      assert.equal(await category(store.get(key)), "invalid_input", key);
      assert.equal(await category(store.stat(key)), "invalid_input", key);
      assert.equal(await category(store.delete(key)), "invalid_input", key);
    }
    for (const prefix of ["../", "a/../", "/a", "a//"]) {
      assert.equal(await category(Array.fromAsync(store.list(prefix))), "invalid_input", prefix);
    }
    assert.equal((await keysOf(store, "")).filter((k) => k.includes("..")).length, 0);
  }],
];

/**
 * Runs every conformance case as a step of the given test, each on a store from
 * `opts.open()`.
 *
 * @param t The test context the steps are added to.
 * @param opts How to open and clean up a store.
 * @returns When every step has run.
 *
 * @example Memory store
 * ```ts
 * import { runStoreConformance } from "./store_conformance.ts";
 * import { MemoryStore } from "../src/store/memory.ts";
 * Deno.test("MemoryStore conforms", (t) => runStoreConformance(t, { open: () => new MemoryStore() }));
 * ```
 */
export async function runStoreConformance(
  t: Deno.TestContext,
  opts: ConformanceOptions,
): Promise<void> {
  for (const [name, run] of CASES) {
    await t.step(name, async () => {
      const store = await opts.open();
      try {
        await run(store, opts);
      } finally {
        await opts.cleanup?.(store);
      }
    });
  }
}
