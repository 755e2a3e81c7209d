// S3 works however hx is installed or imported: installed with `deno install` as the README
// writes it, run by path from another directory, and imported by path from another Deno
// project (which does not have hx's deno.json, so no bare specifier may be left unresolved).

import assert from "node:assert/strict";
import { join } from "node:path";
import { s3Test, type S3TestServer, uriFor } from "./servers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function envOf(server: S3TestServer, home: string): Record<string, string> {
  return {
    HX_HOME: home,
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    AWS_CONFIG_FILE: "/nonexistent/config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
    NO_COLOR: "1",
  };
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** The words after `deno` of the README's `deno install` line. */
async function readmeInstallArgs(): Promise<string[]> {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const line = readme.split("\n").find((l) => l.startsWith("deno install "));
  assert.ok(line !== undefined, "the README has no deno install line");
  return line.replace(/#.*$/, "").trim().split(/\s+/).slice(1);
}

/** The V8 flags of the `hx` task in deno.json: the ones hx is meant to run with. */
async function taskV8Flags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  return (config.tasks.hx as string).split(/\s+/).filter((w) => w.startsWith("--v8-flags="));
}

Deno.test("the README's install line, deno task hx and deno task compile give hx the same V8 flags", async () => {
  const flags = await taskV8Flags();
  assert.ok(flags.length > 0);
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  for (const words of [await readmeInstallArgs(), config.tasks.compile.split(/\s+/)]) {
    assert.deepEqual(words.filter((w: string) => w.startsWith("--v8-flags=")), flags);
  }
});

s3Test("hx installed with deno install, as the README says, syncs through S3", async (server) => {
  const dir = await Deno.makeTempDir({ prefix: "hx-install-" });
  try {
    const env = { ...envOf(server, join(dir, "home")), DENO_INSTALL_ROOT: join(dir, "root") };
    // the README's install line, from a checkout, as written
    const install = await run(Deno.execPath(), await readmeInstallArgs(), {
      cwd: ROOT,
      env: { ...env, PATH: Deno.env.get("PATH") ?? "" },
    });
    assert.equal(install.code, 0, install.stderr);
    const hx = join(dir, "root", "bin", "hx");
    const shim = await Deno.readTextFile(hx);
    for (const flag of await taskV8Flags()) assert.ok(shim.includes(flag), shim);
    const elsewhere = await Deno.makeTempDir({ prefix: "hx-cwd-" });
    const init = await run(hx, ["sync", "init", "--store", uriFor(server)], {
      cwd: elsewhere,
      env: {
        ...env,
        PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${Deno.env.get("PATH") ?? ""}`,
      },
    });
    await Deno.remove(elsewhere, { recursive: true });
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /^Created vault /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, { only: ["s3rver", "minio"] });

s3Test("cli.ts run by path from another directory syncs through S3", async (server) => {
  const dir = await Deno.makeTempDir({ prefix: "hx-bypath-" });
  try {
    const env = envOf(server, join(dir, "home"));
    const cli = join(ROOT, "cli.ts");
    const init = await run(Deno.execPath(), [
      "run",
      "--allow-all",
      cli,
      "sync",
      "init",
      "--store",
      uriFor(server),
    ], {
      cwd: dir,
      env,
    });
    assert.equal(init.code, 0, init.stderr);
    const off = await run(Deno.execPath(), ["run", "--allow-all", cli, "sync", "auto", "--off"], {
      cwd: dir,
      env,
    });
    assert.equal(off.code, 0, off.stderr); // this test pushes by itself
    const record = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        cli,
        "record",
        "--session",
        "s",
        "--start",
        String(Date.now() - 1000),
      ],
      cwd: dir,
      env,
      stdin: "piped",
    }).spawn();
    const w = record.stdin.getWriter();
    await w.write(new TextEncoder().encode("make release"));
    await w.close();
    assert.equal((await record.status).code, 0);
    const push = await run(Deno.execPath(), ["run", "--allow-all", cli, "sync", "push", "--json"], {
      cwd: dir,
      env,
    });
    assert.equal(push.code, 0, push.stderr);
    assert.equal(JSON.parse(push.stdout).events, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, { only: ["s3rver", "minio"] });

s3Test(
  "a separate Deno project that imports mod.ts by path pushes to S3 and pulls back",
  async (server) => {
    const dir = await Deno.makeTempDir({ prefix: "hx-project-" });
    try {
      const store = uriFor(server);
      await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify({ imports: {} })); // a project of its own
      await Deno.writeTextFile(
        join(dir, "main.ts"),
        `import { Hx } from ${JSON.stringify(new URL("mod.ts", `file://${ROOT}`).href)};
const store = ${JSON.stringify(store)};
const a = Hx.open({ home: Deno.args[0] + "/a" });
const b = Hx.open({ home: Deno.args[0] + "/b" });
await a.syncInit({ store });
await b.syncJoin({ store, key: await a.exportKey() });
a.record({ cmd: "cargo build", session_id: "s1", started_at: Date.now() - 1000, exit_code: 0 });
const pushed = await a.push();
const pulled = await b.pull();
console.log(JSON.stringify({ pushed: pushed.events, pulled: pulled.events.inserted, found: b.find({ text: "cargo" }).length }));
a.close();
b.close();
`,
      );
      const out = await run(Deno.execPath(), ["run", "--allow-all", "main.ts", dir], {
        cwd: dir,
        env: envOf(server, join(dir, "unused")),
      });
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout.trim().split("\n").at(-1)!), {
        pushed: 1,
        pulled: 1,
        found: 1,
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { only: ["s3rver", "minio"] },
);
