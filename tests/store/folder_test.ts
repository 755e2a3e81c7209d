import assert from "node:assert/strict";
import { join } from "node:path";
import { runStoreConformance } from "../../testing/mod.ts";
import { FolderStore } from "../../src/store/folder.ts";
import type { StoreError } from "../../src/store/errors.ts";

const roots = new Map<FolderStore, string>();

Deno.test("FolderStore passes the store conformance suite", (t) =>
  runStoreConformance(t, {
    async open() {
      const root = await Deno.makeTempDir({ prefix: "hx-folder-" });
      const store = new FolderStore(root);
      roots.set(store, root);
      return store;
    },
    async cleanup(store) {
      await Deno.remove(roots.get(store as FolderStore)!, { recursive: true });
    },
  }));

Deno.test("FolderStore.list() skips sync-tool leftovers, its own staging files and symlinks", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new FolderStore(root);
    await store.putAtomic("v/objects/manifests/n1.hxman", new Uint8Array([1]));
    const dir = join(root, "v", "objects", "manifests");
    for (
      const junk of [
        ".syncthing.n2.hxman.tmp",
        "n1.sync-conflict-20260101-101010-ABCDEFG.hxman",
        ".n3.hxman.hx-tmp-0011223344556677",
        ".DS_Store",
        "n4.hxman~",
        ".n5.hxman.swp",
        "n6.hxman (conflicted copy 2026-01-01)",
      ]
    ) {
      await Deno.writeTextFile(join(dir, junk), "junk");
    }
    await Deno.mkdir(join(root, "v", ".stversions"));
    await Deno.writeTextFile(join(root, "v", ".stversions", "old.hxman"), "junk");
    await Deno.symlink("/etc/hostname", join(dir, "evil.hxman"));
    const keys = (await Array.fromAsync(store.list("v/"))).map((i) => i.key);
    assert.deepEqual(keys, ["v/objects/manifests/n1.hxman"]);
    assert.equal(await store.stat("v/objects/manifests/evil.hxman"), null);
    await assert.rejects(
      store.get("v/objects/manifests/evil.hxman"),
      (e: StoreError) => e.category === "not_found",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FolderStore refuses keys whose names sync tools would hide", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new FolderStore(root);
    await assert.rejects(
      store.putAtomic("a/file.tmp", new Uint8Array([1])),
      (e: StoreError) => e.category === "invalid_input",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FolderStore reports a missing root as not_found and never creates it", async () => {
  const parent = await Deno.makeTempDir();
  try {
    const store = new FolderStore(join(parent, "unmounted"));
    await assert.rejects(
      store.putAtomic("a/b", new Uint8Array([1])),
      (e: StoreError) => e.category === "not_found" && e.message.includes("no such directory"),
    );
    await assert.rejects(Deno.stat(join(parent, "unmounted")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("FolderStore leaves no staging file behind after a failed put", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new FolderStore(root);
    const failing = {
      open: () =>
        new ReadableStream<Uint8Array>({
          pull(c) {
            c.error(new Error("boom"));
          },
        }),
    };
    await assert.rejects(store.putAtomic("a/b", failing));
    const left = await Array.fromAsync(Deno.readDir(join(root, "a")));
    assert.deepEqual(left, []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FolderStore never reads, writes, lists or deletes through a symlink that leaves its root", async () => {
  const root = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(outside, "secret"), "outside the store");
    await Deno.mkdir(join(root, "vaults"));
    await Deno.symlink(outside, join(root, "vaults", "v")); // a directory link planted in the store
    await Deno.symlink(join(outside, "secret"), join(root, "vaults", "file-link"));
    const store = new FolderStore(root);
    await assert.rejects(
      store.get("vaults/v/secret"),
      (e: StoreError) => e.category === "not_found",
    );
    await assert.rejects(
      store.get("vaults/file-link"),
      (e: StoreError) => e.category === "not_found",
    );
    assert.equal(await store.stat("vaults/v/secret"), null);
    assert.deepEqual(await Array.fromAsync(store.list("vaults/")), []);
    assert.deepEqual(await Array.fromAsync(store.list("vaults/v/")), []);
    await assert.rejects(
      store.putAtomic("vaults/v/planted", new TextEncoder().encode("x")),
      (e: StoreError) => e.category === "corrupt",
    );
    await assert.rejects(
      store.putAtomic("vaults/v/deeper/planted", new TextEncoder().encode("x")),
      (e: StoreError) => e.category === "corrupt",
    );
    await store.delete("vaults/v/secret");
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(outside))).map((e) => e.name).sort(),
      ["secret"],
    );
    assert.equal(await Deno.readTextFile(join(outside, "secret")), "outside the store");
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("FolderStore.capabilities.conditionalPut says whether hard links enforced put-if-absent", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new FolderStore(root);
    assert.equal(store.capabilities.conditionalPut, false); // not known before it is tried
    await store.putAtomic("k", new Uint8Array([1]), { ifAbsent: true });
    assert.equal(store.capabilities.conditionalPut, true); // this filesystem has hard links
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
