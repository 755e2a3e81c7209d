import assert from "node:assert/strict";
import { join } from "node:path";
import { attachFile, findArtifact, listArtifacts } from "../../src/history/artifacts.ts";
import { fetchBlob } from "../../src/sync/blobs.ts";
import { blobKey } from "../../src/object/keys.ts";
import { isCached } from "../../src/vault/blob_cache.ts";
import type { HxError } from "../../src/errors.ts";
import { joinedPair } from "./device.ts";

async function fixture() {
  const pair = await joinedPair();
  const files = await Deno.makeTempDir();
  return {
    ...pair,
    files,
    async dispose() {
      await pair.dispose();
      await Deno.remove(files, { recursive: true });
    },
  };
}

/** Incompressible bytes (getRandomValues fills at most 64 KiB at a time). */
function noise(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  }
  return out;
}

Deno.test("an attached file syncs encrypted and is fetched on demand, verified, by another device", async () => {
  const f = await fixture();
  try {
    f.a.record("make report");
    const path = join(f.files, "report.txt");
    const content = new TextEncoder().encode("quarterly numbers: 42\n".repeat(5000));
    await Deno.writeFile(path, content);
    const artifact = await attachFile(f.a.vault, f.a.home.blobsDir, path);
    const pushed = await f.a.push();
    assert.equal(pushed.blobs.uploaded, 1);
    await f.b.pull();
    const listed = await listArtifacts(f.b.vault.db, f.b.home.blobsDir);
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.name, "report.txt");
    assert.equal(listed[0]!.cached, false); // metadata only, until asked for
    const ctx = await f.b.context();
    const cached = await fetchBlob(ctx, listed[0]!);
    assert.deepEqual(await Deno.readFile(cached), content);
    assert.equal(listed[0]!.sha256, artifact.sha256);
    assert.ok(await isCached(f.b.home.blobsDir, artifact.sha256));
    // the store holds no plaintext of it, nor its plaintext hash
    const all = await Array.fromAsync(ctx.store.list(""));
    for (const info of all) {
      const got = await ctx.store.get(info.key);
      const text = new TextDecoder("latin1").decode((got as { data: Uint8Array }).data);
      assert.ok(!text.includes("quarterly"), info.key);
      assert.ok(!text.includes(artifact.sha256), info.key);
    }
  } finally {
    await f.dispose();
  }
});

Deno.test("a tampered blob is refused and nothing is cached", async () => {
  const f = await fixture();
  try {
    f.a.record("x");
    const path = join(f.files, "data.bin");
    await Deno.writeFile(path, noise(3 * 1024 * 1024 + 5));
    await attachFile(f.a.vault, f.a.home.blobsDir, path);
    await f.a.push();
    await f.b.pull();
    const [artifact] = await listArtifacts(f.b.vault.db, f.b.home.blobsDir);
    const vaultId = f.a.home.readConfig()!.vault_id;
    const file = join(f.store.path, blobKey(vaultId, artifact!.blob_hash!));
    const bytes = await Deno.readFile(file);
    assert.ok(bytes.length > 3 * 1024 * 1024);
    bytes[Math.floor(bytes.length / 2)]! ^= 1;
    await Deno.writeFile(file, bytes);
    const ctx = await f.b.context();
    await assert.rejects(fetchBlob(ctx, artifact!), (e: HxError) => e.category === "corrupt");
    assert.equal(await isCached(f.b.home.blobsDir, artifact!.sha256), false);
    const left = await Array.fromAsync(Deno.readDir(f.b.home.blobsDir)).catch(() => []);
    assert.deepEqual(left.map((e) => e.name), [], "a partial file was left in the cache");
  } finally {
    await f.dispose();
  }
});

Deno.test("the same content attached twice is uploaded once", async () => {
  const f = await fixture();
  try {
    f.a.record("x");
    const one = join(f.files, "one.txt");
    const two = join(f.files, "two.txt");
    await Deno.writeTextFile(one, "same bytes");
    await Deno.writeTextFile(two, "same bytes");
    await attachFile(f.a.vault, f.a.home.blobsDir, one);
    await attachFile(f.a.vault, f.a.home.blobsDir, two);
    const pushed = await f.a.push();
    assert.deepEqual([pushed.blobs.uploaded, pushed.blobs.present], [1, 0]);
    await f.b.pull();
    assert.equal((await listArtifacts(f.b.vault.db, f.b.home.blobsDir)).length, 2);
  } finally {
    await f.dispose();
  }
});

Deno.test("forgetting the window of an attachment removes it, and its cached blob, everywhere", async () => {
  const f = await fixture();
  try {
    f.a.record("x");
    const path = join(f.files, "secret.pem");
    await Deno.writeTextFile(path, "-----BEGIN PRIVATE KEY-----");
    const artifact = await attachFile(f.a.vault, f.a.home.blobsDir, path);
    await f.a.push();
    await f.b.pull();
    await fetchBlob(
      await f.b.context(),
      (await listArtifacts(f.b.vault.db, f.b.home.blobsDir))[0]!,
    );
    assert.ok(await isCached(f.b.home.blobsDir, artifact.sha256));
    f.a.forget(artifact.created_at - 1, artifact.created_at);
    await f.a.push();
    await f.b.pull();
    assert.deepEqual(await listArtifacts(f.b.vault.db, f.b.home.blobsDir), []);
    assert.equal(await isCached(f.b.home.blobsDir, artifact.sha256), false);
  } finally {
    await f.dispose();
  }
});

Deno.test("fetching to --out writes the verified file there, keeps no copy, and leaves nothing on failure", async () => {
  const f = await fixture();
  try {
    f.a.record("x");
    const path = join(f.files, "big.bin");
    const content = noise(2 * 1024 * 1024 + 7);
    await Deno.writeFile(path, content);
    await attachFile(f.a.vault, f.a.home.blobsDir, path);
    await f.a.push();
    await f.b.pull();
    const [artifact] = await listArtifacts(f.b.vault.db, f.b.home.blobsDir);
    const outDir = await Deno.makeTempDir();
    const out = join(outDir, "fetched.bin");
    const ctx = await f.b.context();
    assert.equal(await fetchBlob(ctx, artifact!, { out }), out);
    assert.deepEqual(await Deno.readFile(out), content);
    assert.equal(await isCached(f.b.home.blobsDir, artifact!.sha256), false);
    // tamper, fetch again to another path: refused, and nothing appears in the directory
    const vaultId = f.a.home.readConfig()!.vault_id;
    const file = join(f.store.path, blobKey(vaultId, artifact!.blob_hash!));
    const bytes = await Deno.readFile(file);
    bytes[Math.floor(bytes.length / 3)]! ^= 1;
    await Deno.writeFile(file, bytes);
    await assert.rejects(
      fetchBlob(ctx, artifact!, { out: join(outDir, "again.bin") }),
      (e: HxError) => e.category === "corrupt",
    );
    assert.deepEqual((await Array.fromAsync(Deno.readDir(outDir))).map((e) => e.name), [
      "fetched.bin",
    ]);
    await Deno.remove(outDir, { recursive: true });
  } finally {
    await f.dispose();
  }
});

Deno.test("an artifact is found by id, by SHA-256 prefix, or by name (the newest of that name)", async () => {
  const f = await fixture();
  try {
    f.a.record("make");
    const path = join(f.files, "build.log");
    await Deno.writeTextFile(path, "first build\n");
    const first = await attachFile(f.a.vault, f.a.home.blobsDir, path);
    f.clock.tick();
    await Deno.writeTextFile(path, "second build\n");
    const second = await attachFile(f.a.vault, f.a.home.blobsDir, path);
    const db = f.a.vault.db;
    assert.equal(findArtifact(db, first.artifact_id).sha256, first.sha256);
    assert.equal(findArtifact(db, first.sha256.slice(0, 8)).artifact_id, first.artifact_id);
    assert.equal(findArtifact(db, "build.log").artifact_id, second.artifact_id);
    const notFound = (err: HxError) => err.category === "not_found";
    assert.throws(() => findArtifact(db, "nothing.log"), notFound);
    const unused = ["000000", "ffffff"].find((p) =>
      ![first, second].some((a) => a.sha256.startsWith(p))
    )!;
    assert.throws(() => findArtifact(db, unused), notFound);
  } finally {
    await f.dispose();
  }
});
