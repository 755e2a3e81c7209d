import assert from "node:assert/strict";
import { listQuarantine } from "../../src/vault/quarantine.ts";
import { manifestKey, segmentKey } from "../../src/object/keys.ts";
import { openStore } from "../../src/store/open.ts";
import type { StoreError } from "../../src/store/errors.ts";
import { Clock, Device } from "../sync/device.ts";
import {
  envFor,
  FAST_RETRY,
  requests,
  s3Test,
  type S3TestServer,
  storeFor,
  uriFor,
} from "./servers.ts";
import { type Fault, startFaultProxy } from "./fault_proxy.ts";

async function devices(server: S3TestServer, n: number, clock = new Clock()): Promise<Device[]> {
  const out: Device[] = [];
  for (let i = 0; i < n; i++) {
    const d = await Device.create(`n${i}`, clock);
    d.storeOptions = { ...envFor(server), retry: FAST_RETRY };
    out.push(d);
  }
  return out;
}

async function setUp(
  server: S3TestServer,
  n: number,
  uri = uriFor(server),
): Promise<{ all: Device[]; uri: string; key: string }> {
  const all = await devices(server, n);
  const key = await all[0]!.init(uri);
  for (const d of all.slice(1)) await d.join(uri, key);
  return { all, uri, key };
}

async function dispose(all: Device[]): Promise<void> {
  for (const d of all) await d.dispose();
}

s3Test(
  "AB1: two and three devices converge through S3 (union, no duplicates, tombstones)",
  async (server) => {
    const { all, uri, key } = await setUp(server, 2);
    const [a, b] = all as [Device, Device];
    const c = (await devices(server, 1, a.clock))[0]!;
    try {
      for (let i = 0; i < 30; i++) a.record(`a ${i}`);
      for (let i = 0; i < 20; i++) b.record(`b ${i}`);
      const secretAt = a.clock.tick();
      a.record("secret", { at: secretAt });
      await a.push({ maxSegmentEvents: 7 });
      await b.push();
      await b.pull();
      await a.pull();
      assert.equal(a.state().length, 51);
      assert.deepEqual(a.state(), b.state());
      b.forget(secretAt, secretAt);
      await b.push();
      await a.pull();
      await c.join(uri, key);
      await c.pull();
      for (const d of [a, b, c]) {
        assert.equal(d.state().length, 50, d.name);
        assert.ok(!d.commands().includes("secret"), d.name);
      }
      assert.deepEqual(c.state(), a.state());
    } finally {
      await dispose([...all, c]);
    }
  },
);

s3Test(
  "AB2: a no-op pull is 1 LIST and 0 GET; after one pushed segment, 1 LIST and 2 GETs",
  async (server) => {
    const { all } = await setUp(server, 2);
    const [a, b] = all as [Device, Device];
    try {
      for (let i = 0; i < 5; i++) a.record(`a ${i}`);
      await a.push();
      await b.pull();
      const noop = await b.pull();
      assert.deepEqual(noop.requests, requests({ list: 1, get: 0, put: 0, head: 0, delete: 0 }));
      a.record("one more");
      const pushed = await a.push();
      assert.equal(pushed.segments.uploaded, 1);
      const pulled = await b.pull();
      assert.deepEqual(pulled.requests, requests({ list: 1, get: 2, put: 0, head: 0, delete: 0 }));
      assert.equal(pulled.manifests.fetched, 1);
      assert.equal(pulled.segments.imported, 1);
      assert.equal(pulled.events.inserted, 1);
    } finally {
      await dispose(all);
    }
  },
);

s3Test(
  "AB3/AB4: corrupt and wrong-vault objects do not import and do not block valid ones",
  async (server) => {
    const { all, uri } = await setUp(server, 2);
    const [a, b] = all as [Device, Device];
    const other = await setUp(server, 1);
    try {
      for (let i = 0; i < 6; i++) a.record(`a ${i}`);
      await a.push({ maxSegmentEvents: 2 });
      other.all[0]!.record("from another vault");
      await other.all[0]!.push();
      const raw = await openStore(uri, { ...envFor(server), retry: false });
      const vaultId = a.home.readConfig()!.vault_id;
      const otherVault = other.all[0]!.home.readConfig()!.vault_id;
      const segs = a.vault.db.all<{ segment_id: string }>(
        "SELECT segment_id FROM segments ORDER BY created_at, segment_id",
      );
      // corrupt: flip a byte of the first segment
      const k1 = segmentKey(vaultId, a.vault.nodeId, segs[0]!.segment_id);
      const bytes = (await raw.get(k1)).data;
      bytes[bytes.length - 2]! ^= 0xff;
      await raw.putAtomic(k1, bytes);
      // wrong vault: the other vault's manifest placed in this vault
      const otherRaw = await openStore(other.uri, { ...envFor(server), retry: false });
      const foreign = await otherRaw.get(manifestKey(otherVault, other.all[0]!.vault.nodeId));
      await raw.putAtomic(
        manifestKey(vaultId, other.all[0]!.vault.nodeId),
        foreign.data,
      );

      const result = await b.pull();
      assert.equal(result.segments.imported, 2);
      assert.deepEqual(b.commands(), ["a 2", "a 3", "a 4", "a 5"]);
      const q = listQuarantine(b.vault.db).map((e) => `${e.kind}:${e.category}:${e.reason}`).sort();
      assert.deepEqual(q, ["manifest:corrupt:wrong_vault", "segment:hash_mismatch:hash_mismatch"]);
    } finally {
      await dispose([...all, ...other.all]);
    }
  },
);

s3Test(
  "AB5: push and pull complete correctly through 503 SlowDown, resets and responses cut mid-body",
  async (server) => {
    const faults: Fault[] = ["slowdown", "reset", "cut", "internal"];
    let i = 0;
    const proxy = startFaultProxy(
      server.endpoint,
      () => (++i % 3 === 0 ? faults[(i / 3) % faults.length]! : null),
    );
    const uri = uriFor(server, undefined, proxy.endpoint);
    const { all } = await setUp(server, 2, uri);
    const [a, b] = all as [Device, Device];
    try {
      for (let n = 0; n < 40; n++) a.record(`a ${n}`);
      for (let n = 0; n < 25; n++) b.record(`b ${n}`);
      a.forget(a.clock.now - 3500, a.clock.now - 2500);
      await a.push({ maxSegmentEvents: 5 });
      await b.push({ maxSegmentEvents: 5 });
      await a.pull();
      await b.pull();
      assert.equal(a.state().length, 64);
      assert.deepEqual(a.state(), b.state());
      assert.equal(listQuarantine(a.vault.db).length, 0);
      assert.equal(listQuarantine(b.vault.db).length, 0);
      for (const f of faults) assert.ok((proxy.stats.faults[f] ?? 0) > 0, `no ${f} was injected`);
    } finally {
      await dispose(all);
      await proxy.close();
    }
  },
);

s3Test("wrong credentials fail as auth at once, without retries", async (server) => {
  // moto accepts any credentials: it has no case here.
  // s3rver checks only the access key id; MinIO checks the signature too.
  const wrong = server.kind === "minio"
    ? [{ id: server.accessKey, secret: "not-the-secret" }, {
      id: "nobody",
      secret: "not-the-secret",
    }]
    : [{ id: "nobody", secret: "not-the-secret" }];
  for (const creds of wrong) {
    const proxy = startFaultProxy(server.endpoint);
    try {
      const store = await openStore(uriFor(server, undefined, proxy.endpoint), {
        getEnv: (n) => ({ AWS_ACCESS_KEY_ID: creds.id, AWS_SECRET_ACCESS_KEY: creds.secret })[n],
        home: "/nonexistent",
        retry: FAST_RETRY,
      });
      await assert.rejects(store.putAtomic("k", new Uint8Array([1])), (e: StoreError) => {
        assert.equal(e.category, "auth");
        assert.match(e.message, /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied/);
        assert.ok(!e.message.includes("not-the-secret"));
        return true;
      });
      assert.equal(proxy.stats.requests, 1, "an auth failure must not be retried");
    } finally {
      await proxy.close();
    }
  }
}, { only: ["s3rver", "minio"] });

s3Test("a missing bucket fails as not_found with what to do, without retries", async (server) => {
  const proxy = startFaultProxy(server.endpoint);
  try {
    const uri = uriFor({ ...server, bucket: "no-such-bucket-here" }, "p", proxy.endpoint);
    const store = await openStore(uri, { ...envFor(server), retry: FAST_RETRY });
    await assert.rejects(Array.fromAsync(store.list("")), (e: StoreError) => {
      assert.equal(e.category, "not_found");
      assert.match(e.message, /NoSuchBucket/);
      assert.match(e.hint ?? "", /create the bucket/);
      return true;
    });
    assert.equal(proxy.stats.requests, 1);
  } finally {
    await proxy.close();
  }
});

Deno.test("an unreachable endpoint fails as network after a bounded number of quick attempts", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now
  const attempts: number[] = [];
  const store = await openStore(`s3://bkt/p?endpoint=http://127.0.0.1:${port}&path_style=true`, {
    getEnv: (n) => ({ AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" })[n],
    home: "/nonexistent",
    retry: { attempts: 4, baseMs: 5, capMs: 20, onRetry: ({ attempt }) => attempts.push(attempt) },
  });
  const started = Date.now();
  await assert.rejects(
    store.stat("k"),
    (e: StoreError) =>
      e.category === "network" && /refused the connection/.test(e.message) &&
      /endpoint/.test(e.hint ?? ""),
  );
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.ok(Date.now() - started < 5000);
});

s3Test(
  "put-if-absent holds with a HEAD check by default, and natively with conditional_put=true",
  async (server) => {
    const modes = server.kind === "s3rver" ? [""] : ["", "conditional_put=true"]; // s3rver ignores If-None-Match
    for (const params of modes) {
      const proxy = startFaultProxy(server.endpoint);
      try {
        const store = storeFor(server, undefined, proxy.endpoint, params);
        await store.putAtomic("k", new Uint8Array([1]), { ifAbsent: true });
        await assert.rejects(
          store.putAtomic("k", new Uint8Array([2]), { ifAbsent: true }),
          (e: StoreError) => e.category === "precondition",
        );
        assert.deepEqual([...(await store.get("k")).data], [1]);
        assert.equal(store.capabilities.conditionalPut, params !== "");
        const heads = proxy.stats.log.filter((l) => l.startsWith("HEAD")).length;
        assert.equal(heads, params === "" ? 2 : 0, params);
      } finally {
        await proxy.close();
      }
    }
  },
);

s3Test(
  "a clock far off is corrected from the server's Date header and the request retried once",
  async (server) => {
    const { parseS3Uri } = await import("../../src/store/s3/config.ts");
    const { S3Store } = await import("../../src/store/s3/store.ts");
    // MinIO refuses signatures more than 15 minutes off; s3rver and moto do not check, so the
    // proxy answers the first request as AWS would.
    let first = true;
    const proxy = startFaultProxy(server.endpoint, () => {
      if (server.kind !== "minio" && first) {
        first = false;
        return "skewed";
      }
      return null;
    });
    try {
      const store = new S3Store({
        config: parseS3Uri(uriFor(server, undefined, proxy.endpoint)),
        credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
        region: "us-east-1",
        now: () => Date.now() - 3 * 3600_000, // three hours slow
      });
      await store.putAtomic("k", new Uint8Array([1, 2, 3]));
      assert.equal((await store.stat("k"))?.size, 3);
      assert.equal(proxy.stats.requests, 3, proxy.stats.log.join("\n")); // refused, retried, then the stat
    } finally {
      await proxy.close();
    }
  },
);

s3Test("a stalled request times out and is retried", async (server) => {
  let stalled = 0;
  const proxy = startFaultProxy(
    server.endpoint,
    (r) => (r.method === "GET" && stalled++ === 0 ? "stall" : null),
  );
  try {
    const retried: string[] = [];
    const store = await openStore(uriFor(server, undefined, proxy.endpoint, "timeout_s=1"), {
      ...envFor(server),
      retry: { ...FAST_RETRY, onRetry: (info) => retried.push(info.category) },
    });
    await store.putAtomic("k", new Uint8Array([9]));
    assert.deepEqual([...(await store.get("k")).data], [9]);
    assert.equal(proxy.stats.faults.stall, 1);
    // The stalled GET was given up as a timeout (1 s), not waited out until the proxy hung up
    // (3 s, which would read as a reset).
    assert.deepEqual(retried, ["timeout"]);
  } finally {
    await proxy.close();
  }
});
