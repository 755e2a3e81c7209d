import assert from "node:assert/strict";
import { join } from "node:path";
import { VaultKey } from "../src/crypto/vault_key.ts";
import { VERSION } from "../src/version.ts";
import { hx } from "./_cli.ts";
import { startBulk } from "../src/vault/bulk.ts";
import { Vault } from "../src/vault/vault.ts";
import { CLI as CLI_PATH } from "./_tmux.ts";

/** Every file under `dir` with its size and content hash: to prove nothing changed. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else {
        const data = await Deno.readFile(p);
        const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
        out.push(`${p} ${data.length} ${Array.from(hash.slice(0, 8)).join(",")}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

async function tempDir(prefix: string): Promise<string> {
  return await Deno.makeTempDir({ prefix });
}

Deno.test("hx --version and hx help work and exit 0", async () => {
  const home = await tempDir("hx-cli-");
  const v = await hx(home, ["--version"]);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), `hx ${VERSION}`);
  const help = await hx(home, ["help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /hx sync join/);
  await Deno.remove(home, { recursive: true });
});

Deno.test("VERSION matches deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(config.version, VERSION);
});

Deno.test("bad input gives one clear categorised line, a non-zero exit, and changes nothing on disk", async () => {
  const root = await tempDir("hx-cli-bad-");
  const store = join(root, "store");
  const home = join(root, "home");
  const other = join(root, "other-home");
  await Deno.mkdir(store);
  // a real vault in `store`, set up from `other`, so that the store has content to protect
  assert.equal((await hx(other, ["sync", "init", "--store", `folder:${store}`])).code, 0);
  const strangerKey = await (await VaultKey.generate()).exportString(
    "0190f000-0000-7000-8000-00000000dead",
  );
  const vaultId = JSON.parse(await Deno.readTextFile(join(other, "sync.json"))).vault_id as string;
  const wrongKeySameVault = await (await VaultKey.generate()).exportString(vaultId);
  const goodKey = (await hx(other, ["sync", "key", "export"])).stdout.trim();
  const typo = goodKey.slice(0, 40) + (goodKey[40] === "0" ? "1" : "0") + goodKey.slice(41);

  const cases: [string[], number, RegExp][] = [
    [["sync", "init", "--store", "ftp://host/x"], 1, /^hx: invalid_input: .*unknown scheme "ftp"/],
    [["sync", "init", "--store", "folder:"], 1, /^hx: invalid_input: .*folder path is missing/],
    [["sync", "init", "--store", "/srv/hx"], 1, /^hx: invalid_input: .*write folder:\/srv\/hx/],
    [
      ["sync", "init", "--store", `folder:${join(root, "missing")}`],
      1,
      /^hx: not_found: .*no such directory/,
    ],
    [["sync", "init"], 2, /^hx: --store URI is required/],
    [
      ["sync", "join", "--store", `folder:${store}`, "--key", "not-a-key"],
      1,
      /^hx: invalid_input: .*not a key export string/,
    ],
    [
      ["sync", "join", "--store", `folder:${store}`, "--key", typo],
      1,
      /^hx: invalid_input: .*checksum/,
    ],
    [
      ["sync", "join", "--store", `folder:${store}`, "--key", wrongKeySameVault],
      1,
      /^hx: auth: .*is not its key/,
    ],
    [
      ["sync", "join", "--store", `folder:${store}`, "--key", strangerKey],
      1,
      /^hx: not_found: .*does not exist/,
    ],
    [["sync", "join", "--store", `folder:${store}`], 1, /^hx: invalid_input: .*encrypted.*--key/],
    [["sync", "pull"], 1, /^hx: precondition: .*not set up.*hx sync init/],
    [["sync", "push"], 1, /^hx: precondition: .*not set up/],
    [["sync", "status", "--bogus"], 2, /^hx: .*--bogus/],
    [["import", "--file", join(root, "nope")], 1, /^hx: not_found: .*no such file/],
    [["forget", "--since", "5 minutes"], 1, /^hx: invalid_input: .*duration/],
    [["frobnicate"], 2, /^hx: unknown command "frobnicate"/],
  ];
  const storeBefore = await snapshot(store);
  for (const [args, code, line] of cases) {
    const run = await hx(home, args);
    assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
    const lines = run.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")} printed ${lines.length} lines: ${run.stderr}`);
    assert.match(lines[0]!, line, args.join(" "));
    assert.equal(run.stdout, "", args.join(" "));
    assert.ok(!run.stderr.includes(goodKey.slice(5, 40)), "a secret reached the output");
    assert.deepEqual(await snapshot(home), [], `${args.join(" ")} wrote to the data directory`);
    assert.deepEqual(await snapshot(store), storeBefore, `${args.join(" ")} changed the store`);
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("a second device joins with the exported key and both converge through the CLI", async () => {
  const root = await tempDir("hx-cli-e2e-");
  const store = join(root, "store");
  const a = join(root, "a");
  const b = join(root, "b");
  await Deno.mkdir(store);
  const file = join(root, ".zsh_history");
  await Deno.writeTextFile(file, ": 1700000000:0;git status\n: 1700000009:2;make test\n");
  try {
    let r = await hx(a, ["import", "--file", file, "--json"]);
    assert.equal(JSON.parse(r.stdout).inserted, 2);
    r = await hx(a, ["import", "--file", file, "--json"]);
    assert.equal(JSON.parse(r.stdout).inserted, 0);
    assert.equal((await hx(a, ["sync", "init", "--store", `folder:${store}`])).code, 0);
    const exported = await hx(a, ["sync", "key", "export"]);
    const key = exported.stdout.trimEnd().split("\n").at(-1)!;
    assert.match(key, /^hxk1_/);
    const pushed = JSON.parse((await hx(a, ["sync", "push", "--json"])).stdout);
    assert.equal(pushed.events, 2);
    assert.equal(pushed.requests.put, 2); // one segment, one manifest
    // join reading the key from stdin, so it never appears in argv or shell history
    r = await hx(b, ["sync", "join", "--store", `folder:${store}`, "--key", "-"], {
      stdin: key + "\n",
    });
    assert.equal(r.code, 0, r.stderr);
    const pulled = JSON.parse((await hx(b, ["sync", "pull", "--json"])).stdout);
    assert.equal(pulled.events.inserted, 2);
    const found = JSON.parse((await hx(b, ["find", "make", "--json"])).stdout);
    assert.equal(found.length, 1);
    for (const field of ["cmd", "started_at", "exit_code", "cwd", "node_id", "session_id", "seq"]) {
      assert.ok(field in found[0], field);
    }
    assert.equal(found[0].cmd, "make test");
    assert.equal(found[0].started_at, "2023-11-14T22:13:29.000Z");
    const noop = JSON.parse((await hx(b, ["sync", "pull", "--json"])).stdout);
    assert.equal(noop.requests.list, 1);
    assert.equal(noop.requests.total, 1); // one LIST, nothing else
    const status = JSON.parse((await hx(b, ["sync", "status", "--json"])).stdout);
    assert.equal(status.configured, true);
    assert.equal(status.quarantine.total, 0);
    assert.equal(status.devices.length, 1);
    // the key file is private
    const keyFile = join(b, "keys", `${status.vault_id}.key`);
    assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("hx sync status and hx sync quarantine list quarantined objects; clear and retry let a pull try them again", async () => {
  const root = await tempDir("hx-cli-q-");
  const store = join(root, "store");
  const a = join(root, "a");
  const b = join(root, "b");
  await Deno.mkdir(store);
  try {
    await hx(a, ["sync", "init", "--store", `folder:${store}`]);
    await hx(a, [
      "record",
      "--cmd",
      "echo one",
      "--session",
      "s1",
      "--start",
      "1700000000",
      "--exit",
      "0",
    ]);
    await hx(a, ["sync", "push"]);
    const key = (await hx(a, ["sync", "key", "export"])).stdout.trim();
    await hx(b, ["sync", "join", "--store", `folder:${store}`, "--key", key]);
    // corrupt every segment of a (keeping the bytes, to put back later)
    const vault = JSON.parse(await Deno.readTextFile(join(a, "sync.json"))).vault_id;
    const segRoot = join(store, "vaults", vault, "objects", "segments");
    const originals = new Map<string, Uint8Array>();
    for await (const node of Deno.readDir(segRoot)) {
      for await (const seg of Deno.readDir(join(segRoot, node.name))) {
        const path = join(segRoot, node.name, seg.name);
        originals.set(path, await Deno.readFile(path));
        await Deno.writeTextFile(path, "garbage");
      }
    }
    const pull = await hx(b, ["sync", "pull"]);
    assert.equal(pull.code, 0);
    assert.match(pull.stderr, /1 object failed or reported \(1 in quarantine\)/);
    const status = JSON.parse((await hx(b, ["sync", "status", "--json"])).stdout);
    assert.equal(status.quarantine.total, 1);
    assert.deepEqual(status.quarantine.by_category, { hash_mismatch: 1 });
    assert.equal(status.quarantine.first[0].kind, "segment");
    assert.equal(status.quarantine.first[0].category, "hash_mismatch");
    assert.match(status.quarantine.first[0].message, /SHA-256/);
    assert.equal(status.last_error.category, "hash_mismatch");
    const human = await hx(b, ["sync", "status"]);
    assert.match(human.stdout, /quarantined objects: 1 \(1 hash_mismatch\)/);

    const list = async () => JSON.parse((await hx(b, ["sync", "quarantine", "--json"])).stdout);
    const listed = await list();
    assert.equal(listed.total, 1);
    assert.equal(listed.entries[0].category, "hash_mismatch");
    assert.match((await hx(b, ["sync", "quarantine"])).stdout, /hash_mismatch .*segments/);
    const doctor = JSON.parse((await hx(b, ["doctor", "--json"])).stdout);
    assert.match(
      doctor.checks.find((c: { name: string }) => c.name === "quarantine").detail,
      /hx sync quarantine lists them/,
    );
    // clear: the list empties, and a pull sets the still-broken object aside again
    const cleared = JSON.parse((await hx(b, ["sync", "quarantine", "clear", "--json"])).stdout);
    assert.equal(cleared.entries, 1);
    assert.equal((await list()).total, 0);
    await hx(b, ["sync", "pull"]);
    assert.equal((await list()).total, 1);
    // repaired on the store, retry: the next pull takes it in
    for (const [path, bytes] of originals) await Deno.writeFile(path, bytes);
    const retried = JSON.parse((await hx(b, ["sync", "quarantine", "retry", "--json"])).stdout);
    assert.equal(retried.entries, 1);
    const repaired = JSON.parse((await hx(b, ["sync", "pull", "--json"])).stdout);
    assert.equal(repaired.events.inserted, 1);
    assert.equal((await list()).total, 0);
    assert.equal((await hx(b, ["sync", "quarantine", "bogus"])).code, 2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a key typed into a command is scrubbed before it is recorded", async () => {
  const home = await tempDir("hx-cli-scrub-");
  try {
    const key = await (await VaultKey.generate()).exportString(
      "0190f000-0000-7000-8000-00000000dead",
    );
    await hx(home, [
      "record",
      "--cmd",
      `hx sync join --store folder:/x --key ${key}`,
      "--session",
      "s",
      "--start",
      "1700000000",
    ]);
    const found = JSON.parse((await hx(home, ["find", "join", "--json"])).stdout);
    assert.equal(found[0].cmd, "hx sync join --store folder:/x --key hxk1_(redacted)");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hx record takes --start with --end or --duration, or --duration alone ending now", async () => {
  const home = await tempDir("hx-cli-times-");
  try {
    const record = (cmd: string, times: string[]) =>
      hx(home, ["record", "--cmd", cmd, "--session", "s", ...times]);
    assert.equal((await record("a", ["--start", "1700000000.5", "--end", "1700000003"])).code, 0);
    assert.equal((await record("b", ["--start", "1700000010000", "--duration", "1500"])).code, 0);
    const before = Date.now();
    assert.equal((await record("c", ["--duration", "2000"])).code, 0);
    const after = Date.now();
    const found: { cmd: string; started_at: string; ended_at: string }[] = JSON.parse(
      (await hx(home, ["find", "--json", ""])).stdout,
    );
    const times = new Map(
      found.map((e) => [e.cmd, [Date.parse(e.started_at), Date.parse(e.ended_at)]]),
    );
    assert.deepEqual(times.get("a"), [1700000000500, 1700000003000]);
    assert.deepEqual(times.get("b"), [1700000010000, 1700000011500]);
    const [start, end] = times.get("c")!;
    assert.equal(end! - start!, 2000);
    assert.ok(end! >= before && end! <= after, "without --end, the command ended now");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hx find filters by directory, exit status, session and time; --null is for fzf --read0", async () => {
  const home = await tempDir("hx-cli-find-");
  const project = await tempDir("hx-cli-project-");
  try {
    const t0 = Date.UTC(2026, 10, 20, 9);
    const commands = [
      { cmd: "make build", exit: 0, cwd: project, session: "s1", at: t0 },
      { cmd: "make test", exit: 2, cwd: project, session: "s1", at: t0 + 60_000 },
      { cmd: "ls -la", exit: 0, cwd: "/tmp", session: "s2", at: t0 + 120_000 },
      { cmd: "cat missing", exit: 1, cwd: "/tmp", session: "s2", at: t0 + 180_000 },
    ];
    for (const c of commands) {
      const args = [
        "--cmd",
        c.cmd,
        "--exit",
        String(c.exit),
        "--cwd",
        c.cwd,
        "--session",
        c.session,
      ];
      const r = await hx(home, ["record", ...args, "--start", String(c.at), "--duration", "100"]);
      assert.equal(r.code, 0, r.stderr);
    }
    const find = async (...args: string[]) => {
      const r = await hx(home, ["find", "--json", ...args], { cwd: project });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { cmd: string }[]).map((e) => e.cmd);
    };
    // one order everywhere: newest last
    assert.deepEqual(await find(), ["make build", "make test", "ls -la", "cat missing"]);
    assert.deepEqual(await find("make"), ["make build", "make test"]);
    assert.deepEqual(await find("MAKE"), ["make build", "make test"]); // case-insensitive
    assert.deepEqual(await find("--failed"), ["make test", "cat missing"]);
    assert.deepEqual(await find("--exit", "1"), ["cat missing"]);
    assert.deepEqual(await find("--here"), ["make build", "make test"]);
    assert.deepEqual(await find("--cwd", "/tmp"), ["ls -la", "cat missing"]);
    assert.deepEqual(await find("--session", "s2", "--failed"), ["cat missing"]);
    const at = (ms: number) => new Date(ms).toISOString();
    assert.deepEqual(
      await find("--since", at(t0 + 30_000), "--until", at(t0 + 150_000)),
      ["make test", "ls -la"],
    );
    assert.deepEqual(await find("--limit", "1"), ["cat missing"]); // the newest one
    assert.deepEqual(await find("--limit", "2", "--reverse"), ["cat missing", "ls -la"]);
    // NUL-terminated commands and no newline: every item fzf --read0 shows is a command
    const nul = await hx(home, ["find", "--null", "make"]);
    assert.equal(nul.stdout, "make build\0make test\0");
    assert.equal((await hx(home, ["find", "--null", "nothing-matches"])).stdout, "");
    assert.equal(
      (await hx(home, ["find", "--cmd-only", "make"])).stdout,
      "make build\nmake test\n",
    );
    const formatted = await hx(home, [
      "find",
      "--format",
      "{exit}\t{directory}\t{command}",
      "make",
    ]);
    assert.equal(formatted.stdout, `0\t${project}\tmake build\n2\t${project}\tmake test\n`);
    const bad = await hx(home, ["find", "--format", "{nope}"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown field \{nope\}/);
    // people see the same order: newest on the last line
    const human = (await hx(home, ["find"])).stdout.trim().split("\n");
    assert.match(human.at(-1)!, /cat missing$/);
    assert.match(human[0]!, /make build$/);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("everyday commands: init, pause/resume, sync, passphrase join, last, pin, verify, doctor", async () => {
  const root = await tempDir("hx-cli-day-");
  const store = join(root, "store");
  const a = join(root, "a");
  const b = join(root, "b");
  await Deno.mkdir(store);
  const rec = (home: string, cmd: string, seq: number, exit = 0) =>
    hx(home, [
      "record",
      "--cmd",
      cmd,
      "--session",
      "sess-1",
      "--seq",
      String(seq),
      "--start",
      String(Date.now() - 2000),
      "--exit",
      String(exit),
    ]);
  try {
    for (const shell of ["zsh", "bash", "fish"]) {
      const r = await hx(a, ["init", shell]);
      assert.equal(r.code, 0);
      // the command goes to hx record on stdin: never on an argv, where ps shows it
      assert.match(r.stdout, / record --session /);
      assert.doesNotMatch(r.stdout, /--cmd/);
    }
    assert.equal((await hx(a, ["init", "tcsh"])).code, 2);

    assert.equal(
      (await hx(a, ["sync", "init", "--store", `folder:${store}`, "--passphrase"], {
        env: { HX_PASSPHRASE: "correct horse battery staple" },
      })).code,
      0,
    );
    await hx(a, ["sync", "auto", "--off"]);
    await rec(a, "make deploy", 1, 2);
    assert.equal((await hx(a, ["pause"])).code, 0);
    await rec(a, "paused command", 2);
    assert.equal((await hx(a, ["resume"])).code, 0);
    await rec(a, "make deploy", 3);
    const found = JSON.parse((await hx(a, ["find", "--json"])).stdout).map((e: { cmd: string }) =>
      e.cmd
    );
    assert.deepEqual(found, ["make deploy", "make deploy"]);

    const synced = await hx(a, ["sync", "--json"]);
    assert.equal(synced.code, 0, synced.stderr);
    assert.equal(JSON.parse(synced.stdout).push.events, 2);

    // join with the passphrase alone (from the environment, never argv)
    let r = await hx(b, ["sync", "join", "--store", `folder:${store}`, "--passphrase"], {
      env: { HX_PASSPHRASE: "wrong horse" },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^hx: auth: .*passphrase is wrong/);
    r = await hx(b, ["sync", "join", "--store", `folder:${store}`, "--passphrase"], {
      env: { HX_PASSPHRASE: "correct horse battery staple" },
    });
    assert.equal(r.code, 0, r.stderr);
    await hx(b, ["sync"]);

    const last = JSON.parse((await hx(b, ["last", "--json"])).stdout);
    assert.equal(last.session_id, "sess-1");
    assert.equal(last.failures.length, 1);
    assert.equal(last.failures[0].failed.exit_code, 2);
    assert.equal((await hx(b, ["pin", "--last"])).code, 0);
    assert.equal(JSON.parse((await hx(b, ["pins", "--json"])).stdout)[0].session_id, "sess-1");

    assert.equal((await hx(b, ["sync", "verify"])).code, 0);
    const vault = JSON.parse(await Deno.readTextFile(join(a, "sync.json"))).vault_id;
    const manifests = join(store, "vaults", vault, "objects", "manifests");
    for await (const m of Deno.readDir(manifests)) {
      const p = join(manifests, m.name);
      const bytes = await Deno.readFile(p);
      bytes[bytes.length - 1]! ^= 1;
      await Deno.writeFile(p, bytes);
    }
    const verify = await hx(b, ["sync", "verify", "--json"]);
    assert.equal(verify.code, 1);
    assert.equal(JSON.parse(verify.stdout).problems[0].kind, "manifest");

    const doctor = await hx(b, ["doctor", "--json"]);
    const report = JSON.parse(doctor.stdout);
    assert.ok(report.checks.some((c: { name: string; ok: boolean }) => c.name === "index" && c.ok));
    assert.ok(
      report.checks.some((c: { name: string; ok: boolean }) => c.name === "shell hook" && !c.ok),
    );
    assert.equal(doctor.code, 1); // this test's shell has no hook
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("hx record failures never reach the shell but are logged for hx doctor", async () => {
  const home = await tempDir("hx-cli-recfail-");
  try {
    await Deno.writeTextFile(join(home, "hx.db"), "this is not a database");
    const r = await hx(home, ["record", "--cmd", "ls", "--session", "s", "--start", "1700000000"]);
    assert.equal(r.code, 1);
    const doctor = JSON.parse((await hx(home, ["doctor", "--json"])).stdout);
    assert.equal(doctor.record_failures.length, 1);
    assert.ok(
      doctor.checks.some((c: { name: string; ok: boolean }) =>
        c.name === "record failures" && !c.ok
      ),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hx doctor says when a large pull's bookkeeping is unfinished, and a pull finishes it", async () => {
  const home = await tempDir("hx-cli-bulk-");
  try {
    const recorded = await hx(home, [
      "record",
      "--cmd",
      "ls",
      "--session",
      "s",
      "--start",
      "1700000000",
    ]);
    assert.equal(recorded.code, 0, recorded.stderr);
    const vault = Vault.open(join(home, "hx.db"));
    startBulk(vault.db, { texts: true }); // as a pull stopped half-way leaves it
    vault.close();
    const index = async () =>
      (JSON.parse((await hx(home, ["doctor", "--json"])).stdout).checks as {
        name: string;
        ok: boolean;
        detail: string;
      }[]).find((c) => c.name === "index")!;
    assert.match((await index()).detail, /not finished .* the next hx sync pull finishes them/);
    const store = await tempDir("hx-cli-bulk-store-");
    try {
      assert.equal((await hx(home, ["sync", "init", "--store", `folder:${store}`])).code, 0);
      assert.equal((await hx(home, ["sync", "pull"])).code, 0);
    } finally {
      await Deno.remove(store, { recursive: true });
    }
    const after = await index();
    assert.ok(after.ok && !after.detail.includes("not finished"), after.detail);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hx forget finishes a large pull's bookkeeping that a stopped pull left, first", async () => {
  const home = await tempDir("hx-cli-bulk-forget-");
  try {
    const now = Math.floor(Date.now() / 1000);
    for (const [cmd, start] of [["ls", now - 600], ["make", now - 10]] as const) {
      const r = await hx(home, ["record", "--cmd", cmd, "--session", "s", "--start", `${start}`]);
      assert.equal(r.code, 0, r.stderr);
    }
    const open = () => Vault.open(join(home, "hx.db"));
    let vault = open();
    startBulk(vault.db, { texts: true });
    vault.close();
    const r = await hx(home, ["forget", "--since", "1m"]);
    assert.equal(r.code, 0, r.stderr);
    vault = open();
    try {
      assert.equal(vault.db.meta("bulk_write"), undefined);
      const names = vault.db.all<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('events_cmd', 'commands_recent')",
      );
      assert.equal(names.length, 2);
      assert.deepEqual(vault.db.all("SELECT cmd, runs FROM commands").map((r) => ({ ...r })), [
        { cmd: "ls", runs: 1 },
      ]);
    } finally {
      vault.close();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hx doctor notices a hook whose program or script is gone, and a data directory that cannot be written", async () => {
  const dir = await tempDir("hx-cli-doctor-");
  try {
    const home = join(dir, "home");
    const checks = async (h: string, env: Record<string, string>) => {
      const r = await hx(h, ["doctor", "--json"], { env });
      const report = JSON.parse(r.stdout) as {
        checks: { name: string; ok: boolean; detail: string }[];
      };
      return Object.fromEntries(report.checks.map((c) => [c.name, c]));
    };
    const hooked = {
      HX_SESSION: "zsh-1",
      HX_HOOK_BIN: `${Deno.execPath()} run --allow-all ${CLI_PATH}`,
    };
    const ok = await checks(home, hooked);
    assert.ok(ok["shell hook"]!.ok, ok["shell hook"]!.detail);
    assert.ok(ok["data directory"]!.ok, ok["data directory"]!.detail);

    const moved = await checks(home, {
      ...hooked,
      HX_HOOK_BIN: `${Deno.execPath()} run -A ${dir}/old/cli.ts`,
    });
    assert.ok(!moved["shell hook"]!.ok);
    assert.match(moved["shell hook"]!.detail, new RegExp(`${dir}/old/cli.ts is not there`));
    // A script whose path has a space in it is there (the words came joined by spaces).
    await Deno.mkdir(join(dir, "my code"));
    await Deno.writeTextFile(join(dir, "my code", "cli.ts"), "");
    const spaced = await checks(home, {
      ...hooked,
      HX_HOOK_BIN: `${Deno.execPath()} run -A ${join(dir, "my code", "cli.ts")}`,
    });
    assert.ok(spaced["shell hook"]!.ok, spaced["shell hook"]!.detail);
    const noProgram = await checks(home, { ...hooked, HX_HOOK_BIN: "hx-not-installed record" });
    assert.match(noProgram["shell hook"]!.detail, /hx-not-installed \(on PATH\) is not there/);

    // A data directory under a file cannot be created: recording fails, and doctor says why.
    await Deno.writeTextFile(join(dir, "a-file"), "");
    const blocked = join(dir, "a-file", "home");
    const record = await hx(blocked, ["record", "--session", "s", "--duration", "1"], {
      stdin: "ls",
    });
    assert.match(record.stderr, /hx: auth: Cannot use the data directory/);
    const bad = await checks(blocked, hooked);
    assert.ok(!bad["data directory"]!.ok);
    assert.match(bad["data directory"]!.detail, /cannot be written, so nothing is recorded/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hx find --dedup shows each command once, at its latest run", async () => {
  const home = await tempDir("hx-cli-dedup-");
  try {
    const t0 = Date.UTC(2026, 10, 20, 9);
    for (const [i, cmd] of ["git status", "make", "git status", "ls", "git status"].entries()) {
      const r = await hx(home, ["record", "--session", "s", "--start", String(t0 + i * 1000)], {
        stdin: cmd,
      });
      assert.equal(r.code, 0, r.stderr);
    }
    const all = JSON.parse((await hx(home, ["find", "--json"])).stdout) as { cmd: string }[];
    assert.equal(all.length, 5);
    const once = JSON.parse((await hx(home, ["find", "--json", "--dedup"])).stdout) as {
      cmd: string;
      started_at: string;
    }[];
    assert.deepEqual(once.map((e) => e.cmd), ["make", "ls", "git status"]);
    assert.equal(once[2]!.started_at, new Date(t0 + 4000).toISOString());
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hx record takes the command on stdin, of any length, secrets redacted", async () => {
  const home = await tempDir("hx-cli-stdin-");
  try {
    const long = `echo ${"x".repeat(200 * 1024)}`; // more than one argv string may hold (128 KiB)
    let r = await hx(home, ["record", "--session", "s", "--start", "1700000000"], { stdin: long });
    assert.equal(r.code, 0, r.stderr);
    r = await hx(home, ["record", "--session", "s", "--start", "1700000001"], {
      stdin: "export GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a\n",
    });
    const found = JSON.parse((await hx(home, ["find", "--json"])).stdout) as { cmd: string }[];
    assert.deepEqual(found.map((e) => e.cmd.length), [
      long.length,
      "export GITHUB_TOKEN=(redacted)".length,
    ]);
    assert.equal(found[1]!.cmd, "export GITHUB_TOKEN=(redacted)");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hx forget refuses a window that ends in the future, and changes nothing", async () => {
  const home = await tempDir("hx-cli-future-");
  try {
    await hx(home, ["record", "--session", "s", "--start", String(Date.now() - 1000)], {
      stdin: "ls",
    });
    const before = await snapshot(home);
    const r = await hx(home, ["forget", "--since", "1h", "--until", "2099-01-01"], {
      env: { TZ: "Asia/Tokyo" },
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^hx: invalid_input: Cannot forget until 2099-01-01 00:00:00: it is in the future/,
    );
    assert.deepEqual(await snapshot(home), before);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the data directory is private: 0700, and every file in it 0600", async () => {
  const root = await tempDir("hx-cli-modes-");
  const home = join(root, "home");
  const store = join(root, "store");
  await Deno.mkdir(store);
  try {
    await hx(home, ["record", "--session", "s", "--start", String(Date.now() - 1000)], {
      stdin: "ls",
    });
    await hx(home, ["sync", "init", "--store", `folder:${store}`]);
    await hx(home, ["sync", "push"]);
    await hx(home, ["pause", "--for", "1m"]);
    await hx(home, ["record", "--session", "s", "--start", "x"], { stdin: "bad time" }); // logs a failure
    const out = join(root, "key.txt");
    const exported = await hx(home, ["sync", "key", "export", "--out", out]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout, ""); // the key is in the file, not on the terminal
    assert.equal((await Deno.stat(out)).mode! & 0o777, 0o600);
    assert.match(await Deno.readTextFile(out), /^hxk1_/);
    const modes: string[] = [];
    const walk = async (dir: string) => {
      for await (const e of Deno.readDir(dir)) {
        const p = join(dir, e.name);
        const mode = (await Deno.lstat(p)).mode! & 0o777;
        if (e.isDirectory) {
          if (mode !== 0o700) modes.push(`${p}: ${mode.toString(8)}`);
          await walk(p);
        } else if (mode !== 0o600) modes.push(`${p}: ${mode.toString(8)}`);
      }
    };
    assert.equal((await Deno.stat(home)).mode! & 0o777, 0o700);
    await walk(home);
    assert.deepEqual(modes, []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("terminal escape sequences in commands and host names are shown escaped, never sent raw", async () => {
  const home = await tempDir("hx-cli-esc-");
  try {
    const evil = "echo \x1b]0;pwned\x07\x1b[2J\x1b[31mred\u202eevil";
    await hx(home, [
      "record",
      "--session",
      "s",
      "--start",
      String(Date.now() - 1000),
      "--exit",
      "1",
    ], {
      stdin: evil,
    });
    for (const args of [["find"], ["last"], ["find", "red"]]) {
      const r = await hx(home, args);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(
        // deno-lint-ignore no-control-regex -- a raw control character is what must not appear
        !/[\x00-\x08\x0b-\x1f\x7f\u202e]/.test(r.stdout),
        `${args.join(" ")} printed a raw control character`,
      );
      assert.match(r.stdout, /echo \\x1b\]0;pwned\\x07\\x1b\[2J\\x1b\[31mred\\u\{202e\}evil/);
    }
    // data outputs keep the command as it is
    const json = JSON.parse((await hx(home, ["find", "--json"])).stdout);
    assert.equal(json[0].cmd, evil);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hx last, hx pin --last and hx unpin act on this shell's session when it is the only one with history", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hx-last-" });
  try {
    const home = join(dir, "home");
    const env = { HX_SESSION: "only-shell" };
    for (const [i, cmd] of ["make", "make test", "git push"].entries()) {
      const args = ["record", "--session", "only-shell", "--seq", String(i + 1), "--duration", "5"];
      assert.equal(
        (await hx(home, [...args, "--exit", i === 1 ? "2" : "0"], { stdin: cmd })).code,
        0,
      );
    }
    const last = await hx(home, ["last", "--json"], { env });
    assert.equal(last.code, 0, last.stderr);
    const view = JSON.parse(last.stdout);
    assert.equal(view.session_id, "only-shell");
    assert.deepEqual(view.events.map((e: { cmd: string }) => e.cmd), [
      "make",
      "make test",
      "git push",
    ]);
    assert.equal(view.failures.length, 1);
    const pin = await hx(home, ["pin", "--last"], { env });
    assert.equal(pin.code, 0, pin.stderr);
    assert.match(pin.stdout, /Pinned session only-shell/);
    const unpin = await hx(home, ["unpin", "--session", "only-shell"]);
    assert.equal(unpin.code, 0, unpin.stderr);
    assert.match(unpin.stdout, /^Unpinned session only-shell\./);
    assert.deepEqual(JSON.parse((await hx(home, ["pins", "--json"])).stdout), []);
    assert.match((await hx(home, ["unpin", "--last"], { env })).stdout, /was not pinned/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
