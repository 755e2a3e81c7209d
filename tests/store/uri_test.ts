import assert from "node:assert/strict";
import { parseStoreUri, redactStoreUri } from "../../src/store/uri.ts";
import { openStore } from "../../src/store/open.ts";
import type { HxError } from "../../src/errors.ts";

const env = { home: "/home/ada", getEnv: () => undefined };

Deno.test("parseStoreUri() maps folder and memory URIs to typed configs", () => {
  const table: [string, string, unknown][] = [
    ["folder:/srv/hx", "folder", { path: "/srv/hx" }],
    ["folder:///srv/hx", "folder", { path: "/srv/hx" }],
    ["folder:~/Sync/hx", "folder", { path: "/home/ada/Sync/hx" }],
    ["folder:/srv/a/../hx", "folder", { path: "/srv/hx" }],
    ["folder:/with space/hx", "folder", { path: "/with space/hx" }],
    ["memory:t1", "memory", { name: "t1" }],
  ];
  for (const [uri, scheme, config] of table) {
    const parsed = parseStoreUri(uri, env);
    assert.equal(parsed.scheme, scheme, uri);
    assert.deepEqual(parsed.config, config, uri);
  }
  const relative = parseStoreUri("folder:rel/dir", env).config as { path: string };
  assert.equal(relative.path, `${Deno.cwd()}/rel/dir`);
});

Deno.test("parseStoreUri() rejects unknown schemes, bare paths and empty folders with invalid_input", () => {
  const table: [string, RegExp][] = [
    ["ftp://host/x", /unknown scheme "ftp"/],
    ["/mnt/nas/hx", /no scheme \(for a folder, write folder:\/mnt\/nas\/hx\)/],
    ["folder:", /folder path is missing/],
    ["", /no scheme/],
  ];
  for (const [uri, message] of table) {
    assert.throws(
      () => parseStoreUri(uri, env),
      (e: HxError) => e.category === "invalid_input" && message.test(e.message),
      uri,
    );
  }
});

Deno.test("redactStoreUri() never echoes an unparseable URI", () => {
  assert.equal(redactStoreUri("nope://user:secret@host"), "nope:(invalid)");
  assert.equal(redactStoreUri("secret-without-scheme"), "(invalid store URI)");
});

Deno.test("openStore() of memory: returns the same store for the same name", async () => {
  const a = await openStore("memory:shared-by-name");
  const b = await openStore("memory:shared-by-name");
  await a.putAtomic("k", new Uint8Array([7]));
  assert.equal((await b.stat("k"))?.size, 1);
});
