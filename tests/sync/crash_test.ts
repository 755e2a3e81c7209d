import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../src/store/open.ts";
import { StoreError } from "../../src/store/errors.ts";
import type { SyncStore } from "../../src/store/types.ts";
import { registerScheme } from "../../src/store/registry.ts";
import { listQuarantine } from "../../src/vault/quarantine.ts";
import { joinedPair } from "./device.ts";

/**
 * A store scheme `crashy:` that forwards to a folder and "dies" at the Nth write: either
 * before the write reaches the folder or right after it landed (the answer is lost).
 */
const plan = { failAt: -1, mode: "before" as "before" | "after", writes: 0, root: "" };

registerScheme<{ path: string }>({
  scheme: "crashy",
  example: "crashy:/path",
  parse: (uri) => ({ path: uri.slice("crashy:".length) }),
  redact: (c) => `crashy:${c.path}`,
  async open(c) {
    const inner = await openStore(`folder:${c.path}`, { retry: false });
    const crash = () =>
      new StoreError("network", "Cannot put: the process was killed", { retryable: false });
    const store: SyncStore = {
      name: "crashy",
      capabilities: inner.capabilities,
      list: (p, o) => inner.list(p, o),
      get: (k, o) => inner.get(k, o),
      getIfChanged: (k, e, o) => inner.getIfChanged(k, e, o),
      getStream: (k, o) => inner.getStream(k, o),
      stat: (k, o) => inner.stat(k, o),
      delete: (k, o) => inner.delete(k, o),
      async putAtomic(k, d, o) {
        const n = plan.writes++;
        if (n === plan.failAt && plan.mode === "before") throw crash();
        const result = await inner.putAtomic(k, d, o);
        if (n === plan.failAt && plan.mode === "after") throw crash();
        return result;
      },
    };
    return store;
  },
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) {
        out.push(...(await filesUnder(join(dir, e.name))).map((f) => `${e.name}/${f}`));
      } else out.push(e.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

Deno.test("a push killed at any write, before or after it lands, leaves a valid store; the next push completes without duplicates", async () => {
  for (const mode of ["before", "after"] as const) {
    for (let failAt = 0;; failAt++) {
      const pair = await joinedPair();
      const { store, clock, a, b } = pair;
      try {
        for (let i = 0; i < 7; i++) a.record(`cmd ${i}`);
        a.forget(clock.now - 1500, clock.now - 500); // one tombstone to publish too
        // Switch a to the crashing store: same folder, dies at write number `failAt`.
        const config = a.home.readConfig()!;
        await a.home.writeConfig({ ...config, store: `crashy:${store.path}` });
        plan.failAt = failAt;
        plan.mode = mode;
        plan.writes = 0;
        let crashed = false;
        try {
          await a.push({ maxSegmentEvents: 2, concurrency: 1 });
        } catch (err) {
          assert.match(String(err), /killed/);
          crashed = true;
        }
        // The store is valid right now: another device pulls without a single failure.
        const mid = await b.pull();
        assert.deepEqual(mid.errors, {}, `${mode} ${failAt}`);
        assert.equal(listQuarantine(b.vault.db).length, 0);
        // Restart (new process) and push again, without crashing.
        a.reopen();
        plan.failAt = -1;
        await a.push({ maxSegmentEvents: 2, concurrency: 1 });
        await b.pull();
        assert.deepEqual(b.state(), a.state(), `${mode} ${failAt}`);
        assert.equal(b.state().length, 6, `${mode} ${failAt}`);
        // No duplicate objects: every segment in the store is one the manifest lists.
        const vaultId = config.vault_id;
        const segDir = join(store.path, "vaults", vaultId, "objects", "segments", a.vault.nodeId);
        const onDisk = (await filesUnder(segDir)).map((f) => f.replace(/\.hxseg$/, ""));
        const declared = a.vault.db.all<{ segment_id: string }>("SELECT segment_id FROM segments")
          .map((r) => r.segment_id).sort();
        assert.deepEqual(onDisk, declared, `${mode} ${failAt}`);
        assert.equal(new Set(declared).size, declared.length);
        if (!crashed) break; // failAt went past the last write: every step was covered
      } finally {
        await pair.dispose();
      }
    }
  }
});
