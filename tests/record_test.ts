// `hx record` runs after every command, so its path avoids Node compatibility: its own command
// line parser, path helpers and SHA-256. They must agree with what they replace, and the
// command it reads is bounded before it is held.

import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { join, posix } from "node:path";
import { parseCommandLine } from "../src/cli/args.ts";
import { basenameOf, dirnameOf, joinPath } from "../src/_path.ts";
import { sha256Hex } from "../src/_sha256.ts";
import { findEvents } from "../src/vault/events.ts";
import { Vault } from "../src/vault/vault.ts";
import { hx } from "./_cli.ts";
import { prng } from "./_prng.ts";

const OPTIONS = {
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  limit: { type: "string" },
  session: { type: "string" },
} as const;

Deno.test("the command line parser reads what node's parseArgs reads, and refuses what it refuses", () => {
  const lines = [
    ["--limit", "5", "docker", "--json"],
    ["--limit=5", "-v", "a", "b"],
    ["--", "--json", "-v"],
    ["-", "x"],
    ["--session", "-"], // a lone dash is a value (stdin)
    ["--limit="],
  ];
  for (const args of lines) {
    const ours = parseCommandLine(args, OPTIONS);
    const node = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    assert.deepEqual({ ...ours.values }, { ...node.values }, args.join(" "));
    assert.deepEqual(ours.positionals, node.positionals, args.join(" "));
  }
  const bad = [["--nope"], ["--limit"], ["--json=yes"], ["-x"], ["-vx"], ["--session", "--json"]];
  for (const args of bad) {
    assert.throws(() => parseCommandLine(args, OPTIONS), /option|value/, args.join(" "));
    assert.throws(() => parseArgs({ args, options: OPTIONS, allowPositionals: true }));
  }
});

Deno.test(
  "paths are joined and split as node:path does",
  { ignore: Deno.build.os === "windows" },
  () => {
    for (
      const parts of [["/a", "b", "c.db"], ["/a/", "b"], ["rel", "x"], ["/", "x"], ["a", "", "b"]]
    ) {
      assert.equal(joinPath(parts[0]!, ...parts.slice(1)), posix.join(...parts), parts.join(","));
    }
    for (const p of ["/a/b/c.db", "/a/b/", "/x", "x", "a/b", "/"]) {
      assert.equal(dirnameOf(p), posix.dirname(p), `dirname ${p}`);
      assert.equal(basenameOf(p), posix.basename(p), `basename ${p}`);
    }
  },
);

Deno.test("sha256Hex agrees with WebCrypto on Unicode text and every length around a block edge", async () => {
  const next = prng(7);
  const texts = ["", "abc", "ls -la wörld 🚀", "x".repeat(1_000_000)];
  for (let n = 50; n <= 130; n++) {
    texts.push(
      Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(next() * 90))).join(""),
    );
  }
  for (const text of texts) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(sha256Hex(text), hex, `length ${text.length}`);
  }
});

Deno.test("hx record takes a command of 1 MiB, and refuses a longer one before holding it, with a logged reason", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hx-record-" });
  try {
    const home = join(dir, "home");
    const args = ["record", "--session", "s", "--duration", "5"];
    const long = "echo " + "x".repeat(1024 * 1024 - 5);
    assert.equal((await hx(home, args, { stdin: long })).code, 0);
    const over = await hx(home, args, { stdin: long + "y" });
    assert.equal(over.code, 1);
    assert.match(over.stderr, /invalid_input: Cannot take the command: it is over 1048576 bytes/);
    const vault = Vault.open(join(home, "hx.db"));
    try {
      const cmds = findEvents(vault.db, { limit: 10 }).map((e) => e.cmd.length);
      assert.deepEqual(cmds, [1024 * 1024]);
    } finally {
      vault.close();
    }
    const log = await Deno.readTextFile(join(home, "record-errors.log"));
    assert.match(log, /invalid_input: Cannot take the command: it is over 1048576 bytes/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
