// Forgetting sticks and hostile input stays bounded, under what happens to real stores: a
// manifest rolled back, deleted or zeroed, a whole store restored from a backup, forged seqs
// and claims, tombstones from the future, manifests declaring what does not exist. Each runs
// on a folder store and on MinIO; stores are edited the way someone with access would, and
// forged objects come from a script that holds the key (tests/_forge.ts).

import assert from "node:assert/strict";
import { listQuarantine } from "../../src/vault/quarantine.ts";
import { syncStatus } from "../../src/sync/status.ts";
import {
  forgeManifest,
  forgerKey,
  layout,
  manifestPayload,
  segmentEntry,
  uuid,
} from "../_forge.ts";
import { Clock, type Device } from "./device.ts";
import { storeTest, type TestStore } from "./stores.ts";

const SECRET = "echo forget-me-42";
/** What b ran in the same moment: the forget covers every device's history in its window. */
const B_SECRET = "echo forget-me-too";

interface Forgotten {
  a: Device;
  b: Device;
  clock: Clock;
  key: string;
  vault: string;
  /** Every object of the store before the forget. */
  before: Map<string, Uint8Array>;
}

/** a records a secret; a and b sync; a forgets it; b pulls (and so carries the tombstone). */
async function forgotten(s: TestStore): Promise<Forgotten> {
  const clock = new Clock();
  const a = await s.device("a", clock);
  const b = await s.device("b", clock);
  const key = await a.init(s.uri);
  await b.join(s.uri, key);
  a.record("ls");
  const secretAt = clock.tick();
  a.record(SECRET, { at: secretAt });
  a.record("pwd");
  b.record(B_SECRET, { at: secretAt });
  await a.push();
  await b.pull();
  await b.push();
  assert.ok(b.commands().includes(SECRET) && b.commands().includes(B_SECRET));
  const before = await s.snapshot();
  clock.tick();
  a.forget(secretAt, secretAt);
  await a.push();
  await b.pull();
  assert.ok(!b.commands().includes(SECRET) && !b.commands().includes(B_SECRET));
  // b's manifest now carries the tombstone too, and lists a pack without B_SECRET instead of
  // the segment that held it
  await b.push();
  const vault = a.home.readConfig()!.vault_id;
  return { a, b, clock, key, vault, before };
}

/** A device that joins now and pulls once: it must hold neither secret. */
async function newcomer(s: TestStore, f: Forgotten) {
  const d = await s.device("d", f.clock);
  await d.join(s.uri, f.key);
  const pulled = await d.pull();
  assert.ok(!d.commands().includes(SECRET), "a's forgotten command came back");
  assert.ok(!d.commands().includes(B_SECRET), "b's forgotten command came back");
  return { d, pulled };
}

storeTest(
  "forgotten history stays gone for a new device after the forgetter's manifest is rolled back",
  async (s) => {
    const f = await forgotten(s);
    const key = layout.manifest(f.vault, f.a.vault.nodeId);
    await s.raw.putAtomic(key, f.before.get(key)!); // the pre-forget manifest, replayed
    const { d, pulled } = await newcomer(s, f);
    assert.ok(!d.commands().includes(SECRET));
    assert.deepEqual(d.commands(), ["ls", "pwd"]); // what a published before, still authentic
    // b's manifest says it saw a newer seq of a: the new device reports the rollback at once
    assert.equal(pulled.manifests.rollback, 1);
    // a notices its manifest is older than it knows and republishes with nothing new
    const again = await f.a.push();
    assert.notEqual(again.manifest_seq, null);
    const later = await d.pull();
    assert.equal(later.manifests.rollback, 0);
    assert.deepEqual(d.state(), f.a.state());
  },
);

storeTest(
  "forgotten history stays gone for a new device after the forgetter's manifest is deleted",
  async (s) => {
    const f = await forgotten(s);
    await s.raw.delete(layout.manifest(f.vault, f.a.vault.nodeId));
    const { d, pulled } = await newcomer(s, f);
    assert.ok(!d.commands().includes(SECRET));
    assert.equal(pulled.manifests.missing, 1); // reported by b's claims
    assert.notEqual((await f.a.push()).manifest_seq, null); // a republishes
    await d.pull();
    assert.deepEqual(d.state(), f.a.state());
  },
);

storeTest(
  "forgotten history stays gone for a new device after the forgetter's manifest is zeroed",
  async (s) => {
    const f = await forgotten(s);
    const key = layout.manifest(f.vault, f.a.vault.nodeId);
    await s.raw.putAtomic(key, new Uint8Array());
    const { d } = await newcomer(s, f);
    assert.ok(!d.commands().includes(SECRET));
    assert.deepEqual(listQuarantine(d.vault.db).map((q) => `${q.kind}:${q.category}`), [
      "manifest:corrupt",
    ]);
    assert.notEqual((await f.a.push()).manifest_seq, null); // a rewrites its damaged manifest
    await d.pull();
    assert.deepEqual(listQuarantine(d.vault.db), []);
    assert.deepEqual(d.state(), f.a.state());
  },
);

storeTest(
  "forgotten history stays gone after the whole store is restored from a backup taken before the forget",
  async (s) => {
    const f = await forgotten(s);
    f.b.record("after the backup"); // published after the backup: the restore loses it
    await f.b.push();
    await s.restore(f.before);
    // b, which applied the forget, syncs once: it republishes (tombstone included) and uploads
    // what the restore lost. a, the forgetter, stays offline.
    const push = await f.b.push();
    assert.notEqual(push.manifest_seq, null);
    // the pack that replaced b's segment holding B_SECRET, and the new segment
    assert.equal(push.segments.uploaded, 2);
    const { d, pulled } = await newcomer(s, f);
    assert.ok(!d.commands().includes(SECRET));
    assert.ok(d.commands().includes("after the backup"));
    // the tombstone came before the segments: the secret a's rolled-back manifest still
    // lists was never inserted, only refused
    assert.equal(pulled.events.covered, 1);
    assert.equal(pulled.events.forgotten, 0);
    assert.equal(pulled.manifests.rollback, 1); // a's manifest is older than b saw it
  },
);

storeTest(
  "a forged seq of 2^53-1 is refused, raises no floor, and its owner keeps publishing",
  async (s) => {
    const clock = new Clock();
    const a = await s.device("a", clock);
    const b = await s.device("b", clock);
    const key = await a.init(s.uri);
    await b.join(s.uri, key);
    a.record("one");
    await a.push();
    await b.pull();
    const forger = await forgerKey(key);
    const node = a.vault.nodeId;
    await s.raw.putAtomic(
      layout.manifest(forger.vaultId, node),
      await forgeManifest(forger, node, manifestPayload(forger, node, Number.MAX_SAFE_INTEGER)),
    );
    const pulled = await b.pull();
    assert.equal(pulled.manifests.failed, 1);
    assert.equal(listQuarantine(b.vault.db)[0]?.reason, "future");
    a.record("two");
    const pushed = await a.push(); // a overwrites the forgery with its next seq
    assert.equal(pushed.manifest_seq, 2);
    await b.pull();
    assert.deepEqual(b.commands(), ["one", "two"]);
    assert.deepEqual(listQuarantine(b.vault.db), []);
  },
);

storeTest(
  "a forged claim in another manifest's seen list can only make the owner republish above it",
  async (s) => {
    const clock = new Clock();
    const a = await s.device("a", clock);
    const b = await s.device("b", clock);
    const key = await a.init(s.uri);
    await b.join(s.uri, key);
    a.record("one");
    await a.push();
    const forger = await forgerKey(key);
    const f = uuid();
    const claims = { [a.vault.nodeId]: 1_000_000_000, [b.vault.nodeId]: Number.MAX_SAFE_INTEGER };
    await s.raw.putAtomic(
      layout.manifest(forger.vaultId, f),
      await forgeManifest(
        forger,
        f,
        manifestPayload(forger, f, 1, { seen: { [f]: 1, ...claims } }),
      ),
    );
    const first = await b.pull();
    assert.equal(first.manifests.rollback, 1); // a's manifest now looks older than claimed
    assert.deepEqual(b.commands(), ["one"]); // reported, still imported
    // a sees the claim and republishes above it; b's own floor did not move (the claim above
    // what any device could write was ignored), so b still publishes normally
    const sync = await a.pull();
    assert.equal(sync.republish, true);
    assert.equal((await a.push({ republish: true })).manifest_seq, 1_000_000_001);
    b.record("from b");
    assert.equal((await b.push()).manifest_seq, 1);
    await b.pull();
    assert.deepEqual(b.commands(), ["one", "from b"]);
  },
);

storeTest(
  "a tombstone reaching into the future is deferred and drops no later recording",
  async (s) => {
    const clock = new Clock();
    const b = await s.device("b", clock);
    const key = await b.init(s.uri);
    const forger = await forgerKey(key);
    const f = uuid();
    const now = clock.now;
    const year2099 = Date.UTC(2099, 0, 1);
    const tombstones = [
      // a device whose clock says 2099: valid as written, but not yet for this device
      {
        tombstone_id: uuid(),
        created_by: f,
        created_at: year2099,
        start_ts: now - 3_600_000,
        end_ts: year2099,
        node_id: null,
      },
      // a window that ends after it was made: refused outright
      {
        tombstone_id: uuid(),
        created_by: f,
        created_at: now,
        start_ts: now - 60_000,
        end_ts: now + 86_400_000,
        node_id: null,
      },
    ];
    await s.raw.putAtomic(
      layout.manifest(forger.vaultId, f),
      await forgeManifest(forger, f, manifestPayload(forger, f, 1, { tombstones })),
    );
    const pulled = await b.pull();
    assert.equal(pulled.tombstones.deferred, 1);
    assert.equal(pulled.tombstones.refused, 1);
    b.record("still recorded");
    clock.tick(3_600_000);
    b.record("an hour later");
    await b.pull();
    assert.deepEqual(b.commands(), ["still recorded", "an hour later"]);
    const status = syncStatus(b.home, b.vault);
    assert.equal(status.pending.deferred_tombstones, 1);
  },
);

storeTest(
  "quarantine backs off, bounds retries per pull, summarises, and heals when nothing declares the objects",
  async (s) => {
    const clock = new Clock();
    const b = await s.device("b", clock);
    const key = await b.init(s.uri);
    const forger = await forgerKey(key);
    const f = uuid();
    const bogus = Array.from(
      { length: 600 },
      (_, i) =>
        segmentEntry({
          segment_id: uuid(),
          sha256: "ab".repeat(32),
          bytes: 100,
          no: i + 1,
          at: clock.now,
        }),
    );
    const put = async (seq: number, segments: Record<string, unknown>[]) =>
      await s.raw.putAtomic(
        layout.manifest(forger.vaultId, f),
        await forgeManifest(forger, f, manifestPayload(forger, f, seq, { segments })),
      );
    await put(1, bogus);
    const first = await b.pull();
    assert.equal(first.segments.failed, 600); // each tried once
    const second = await b.pull();
    assert.equal(second.segments.waiting, 600);
    assert.equal(second.requests.get, 0); // nothing fetched while backing off
    clock.tick(61_000);
    const third = await b.pull();
    assert.equal(third.requests.get, 256); // at most 256 retries per pull
    const status = syncStatus(b.home, b.vault);
    assert.equal(status.quarantine.total, 600);
    assert.deepEqual(status.quarantine.by_category, { not_found: 600 });
    assert.equal(status.quarantine.first.length, 5);
    await put(2, []); // the manifest no longer declares them
    await b.pull();
    assert.equal((syncStatus(b.home, b.vault)).quarantine.total, 0);
  },
);

storeTest(
  "a manifest declaring more segments than the bound is refused without fetching any",
  async (s) => {
    const clock = new Clock();
    const b = await s.device("b", clock);
    const key = await b.init(s.uri);
    const forger = await forgerKey(key);
    const f = uuid();
    const segments = Array.from(
      { length: 20_001 },
      (_, i) =>
        segmentEntry({ segment_id: uuid(), sha256: "cd".repeat(32), bytes: 1, no: i + 1, at: 0 }),
    );
    await s.raw.putAtomic(
      layout.manifest(forger.vaultId, f),
      await forgeManifest(forger, f, manifestPayload(forger, f, 1, { segments })),
    );
    const pulled = await b.pull();
    assert.equal(pulled.manifests.failed, 1);
    assert.equal(pulled.requests.get, 1); // the manifest, nothing it declares
    assert.equal(listQuarantine(b.vault.db)[0]?.reason, "bad_payload");
  },
);

storeTest(
  "a join with a passphrase tries at most the four newest key slots, however many are planted",
  async (s) => {
    const clock = new Clock();
    const a = await s.device("a", clock);
    await a.init(s.uri);
    const { createKeySlot } = await import("../../src/crypto/key_slot.ts");
    const { VaultKey } = await import("../../src/crypto/vault_key.ts");
    const vault = a.home.readConfig()!.vault_id;
    const planted = await VaultKey.generate(); // someone else's key, someone else's passphrase
    for (let i = 0; i < 12; i++) {
      const { slotId, bytes } = await createKeySlot(planted, vault, `not the passphrase ${i}`, {
        kdf: { name: "scrypt", N: 2 ** 10, r: 8, p: 1 },
      });
      await s.raw.putAtomic(`vaults/${vault}/keys/${slotId}.hxkey`, bytes);
    }
    const { joinVault } = await import("../../src/sync/setup.ts");
    const { Meter } = await import("../../src/store/metered.ts");
    const d = await s.device("d", clock);
    const meter = new Meter();
    await assert.rejects(
      joinVault(d.home, {
        store: s.uri,
        vaultId: vault,
        passphrase: "correct horse battery",
        storeOptions: { ...s.storeOptions, meter },
      }),
      (e: Error) => /none of the 4 newest of 12 key slots/.test(e.message),
    );
    assert.equal(meter.snapshot().requests.get, 5); // the descriptor and four slots
    assert.equal(d.home.readConfig(), null); // nothing written
  },
);
