// The settings file, as a user writes it, read by the CLI: what recording and import keep
// out, and what a broken file does (nothing is lost, and hx says so).

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSettings } from "../src/config_file.ts";
import { SETTINGS_CACHE } from "../src/config.ts";
import { HxError } from "../src/errors.ts";
import { hx } from "./_cli.ts";

async function setup(toml: string) {
  const dir = await Deno.makeTempDir({ prefix: "hx-config-" });
  const home = join(dir, "home");
  await Deno.mkdir(join(dir, "cfg", "hx"), { recursive: true });
  await Deno.writeTextFile(join(dir, "cfg", "hx", "config.toml"), toml);
  const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, "cfg") };
  const record = (cmd: string, cwd = dir) =>
    hx(home, ["record", "--session", "s1", "--duration", "5", "--cwd", cwd], {
      stdin: cmd,
      env,
    });
  const commands = async () =>
    (await hx(home, ["find", "--cmd-only", "--limit", "0"], { env })).stdout.trim().split("\n")
      .filter((l) => l !== "");
  return { dir, home, env, record, commands };
}

const RULES = `
[record]
secret_patterns = ['corp_[a-z0-9]{12}']
ignore_commands = ['^ls$', '^cd( |$)']
ignore_directories = ['~/private']
`;

Deno.test("a user's secret pattern is redacted at record and at import, like the built-in ones", async () => {
  const t = await setup(RULES);
  try {
    assert.equal((await t.record("deploy --auth corp_abcdef123456 now")).code, 0);
    const file = join(t.dir, ".zsh_history");
    await Deno.writeTextFile(file, ": 1700000000:0;curl -H 'X: corp_zyxwvu987654' x\n");
    assert.equal((await hx(t.home, ["import", "--file", file], { env: t.env })).code, 0);
    assert.deepEqual((await t.commands()).sort(), [
      "curl -H 'X: (redacted)' x",
      "deploy --auth (redacted) now",
    ]);
    const db = await Deno.readFile(join(t.home, "hx.db"));
    assert.ok(!new TextDecoder().decode(db).includes("corp_"), "the secret reached the index");
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("ignored commands and directories are never recorded nor imported", async () => {
  const t = await setup(RULES);
  try {
    await t.record("ls");
    await t.record("cd /etc");
    await t.record("cat notes.txt", join(t.dir, "private", "diary"));
    await t.record("cat notes.txt", join(t.dir, "private-not")); // a sibling, not below
    await t.record("lsof -i");
    const file = join(t.dir, ".zsh_history");
    await Deno.writeTextFile(file, ": 1700000000:0;ls\n: 1700000001:0;make\n");
    const imported = await hx(t.home, ["import", "--file", file, "--json"], { env: t.env });
    assert.equal(JSON.parse(imported.stdout).ignored, 1);
    assert.deepEqual((await t.commands()).sort(), ["cat notes.txt", "lsof -i", "make"]);
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("a broken settings file loses no command: hx records with the built-in rules and doctor and info say what is wrong", async () => {
  const t = await setup("[record]\nignore_comands = ['^ls$']\n");
  try {
    assert.equal((await t.record("export API_TOKEN=abc123 && ls")).code, 0);
    assert.deepEqual(await t.commands(), ["export API_TOKEN=(redacted) && ls"]);
    const find = await hx(t.home, ["find"], { env: t.env });
    assert.match(
      find.stderr,
      /^hx: invalid_input: .*config\.toml: unknown key record\.ignore_comands/,
    );
    assert.match(find.stderr, /using the defaults\n$/);
    const doctor = await hx(t.home, ["doctor"], { env: t.env });
    assert.match(doctor.stdout, /FIX {2}settings: .*unknown key record\.ignore_comands/);
    const info = JSON.parse((await hx(t.home, ["info", "--json"], { env: t.env })).stdout);
    assert.match(info.settings_problem, /ignore_comands/);
    assert.equal(info.settings_file, join(t.dir, "cfg", "hx", "config.toml"));
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("settings errors name the file, the line or key, and what is allowed", () => {
  const cases: [string, RegExp][] = [
    ["[search]\nmode = \n", /config\.toml: line 2: /],
    ['[search]\nmode = "regex"\n', /search\.mode must be one of fuzzy, prefix, fulltext/],
    ["[keys]\nctrl_r = 1\n", /keys\.ctrl_r must be true or false/],
    ["[record]\nsecret_patterns = ['(unclosed']\n", /record\.secret_patterns: .*\(unclosed/],
    ['[sync]\nauto = "often"\n', /sync\.auto must be a duration/],
    ["[colors]\n", /unknown table \[colors\]/],
    [
      "[record]\nignore_directories = ['private']\n",
      /"private" must be absolute or start with ~\//,
    ],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseSettings(text, "/x/config.toml"), (err: unknown) => {
      assert.ok(err instanceof HxError && err.category === "invalid_input");
      assert.match(err.message, re);
      return true;
    });
  }
  const s = parseSettings('[sync]\nauto = "2h"\n[keys]\nup_arrow = true\n', "/x/config.toml");
  assert.equal(s.sync.auto_minutes, 120);
  assert.equal(s.keys.up_arrow, true);
  assert.equal(s.keys.ctrl_r, true);
});

Deno.test("a settings file is read again as soon as it changes, and a damaged parse cache is never used", async () => {
  const t = await setup("[record]\nignore_commands = ['^ls$']\n");
  const config = join(t.dir, "cfg", "hx", "config.toml");
  const cache = join(t.home, SETTINGS_CACHE);
  try {
    await t.record("ls");
    await t.record("make"); // read from the cache now
    assert.ok((await Deno.stat(cache)).isFile, "the parse was not kept");
    // Same length, same second: only the text tells the two files apart.
    await Deno.writeTextFile(config, "[record]\nignore_commands = ['^ps$']\n");
    await t.record("ls");
    await t.record("ps");
    assert.deepEqual(await t.commands(), ["make", "ls"]);
    // `~` expands to the home of the command reading the file, not of the one that cached it.
    await Deno.writeTextFile(config, "[record]\nignore_directories = ['~/private']\n");
    await t.record("cat a", join(t.dir, "private"));
    const other = join(t.dir, "other");
    const elsewhere = await hx(
      t.home,
      ["record", "--session", "s1", "--duration", "5", "--cwd", join(other, "private")],
      { stdin: "cat b", env: { ...t.env, HOME: other } },
    );
    assert.equal(elsewhere.code, 0);
    await t.record("cat a", join(t.dir, "private")); // cached again, with this home
    const good = JSON.parse(await Deno.readTextFile(cache));
    assert.equal(good.home, t.dir);
    const damages = [
      "{not json",
      "",
      JSON.stringify({ ...good, settings: { ...good.settings, record: { ignore_commands: [] } } }),
      JSON.stringify({ ...good, settings: { ...good.settings, keys: "no" } }),
    ];
    for (const damage of damages) {
      await Deno.writeTextFile(cache, damage);
      assert.equal((await t.record("cat c", join(t.dir, "private"))).code, 0);
    }
    const kept = JSON.parse(await Deno.readTextFile(cache));
    assert.deepEqual(kept.settings.record.ignore_directories, [join(t.dir, "private")]);
    assert.deepEqual(await t.commands(), ["make", "ls"]);
  } finally {
    await Deno.remove(t.dir, { recursive: true });
  }
});
