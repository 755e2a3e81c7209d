import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory.ts";
import { Meter, withMetering } from "../../src/store/metered.ts";

Deno.test("withMetering() counts calls by operation, bytes, and failures by category", async () => {
  const meter = new Meter();
  const store = withMetering(new MemoryStore(), meter);
  await store.putAtomic("a/1", new Uint8Array(10));
  await store.putAtomic("a/2", new Uint8Array(5));
  await Array.fromAsync(store.list("a/"));
  await store.get("a/1");
  await store.stat("a/2");
  await store.delete("a/2");
  await assert.rejects(store.get("a/missing"));
  const { stream } = await store.getStream("a/1");
  await Array.fromAsync(stream);
  assert.deepEqual(meter.snapshot(), {
    requests: {
      list: 1,
      get: 3,
      put: 2,
      head: 1,
      delete: 1,
      create: 0,
      part: 0,
      complete: 0,
      abort: 0,
    },
    retries: {},
    bytes: { read: 20, written: 15 },
    errors: { not_found: 1 },
  });
});

Deno.test("openStore() counts each retry on the meter by the category that caused it", async () => {
  const { openStore } = await import("../../src/store/open.ts");
  const { registerScheme } = await import("../../src/store/registry.ts");
  const { StoreError } = await import("../../src/store/errors.ts");
  const inner = new MemoryStore("flaky:");
  let failures = 2;
  registerScheme({
    scheme: "flaky-meter-test",
    example: "flaky-meter-test:",
    parse: () => ({}),
    redact: () => "flaky-meter-test:",
    open: () => ({
      ...inner,
      name: inner.name,
      capabilities: inner.capabilities,
      list: (p, o) => inner.list(p, o),
      get: (k, o) => inner.get(k, o),
      getIfChanged: (k, e, o) => inner.getIfChanged(k, e, o),
      getStream: (k, o) => inner.getStream(k, o),
      putAtomic: (k, d, o) => inner.putAtomic(k, d, o),
      delete: (k, o) => inner.delete(k, o),
      stat(k, o) {
        if (failures-- > 0) return Promise.reject(new StoreError("throttled", "SlowDown"));
        return inner.stat(k, o);
      },
    }),
  });
  const meter = new Meter();
  const store = await openStore("flaky-meter-test:", {
    meter,
    retry: { sleep: () => Promise.resolve() },
  });
  await store.stat("k");
  const snap = meter.snapshot();
  assert.deepEqual(snap.retries, { throttled: 2 });
  assert.equal(snap.requests.head, 3);
  assert.deepEqual(snap.errors, { throttled: 2 });
});
