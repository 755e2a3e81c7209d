import { runStoreConformance } from "../../testing/mod.ts";
import { MemoryStore } from "../../src/store/memory.ts";

Deno.test("MemoryStore passes the store conformance suite", (t) =>
  runStoreConformance(t, { open: () => new MemoryStore("memory:test") }));
