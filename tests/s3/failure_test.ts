// S3 under real failure, through the CLI as a user runs it: replies lost after writes
// landed, throttling on attachments, endpoints that never answer, refuse, or speak the other
// protocol, and pushes killed in the middle of an upload.

import assert from "node:assert/strict";
import { join } from "node:path";
import { hx, spawnHx } from "../_cli.ts";
import { forgerKey } from "../_forge.ts";
import { startFaultProxy } from "./fault_proxy.ts";
import { freePort, listUploads, s3Test, type S3TestServer, uriFor } from "./servers.ts";

const MiB = 1024 * 1024;

function envOf(server: S3TestServer): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey };
}

async function vaultsUnder(server: S3TestServer, prefix: string): Promise<string[]> {
  const { openStore } = await import("../../src/store/open.ts");
  const raw = await openStore(uriFor(server, prefix), {
    getEnv: (n) => envOf(server)[n],
    home: "/nonexistent",
    retry: false,
  });
  const keys: string[] = [];
  for await (const info of raw.list("vaults/")) keys.push(info.key);
  await raw.close?.();
  return keys;
}

for (const params of ["", "conditional_put=true"]) {
  s3Test(
    `sync init and a passphrase slot succeed when the reply to their write is lost${
      params ? ` (${params})` : ""
    }`,
    async (server) => {
      let lostDescriptor = 0;
      let lostSlot = 0;
      const proxy = startFaultProxy(server.endpoint, (r) => {
        if (r.method !== "PUT") return null;
        if (r.target.includes("vault.hxvault") && lostDescriptor++ === 0) return "lost";
        if (r.target.includes(".hxkey") && lostSlot++ === 0) return "lost";
        return null;
      });
      const home = await Deno.makeTempDir({ prefix: "hx-lost-" });
      const prefix = `lost-${crypto.randomUUID()}`;
      try {
        const uri = uriFor(server, prefix, proxy.endpoint, params);
        const env = { ...envOf(server), HX_PASSPHRASE: "correct horse battery staple" };
        const init = await hx(home, ["sync", "init", "--store", uri, "--passphrase"], { env });
        assert.equal(init.code, 0, init.stderr);
        // both writes landed and their replies were lost; the retries found the objects theirs
        assert.equal(proxy.stats.faults.lost, 2);
        const keys = await vaultsUnder(server, prefix);
        assert.equal(keys.filter((k) => k.endsWith("vault.hxvault")).length, 1); // one vault, no orphan
        assert.equal(keys.filter((k) => k.endsWith(".hxkey")).length, 1);
        // and the vault works: a second device joins it with the passphrase
        const other = await Deno.makeTempDir({ prefix: "hx-lost-b-" });
        const join = await hx(other, ["sync", "join", "--store", uri, "--passphrase"], { env });
        await Deno.remove(other, { recursive: true });
        assert.equal(join.code, 0, join.stderr);
      } finally {
        await proxy.close();
        await Deno.remove(home, { recursive: true });
      }
    },
    // s3rver ignores If-None-Match: the native mode needs a server that enforces it
    params === "" ? {} : { only: ["minio", "moto"] },
  );
}

s3Test(
  "a throttled attachment upload is retried, counted and told with --verbose",
  async (server) => {
    let throttled = 0;
    const proxy = startFaultProxy(
      server.endpoint,
      (r) =>
        r.method === "PUT" && r.target.includes(".hxblob") && throttled++ < 2 ? "slowdown" : null,
    );
    const home = await Deno.makeTempDir({ prefix: "hx-slow-" });
    try {
      const env = envOf(server);
      assert.equal(
        (await hx(home, ["sync", "init", "--store", uriFor(server, undefined, proxy.endpoint)], {
          env,
        })).code,
        0,
      );
      await hx(home, ["sync", "auto", "--off"], { env });
      const file = join(home, "build.log");
      await Deno.writeFile(file, crypto.getRandomValues(new Uint8Array(65536)));
      assert.equal((await hx(home, ["attach", "--file", file], { env })).code, 0);
      const push = await hx(home, ["sync", "push", "--json", "--verbose"], { env });
      assert.equal(push.code, 0, push.stderr);
      const result = JSON.parse(push.stdout);
      assert.equal(result.blobs.uploaded, 1);
      assert.deepEqual(result.retries, { throttled: 2 });
      const retryLines = push.stderr.split("\n").filter((l) => l.startsWith("hx: retrying put "));
      assert.equal(retryLines.length, 2, push.stderr);
      assert.match(retryLines[0]!, /after throttled \(attempt 1\): .*SlowDown/);
    } finally {
      await proxy.close();
      await Deno.remove(home, { recursive: true });
    }
  },
  { only: ["minio", "s3rver"] },
);

Deno.test({
  name:
    "an endpoint that accepts connections and never answers fails init, push and pull with a timeout line within 45 s",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const c of listener) held.push(c); // accept, read nothing, answer nothing
    })();
    const port = (listener.addr as Deno.NetAddr).port;
    const uri = `s3+http://127.0.0.1:${port}/black-hole/p`;
    const env = { AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" };
    const root = await Deno.makeTempDir({ prefix: "hx-hole-" });
    try {
      // push and pull need devices set up for that store: their configuration, as init writes it
      const ready = async (name: string) => {
        const home = join(root, name);
        await Deno.mkdir(home, { mode: 0o700 });
        await Deno.writeTextFile(
          join(home, "sync.json"),
          JSON.stringify({
            store: uri,
            vault_id: crypto.randomUUID(),
            encrypted: false,
            joined_at: 0,
          }),
        );
        return home;
      };
      const [pusher, puller] = [await ready("pusher"), await ready("puller")];
      const started = Date.now();
      const runs = await Promise.all([
        hx(join(root, "fresh"), ["sync", "init", "--store", uri], { env }),
        hx(pusher, ["sync", "push"], { env }),
        hx(puller, ["sync", "pull"], { env }),
      ]);
      const elapsed = Date.now() - started;
      for (const r of runs) {
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^hx: timeout: .*no progress for 15 s/);
        assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      }
      assert.ok(elapsed < 45_000, `took ${elapsed} ms`);
    } finally {
      listener.close();
      for (const c of held) c.close();
      await accepting.catch(() => {});
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("a refused endpoint and a TLS mismatch each say what happened, once", async () => {
  const home = await Deno.makeTempDir({ prefix: "hx-refused-" });
  const env = { AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s", HX_STORE_DEADLINE_S: "1" };
  const plain = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("hi"),
  );
  try {
    const refused = await hx(home, [
      "sync",
      "init",
      "--store",
      `s3+http://127.0.0.1:${freePort()}/bkt/p`,
    ], { env });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^hx: network: Cannot .*: 127\.0\.0\.1:\d+ refused the connection .*\(check the endpoint's host and port, and that the server runs\)\n$/,
    );
    // https:// to a server that speaks plain HTTP
    const tls = await hx(home, [
      "sync",
      "init",
      "--store",
      `s3+https://127.0.0.1:${plain.addr.port}/bkt/p`,
    ], { env });
    assert.equal(tls.code, 1);
    assert.match(tls.stderr, /^hx: network: .*TLS handshake with 127\.0\.0\.1:\d+ failed/);
    assert.match(tls.stderr, /if the server speaks plain HTTP, use an http:\/\/ endpoint/);
    for (const r of [refused, tls]) {
      assert.equal(r.stderr.trim().split("\n").length, 1);
      assert.ok(!/\.hx-probe|Cannot [^:]*: Cannot/.test(r.stderr), r.stderr); // no internal keys, no repeats
    }
  } finally {
    await plain.shutdown();
    await Deno.remove(home, { recursive: true });
  }
});

s3Test(
  "a push killed mid-upload strands nothing: the next push aborts its unfinished upload and completes",
  async (server) => {
    // Parts are slowed by the proxy so that the kill lands in the middle of the upload.
    const proxy = startFaultProxy(server.endpoint, () => null, { delayPartsMs: 150 });
    const home = await Deno.makeTempDir({ prefix: "hx-kill-" });
    const prefix = `kill-${crypto.randomUUID()}`;
    try {
      const env = envOf(server);
      const uri = uriFor(server, prefix, proxy.endpoint, "part_size_mib=5&concurrency=1");
      assert.equal((await hx(home, ["sync", "init", "--store", uri], { env })).code, 0);
      await hx(home, ["sync", "auto", "--off"], { env });
      const file = join(home, "core.dump");
      const data = crypto.getRandomValues(new Uint8Array(65536));
      const big = new Uint8Array(60 * MiB);
      for (let at = 0; at < big.length; at += data.length) big.set(data, at);
      await Deno.writeFile(file, big);
      assert.equal((await hx(home, ["attach", "--file", file], { env })).code, 0);
      const sha = Array.from(
        new Uint8Array(await crypto.subtle.digest("SHA-256", big)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
      const exported = (await hx(home, ["sync", "key", "export"], { env })).stdout.trim();
      const forger = await forgerKey(exported);
      const blobId = await forger.blobId(sha);
      const key = `${prefix}/vaults/${forger.vaultId}/objects/blobs/${blobId.slice(0, 2)}/${
        blobId.slice(2, 4)
      }/${blobId}.hxblob`;
      const push = spawnHx(home, ["sync", "push"], env);
      // wait until the upload has started and a few parts are in, then SIGKILL
      while (proxy.stats.log.filter((l) => l.includes("partNumber=")).length < 3) {
        await new Promise((r) => setTimeout(r, 50));
      }
      push.kill("SIGKILL");
      await push.output();
      assert.equal((await listUploads(server, key)).length, 1, "the killed push left its upload");
      const again = await hx(home, ["sync", "push", "--json"], { env });
      assert.equal(again.code, 0, again.stderr);
      const result = JSON.parse(again.stdout);
      assert.equal(result.aborted_uploads, 1);
      assert.equal(result.blobs.uploaded, 1);
      assert.deepEqual(await listUploads(server, key), []);
      assert.deepEqual(await listUploads(server, `${prefix}/`), []);
    } finally {
      await proxy.close();
      await Deno.remove(home, { recursive: true });
    }
  },
  { only: ["minio", "moto"] }, // s3rver implements neither ListMultipartUploads nor Abort
);
