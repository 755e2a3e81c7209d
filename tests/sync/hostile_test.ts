import assert from "node:assert/strict";
import { join } from "node:path";
import { listQuarantine } from "../../src/vault/quarantine.ts";
import { syncStatus } from "../../src/sync/status.ts";
import { manifestKey, segmentKey } from "../../src/object/keys.ts";
import type { HxError } from "../../src/errors.ts";
import { Device, joinedPair } from "./device.ts";

interface Fixture {
  a: Device;
  b: Device;
  storePath: string;
  storeUri: string;
  key: string;
  vaultId: string;
  dispose(): Promise<void>;
}

/** Device a publishes `segments` segments of 2 events each; b joined but has not pulled. */
async function fixture(segments = 3): Promise<Fixture> {
  const { store, a, b, key, dispose } = await joinedPair();
  for (let i = 0; i < segments * 2; i++) a.record(`a-cmd ${i}`);
  await a.push({ maxSegmentEvents: 2 });
  const vaultId = a.home.readConfig()!.vault_id;
  return {
    a,
    b,
    storePath: store.path,
    storeUri: store.uri,
    key,
    vaultId,
    dispose,
  };
}

function segmentFiles(f: Fixture): string[] {
  const ids = f.a.vault.db.all<{ segment_id: string }>(
    "SELECT segment_id FROM segments ORDER BY created_at, segment_id",
  );
  return ids.map(({ segment_id }) =>
    join(f.storePath, segmentKey(f.vaultId, f.a.vault.nodeId, segment_id))
  );
}

function quarantined(d: Device): { kind: string; category: string; reason: string | null }[] {
  return listQuarantine(d.vault.db).map((q) => ({
    kind: q.kind,
    category: q.category,
    reason: q.reason,
  }));
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await walk(p));
    else out.push(p);
  }
  return out;
}

Deno.test("truncated and bit-flipped segments are quarantined as hash_mismatch; the valid one imports", async () => {
  const f = await fixture(3);
  try {
    const [s1, s2] = segmentFiles(f);
    const bytes1 = await Deno.readFile(s1!);
    await Deno.writeFile(s1!, bytes1.subarray(0, bytes1.length - 20));
    const bytes2 = await Deno.readFile(s2!);
    bytes2[bytes2.length - 5]! ^= 0x10;
    await Deno.writeFile(s2!, bytes2);
    const result = await f.b.pull();
    assert.equal(result.segments.imported, 1);
    assert.equal(result.segments.failed, 2);
    assert.deepEqual(f.b.commands(), ["a-cmd 4", "a-cmd 5"]);
    assert.deepEqual(quarantined(f.b), [
      { kind: "segment", category: "hash_mismatch", reason: "hash_mismatch" },
      { kind: "segment", category: "hash_mismatch", reason: "hash_mismatch" },
    ]);
    const status = listQuarantine(f.b.vault.db);
    assert.match(status[0]!.message, /SHA-256/);
  } finally {
    await f.dispose();
  }
});

Deno.test("quarantined objects are retried after a backoff and import once repaired", async () => {
  const f = await fixture(2);
  try {
    const [s1] = segmentFiles(f);
    const good = await Deno.readFile(s1!);
    await Deno.writeFile(s1!, good.subarray(0, 10));
    await f.b.pull();
    assert.equal(listQuarantine(f.b.vault.db).length, 1);
    assert.equal(f.b.commands().length, 2);
    await Deno.writeFile(s1!, good); // e.g. Syncthing finished copying it
    const soon = await f.b.pull();
    assert.equal(soon.segments.waiting, 1); // backing off: not fetched again at once
    assert.equal(soon.requests.get, 0);
    f.b.clock.tick(61_000); // the first backoff is a minute
    const again = await f.b.pull();
    assert.equal(again.segments.imported, 1);
    assert.equal(listQuarantine(f.b.vault.db).length, 0);
    assert.equal(f.b.commands().length, 4);
  } finally {
    await f.dispose();
  }
});

Deno.test("a segment declared but not yet in the store (sync tools deliver in any order) is quarantined as not_found, then imported", async () => {
  const f = await fixture(2);
  try {
    const [s1] = segmentFiles(f);
    const good = await Deno.readFile(s1!);
    await Deno.remove(s1!);
    await f.b.pull();
    assert.deepEqual(quarantined(f.b), [{ kind: "segment", category: "not_found", reason: null }]);
    await Deno.writeFile(s1!, good);
    f.b.clock.tick(61_000);
    await f.b.pull();
    assert.deepEqual(quarantined(f.b), []);
    assert.equal(f.b.commands().length, 4);
  } finally {
    await f.dispose();
  }
});

Deno.test("oversized segments are refused with too_large without being read whole", async () => {
  const f = await fixture(2);
  try {
    const [s1] = segmentFiles(f);
    const size = (await Deno.stat(s1!)).size;
    const result = await f.b.pull({ maxObjectBytes: size - 1 });
    assert.ok(result.errors.too_large! >= 1);
    assert.ok(quarantined(f.b).some((q) => q.category === "too_large"));
  } finally {
    await f.dispose();
  }
});

Deno.test("a scan (no manifest hashes) rejects bit-flipped and header-tampered segments by authentication", async () => {
  const f = await fixture(3);
  try {
    const [s1, s2] = segmentFiles(f);
    const b1 = await Deno.readFile(s1!);
    b1[b1.length - 3]! ^= 0x01; // body
    await Deno.writeFile(s1!, b1);
    const b2 = await Deno.readFile(s2!);
    const text = new TextDecoder("latin1").decode(b2);
    const at = text.indexOf('"created_at":"') + '"created_at":"2'.length;
    b2[at] = b2[at] === 0x30 ? 0x31 : 0x30; // still valid JSON, different year
    await Deno.writeFile(s2!, b2);
    const result = await f.b.pull({ scan: true });
    assert.equal(result.segments.imported, 1);
    const reasons = quarantined(f.b).map((q) => `${q.category}/${q.reason}`).sort();
    assert.deepEqual(reasons, ["corrupt/decrypt_failed", "corrupt/decrypt_failed"]);
  } finally {
    await f.dispose();
  }
});

Deno.test("a tampered manifest is quarantined as corrupt and the other devices' manifests still import", async () => {
  const f = await fixture(1);
  const c = await Device.create("c", f.a.clock);
  try {
    await c.join(f.storeUri, f.key);
    c.record("from c");
    await c.push();
    const path = join(f.storePath, manifestKey(f.vaultId, f.a.vault.nodeId));
    const bytes = await Deno.readFile(path);
    bytes[bytes.length - 1]! ^= 0x80;
    await Deno.writeFile(path, bytes);
    const result = await f.b.pull();
    assert.equal(result.manifests.failed, 1);
    assert.deepEqual(f.b.commands(), ["from c"]);
    assert.deepEqual(quarantined(f.b), [{
      kind: "manifest",
      category: "corrupt",
      reason: "decrypt_failed",
    }]);
  } finally {
    await c.dispose();
    await f.dispose();
  }
});

Deno.test("a manifest copied to another node's path is rejected as wrong_node", async () => {
  const f = await fixture(1);
  try {
    const from = join(f.storePath, manifestKey(f.vaultId, f.a.vault.nodeId));
    const fakeNode = "0190f000-0000-7000-8000-00000000beef";
    await Deno.copyFile(from, join(f.storePath, manifestKey(f.vaultId, fakeNode)));
    const result = await f.b.pull();
    assert.equal(result.segments.imported, 1); // a's own manifest still works
    assert.deepEqual(quarantined(f.b), [{
      kind: "manifest",
      category: "corrupt",
      reason: "wrong_node",
    }]);
  } finally {
    await f.dispose();
  }
});

Deno.test("objects of another vault placed in this vault are rejected as wrong_vault", async () => {
  const f = await fixture(1);
  const other = await fixture(1);
  try {
    // other vault's manifest, renamed into this vault under a node id this vault lacks
    const from = join(other.storePath, manifestKey(other.vaultId, other.a.vault.nodeId));
    const to = join(f.storePath, manifestKey(f.vaultId, other.a.vault.nodeId));
    await Deno.copyFile(from, to);
    const result = await f.b.pull();
    assert.equal(result.segments.imported, 1);
    assert.deepEqual(quarantined(f.b), [{
      kind: "manifest",
      category: "corrupt",
      reason: "wrong_vault",
    }]);
  } finally {
    await other.dispose();
    await f.dispose();
  }
});

Deno.test("a replayed older manifest is reported as a rollback, changes nothing, and newer ones import after it", async () => {
  const f = await fixture(1);
  try {
    const path = join(f.storePath, manifestKey(f.vaultId, f.a.vault.nodeId));
    const v1 = await Deno.readFile(path);
    f.a.record("second push");
    await f.a.push();
    await f.b.pull();
    assert.equal(f.b.commands().length, 3);
    await Deno.writeFile(path, v1); // the provider (or a stale sync) serves the old manifest
    const replay = await f.b.pull();
    assert.equal(replay.manifests.rollback, 1);
    assert.equal(replay.errors.precondition, 1);
    const status = syncStatus(f.b.home, f.b.vault);
    assert.match(status.last_error?.message ?? "", /older than seq 2 already seen/);
    assert.equal(f.b.commands().length, 3);
    f.a.record("third push");
    await f.a.push(); // a reconciles: its manifest on the store changed behind its back
    await f.b.pull();
    assert.equal(f.b.commands().length, 4);
    assert.deepEqual(quarantined(f.b), []);
    assert.deepEqual(quarantined(f.a), []);
  } finally {
    await f.dispose();
  }
});

Deno.test("stray and hostile names in the manifests folder are not taken for manifests", async () => {
  const f = await fixture(1);
  try {
    const dir = join(f.storePath, "vaults", f.vaultId, "objects", "manifests");
    await Deno.writeTextFile(join(dir, "not-a-uuid.hxman"), "junk");
    await Deno.writeTextFile(join(dir, `${f.a.vault.nodeId}.hxman.bak`), "junk");
    const result = await f.b.pull();
    assert.equal(result.manifests.listed, 1);
    assert.deepEqual(quarantined(f.b), []);
    assert.equal(f.b.commands().length, 2);
  } finally {
    await f.dispose();
  }
});

Deno.test("the store never contains plaintext commands, hosts or directories", async () => {
  const f = await fixture(2);
  try {
    f.a.record("export AWS_SECRET_ACCESS_KEY=hunter2hunter2");
    f.a.forget(f.a.clock.now - 10, f.a.clock.now);
    await f.a.push();
    const files = await walk(f.storePath);
    assert.ok(files.length >= 4); // descriptor, two segments, manifest (carrying the tombstone)
    for (const file of files) {
      const text = new TextDecoder("latin1").decode(await Deno.readFile(file));
      for (const needle of ["a-cmd", "hunter2", "AWS_SECRET", "/home/a"]) {
        assert.ok(!text.includes(needle), `${file} contains ${needle}`);
      }
    }
  } finally {
    await f.dispose();
  }
});

Deno.test("a wrong key is named once, before anything is imported", async () => {
  const f = await fixture(3);
  const stranger = await fixture(1);
  try {
    // b's key file is replaced by the key of another vault with b's vault id
    const strangerKey = (await stranger.a.home.readKey(stranger.vaultId))!;
    const { VaultKey } = await import("../../src/crypto/vault_key.ts");
    const { key } = await VaultKey.fromExportString(strangerKey);
    await f.b.home.writeKey(f.vaultId, await key.exportString(f.vaultId));
    await assert.rejects(
      f.b.pull(),
      (e: HxError) =>
        e.category === "auth" && e.message.includes(key.keyId) && /is not its key/.test(e.message),
    );
    assert.deepEqual(f.b.commands(), []);
    assert.deepEqual(quarantined(f.b), []);
    await assert.rejects(f.b.push(), (e: HxError) => e.category === "auth");
  } finally {
    await stranger.dispose();
    await f.dispose();
  }
});

Deno.test("a segment whose import fails midway (the index refuses a write) leaves nothing half-imported; the rest and then it import later", async () => {
  const f = await fixture(6);
  try {
    // The index of b refuses one command, as a full disk would refuse a write: a fault in the
    // storage under the code, not in it.
    f.b.vault.db.exec(`CREATE TRIGGER poison BEFORE INSERT ON commands WHEN NEW.cmd = 'a-cmd 7'
      BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    const first = await f.b.pull();
    assert.equal(first.segments.imported + first.segments.failed, 6);
    assert.ok(first.segments.failed >= 1);
    const got = f.b.commands();
    // Whole segments only: each holds a-cmd 2k and 2k+1.
    for (let k = 0; k < 6; k++) {
      const pair = got.filter((c) => c === `a-cmd ${2 * k}` || c === `a-cmd ${2 * k + 1}`);
      assert.ok(pair.length === 0 || pair.length === 2, `segment ${k} half imported: ${got}`);
    }
    assert.ok(!got.includes("a-cmd 6"), "the failing segment's first event was kept");
    assert.equal(first.events.inserted, got.length);
    f.b.vault.db.exec("DROP TRIGGER poison");
    await f.b.pull(); // what the failure rolled back with it (not quarantined) comes now
    f.b.clock.tick(61_000); // the failed segment, after its backoff
    await f.b.pull();
    assert.deepEqual(f.b.commands(), Array.from({ length: 12 }, (_, i) => `a-cmd ${i}`));
    assert.equal(listQuarantine(f.b.vault.db).length, 0);
  } finally {
    await f.dispose();
  }
});
