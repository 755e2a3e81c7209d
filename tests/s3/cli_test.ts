import assert from "node:assert/strict";
import { join } from "node:path";
import { hx } from "../_cli.ts";
import { requests, s3Test } from "./servers.ts";

/** hx with the environment a test passes, and stdin. */
function run(home: string, args: string[], env: Record<string, string>, stdin?: string) {
  return hx(home, args, { env, ...(stdin === undefined ? {} : { stdin }) });
}

s3Test(
  "the CLI syncs two devices through S3 given --endpoint, --region and --path-style",
  async (server) => {
    const root = await Deno.makeTempDir({ prefix: "hx-s3-cli-" });
    const a = join(root, "a");
    const b = join(root, "b");
    const secret = server.secretKey;
    const env = { AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: secret };
    const prefix = `cli-${crypto.randomUUID()}`;
    const storeArgs = [
      "--store",
      `s3://${server.bucket}/${prefix}`,
      "--endpoint",
      server.endpoint,
      "--region",
      "us-east-1",
      "--path-style",
    ];
    try {
      let r = await run(a, ["sync", "init", ...storeArgs], env);
      assert.equal(r.code, 0, r.stderr);
      await run(a, ["sync", "auto", "--off"], env); // this test pushes explicitly
      await run(a, [
        "record",
        "--cmd",
        "terraform apply",
        "--session",
        "s",
        "--start",
        "1700000000",
        "--exit",
        "0",
      ], env);
      r = await run(a, ["sync", "push", "--json"], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).requests, requests({ put: 2, head: 1 }));
      const key = (await run(a, ["sync", "key", "export"], env)).stdout.trim();
      r = await run(b, ["sync", "join", ...storeArgs, "--key", "-"], env, key);
      assert.equal(r.code, 0, r.stderr);
      r = await run(b, ["sync", "pull", "--json"], env);
      const pulled = JSON.parse(r.stdout);
      assert.equal(pulled.events.inserted, 1);
      assert.deepEqual(pulled.requests, requests({ list: 1, get: 2, put: 0, head: 0, delete: 0 }));
      r = await run(b, ["find", "terraform", "--json"], env);
      assert.equal(JSON.parse(r.stdout)[0].cmd, "terraform apply");

      // wrong credentials: one categorised line, recorded for status with what to do (moto
      // accepts any credentials, so it has no such case)
      let status;
      if (server.kind !== "moto") {
        const bad = { AWS_ACCESS_KEY_ID: "nobody", AWS_SECRET_ACCESS_KEY: "wrong-secret-value" };
        r = await run(b, ["sync", "pull"], bad);
        assert.equal(r.code, 1);
        assert.equal(r.stderr.trim().split("\n").length, 1);
        assert.match(r.stderr, /^hx: auth: .*InvalidAccessKeyId/);
        status = JSON.parse((await run(b, ["sync", "status", "--json"], env)).stdout);
        assert.equal(status.last_error.category, "auth");
        assert.ok(status.last_error.hint.length > 0);
      } else {
        status = JSON.parse((await run(b, ["sync", "status", "--json"], env)).stdout);
      }
      assert.match(status.store, new RegExp(`^s3://${server.bucket}/${prefix}/\\?endpoint=`));

      // no secret anywhere: outputs, config files, status
      const everything = [r.stdout, r.stderr, JSON.stringify(status)];
      for (const home of [a, b]) {
        everything.push(await Deno.readTextFile(join(home, "sync.json")));
      }
      for (const text of everything) {
        assert.ok(!text.includes(secret), "the S3 secret leaked");
        assert.ok(!text.includes("wrong-secret-value"), "a secret leaked");
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
