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
    requests: { list: 1, get: 3, put: 2, head: 1, delete: 1 },
    bytes: { read: 20, written: 15 },
    errors: { not_found: 1 },
  });
});
