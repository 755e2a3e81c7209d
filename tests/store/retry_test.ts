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
    getIfChanged: (k, e, o) => Promise.resolve().then(next).then(() => inner.getIfChanged(k, e, o)),
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

Deno.test("withRetry() replays a streamed body by opening it again", async () => {
  // A backend that reads the whole body, then fails twice (a reset after the upload).
  const inner = new MemoryStore();
  let failures = 2;
  const store: SyncStore = {
    ...flaky([]).store,
    async putAtomic(k, d, o) {
      const result = await inner.putAtomic(k, d, o);
      if (failures-- > 0) throw throttled();
      return result;
    },
  };
  const retrying = withRetry(store, { sleep: () => Promise.resolve() });
  let opened = 0;
  await retrying.putAtomic("k", {
    open: () => {
      opened++;
      return new Blob([new Uint8Array([7, 8, opened])]).stream();
    },
  });
  assert.equal(opened, 3);
  assert.deepEqual([...(await inner.get("k")).data], [7, 8, 3]);
});

Deno.test("withRetry() stops retrying once its time budget is spent, cutting the last wait", async () => {
  const { store, calls } = flaky(Array.from({ length: 10 }, throttled));
  let now = 0;
  const sleeps: number[] = [];
  const retrying = withRetry(store, {
    attempts: 10,
    baseMs: 1000,
    capMs: 1000,
    budgetMs: 2500,
    random: () => 0.99,
    now: () => now,
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  });
  await assert.rejects(retrying.get("k"), (e: StoreError) => e.category === "throttled");
  assert.deepEqual(sleeps, [990, 990, 520]);
  assert.equal(calls(), 4);
});

Deno.test("a put-if-absent whose retry meets precondition succeeds if the object there is its own", async () => {
  // The first attempt lands, but its answer is lost (the call fails as a network error).
  const inner = new MemoryStore();
  let lose = true;
  const lossy: SyncStore = {
    ...inner,
    name: inner.name,
    capabilities: inner.capabilities,
    list: (p, o) => inner.list(p, o),
    get: (k, o) => inner.get(k, o),
    getIfChanged: (k, e, o) => inner.getIfChanged(k, e, o),
    getStream: (k, o) => inner.getStream(k, o),
    stat: (k, o) => inner.stat(k, o),
    delete: (k, o) => inner.delete(k, o),
    async putAtomic(k, d, o) {
      const result = await inner.putAtomic(k, d, o);
      if (lose) {
        lose = false;
        throw new StoreError("network", "connection reset after the write");
      }
      return result;
    },
  };
  const retrying = withRetry(lossy, { sleep: () => Promise.resolve() });
  const mine = new TextEncoder().encode("descriptor");
  await retrying.putAtomic("vault", mine, { ifAbsent: true });
  assert.deepEqual((await inner.get("vault")).data, mine);
  // Someone else's object at the key is still a precondition failure.
  await assert.rejects(
    retrying.putAtomic("vault", new TextEncoder().encode("another"), { ifAbsent: true }),
    (e: StoreError) => e.category === "precondition",
  );
});

Deno.test("withRetry() refuses invalid options with a RangeError naming the option", () => {
  assert.throws(
    () => withRetry(new MemoryStore(), { attempts: 0 }),
    /'attempts' must be a positive integer/,
  );
  assert.throws(() => withRetry(new MemoryStore(), { attempts: 1.5 }), /'attempts'/);
  assert.throws(() => withRetry(new MemoryStore(), { budgetMs: -1 }), /'budgetMs'/);
});
