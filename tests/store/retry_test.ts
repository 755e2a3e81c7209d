import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory.ts";
import { StoreError } from "../../src/store/errors.ts";
import { withRetry } from "../../src/store/retry.ts";
import type { ObjectInfo, SyncStore } from "../../src/store/types.ts";

/** A store whose calls fail with the given errors, in order, before reaching memory. */
function flaky(failures: StoreError[]): { store: SyncStore; calls: () => number } {
  const inner = new MemoryStore();
  let calls = 0;
  const next = () => {
    calls++;
    const err = failures.shift();
    if (err !== undefined) throw err;
  };
  const store: SyncStore = {
    name: inner.name,
    capabilities: inner.capabilities,
    async *list(prefix, opts) {
      next();
      yield* inner.list(prefix, opts);
    },
    get: (k, o) => Promise.resolve().then(next).then(() => inner.get(k, o)),
    getStream: (k, o) => Promise.resolve().then(next).then(() => inner.getStream(k, o)),
    putAtomic: (k, d, o) => Promise.resolve().then(next).then(() => inner.putAtomic(k, d, o)),
    stat: (k, o) => Promise.resolve().then(next).then(() => inner.stat(k, o)),
    delete: (k, o) => Promise.resolve().then(next).then(() => inner.delete(k, o)),
  };
  return { store, calls: () => calls };
}

const throttled = () => new StoreError("throttled", "SlowDown", { status: 503 });

Deno.test("withRetry() retries throttled, timeout and network failures with capped, jittered backoff", async () => {
  const { store, calls } = flaky([
    throttled(),
    new StoreError("timeout", "t"),
    new StoreError("network", "n"),
    throttled(),
  ]);
  const sleeps: number[] = [];
  const retrying = withRetry(store, {
    attempts: 5,
    baseMs: 100,
    capMs: 300,
    random: () => 0.5,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  await retrying.putAtomic("k", new Uint8Array([1]));
  assert.equal(calls(), 5);
  // full jitter: random * min(cap, base * 2^n) with random = 0.5
  assert.deepEqual(sleeps, [50, 100, 150, 150]);
});

Deno.test("withRetry() never retries auth, not_found, corrupt or invalid_input", async () => {
  for (const category of ["auth", "not_found", "corrupt", "invalid_input"] as const) {
    const { store, calls } = flaky([new StoreError(category, category)]);
    const retrying = withRetry(store, { sleep: () => Promise.resolve() });
    await assert.rejects(retrying.get("k"), (e: StoreError) => e.category === category);
    assert.equal(calls(), 1, category);
  }
});

Deno.test("withRetry() gives up after the configured attempts with the last error", async () => {
  const { store, calls } = flaky([throttled(), throttled(), throttled(), throttled()]);
  const retrying = withRetry(store, { attempts: 3, sleep: () => Promise.resolve() });
  await assert.rejects(retrying.stat("k"), (e: StoreError) => e.category === "throttled");
  assert.equal(calls(), 3);
});

Deno.test("withRetry() stops waiting as soon as the signal aborts", async () => {
  const { store, calls } = flaky([throttled(), throttled()]);
  const retrying = withRetry(store, { baseMs: 60_000, capMs: 60_000, random: () => 0.99 });
  const controller = new AbortController();
  const started = Date.now();
  const pending = retrying.delete("k", { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("user cancelled")), 20);
  await assert.rejects(pending, /user cancelled/);
  assert.equal(calls(), 1);
  assert.ok(Date.now() - started < 5_000);
});

Deno.test("withRetry() restarts a failed listing without yielding a key twice", async () => {
  const { store } = flaky([]);
  for (const k of ["p/a", "p/b", "p/c", "p/d"]) await store.putAtomic(k, new Uint8Array([1]));
  const inner = store;
  let failedOnce = false;
  const midFail: SyncStore = {
    ...inner,
    name: inner.name,
    capabilities: inner.capabilities,
    async *list(prefix, opts) {
      let i = 0;
      for await (const info of inner.list(prefix, opts)) {
        yield info;
        if (++i === 2 && !failedOnce) {
          failedOnce = true;
          throw new StoreError("network", "connection reset");
        }
      }
    },
  };
  const keys: string[] = [];
  for await (const info of withRetry(midFail, { sleep: () => Promise.resolve() }).list("p/")) {
    keys.push((info as ObjectInfo).key);
  }
  assert.ok(failedOnce);
  assert.deepEqual(keys.sort(), ["p/a", "p/b", "p/c", "p/d"]);
});

Deno.test("withRetry() does not replay a streamed body", async () => {
  const { store, calls } = flaky([throttled()]);
  const retrying = withRetry(store, { sleep: () => Promise.resolve() });
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array([1]));
      c.close();
    },
  });
  await assert.rejects(
    retrying.putAtomic("k", body),
    (e: StoreError) => e.category === "throttled",
  );
  assert.equal(calls(), 1);
});
