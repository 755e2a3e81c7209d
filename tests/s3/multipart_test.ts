import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { StoreError } from "../../src/store/errors.ts";
import type { ReplayableBody } from "../../src/store/types.ts";
import { listUploads, s3Test, storeFor } from "./servers.ts";
import { type Fault, startFaultProxy } from "./fault_proxy.ts";

const MiB = 1024 * 1024;

/** A deterministic pseudo-random stream of `size` bytes; its SHA-256 is known once it ends. */
function source(
  size: number,
  seed = 7,
): {
  stream: ReadableStream<Uint8Array>;
  body: ReplayableBody;
  pulled: () => number;
  sha256: () => string;
} {
  const hash = createHash("sha256");
  let x = seed >>> 0;
  let sent = 0;
  let digest = "";
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) {
        digest = hash.digest("hex");
        controller.close();
        return;
      }
      const n = Math.min(MiB, size - sent);
      const chunk = new Uint8Array(n);
      const words = new Uint32Array(chunk.buffer, 0, Math.floor(n / 4));
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      hash.update(chunk);
      sent += n;
      controller.enqueue(chunk);
    },
  });
  // Opened once: the uploader retries parts from its own buffers, never the source.
  const body: ReplayableBody = { open: () => stream, size };
  return { stream, body, pulled: () => sent, sha256: () => digest };
}

async function sha256Of(
  stream: ReadableStream<Uint8Array>,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { size, sha256: hash.digest("hex") };
}

s3Test(
  "AB6: a 100 MiB blob goes up as multipart; a reader polling meanwhile sees nothing or all of it",
  async (server) => {
    const proxy = startFaultProxy(server.endpoint);
    const prefix = `mp-${crypto.randomUUID()}`;
    const store = storeFor(server, prefix, proxy.endpoint, "part_size_mib=5");
    const reader = storeFor(server, prefix);
    const size = 100 * MiB;
    const src = source(size);
    const seen = new Set<string>();
    let done = false;
    const polling = (async () => {
      while (!done) {
        const info = await reader.stat("blobs/big");
        seen.add(info === null ? "absent" : String(info.size));
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    await store.putAtomic("blobs/big", src.body);
    done = true;
    await polling;
    assert.ok(seen.has("absent"), "the reader never polled during the upload");
    assert.deepEqual([...seen].filter((s) => s !== "absent"), seen.size > 1 ? [String(size)] : []);
    const parts = proxy.stats.log.filter((l) => /^PUT .*partNumber=/.test(l)).length;
    assert.equal(parts, Math.ceil(size / (5 * MiB)));
    const { stream, info } = await reader.getStream("blobs/big");
    assert.equal(info.size, size);
    assert.deepEqual(await sha256Of(stream), { size, sha256: src.sha256() });
    await proxy.close();
  },
);

s3Test(
  "a failed multipart upload leaves no visible object and aborts the upload",
  async (server) => {
    // every attempt at part 3 fails: its retries run out and the upload must be aborted
    const proxy = startFaultProxy(
      server.endpoint,
      (r) => (/partNumber=3&/.test(r.target) ? "internal" : null),
    );
    const prefix = `mp-${crypto.randomUUID()}`;
    const store = storeFor(
      server,
      prefix,
      proxy.endpoint,
      "part_size_mib=5&multipart_threshold_mib=5",
    );
    try {
      await assert.rejects(
        store.putAtomic("blobs/doomed", source(30 * MiB).body),
        (e: StoreError) => e.category === "unknown" && !e.retryable,
      );
      assert.equal(await storeFor(server, prefix).stat("blobs/doomed"), null);
      const created = proxy.stats.log.find((l) => /^POST .*\?uploads=/.test(l));
      assert.ok(created !== undefined);
      const aborts = proxy.stats.log.filter((l) => /^DELETE .*uploadId=/.test(l));
      assert.equal(aborts.length, 1, "the upload was not aborted");
      if (server.kind !== "s3rver") {
        // s3rver implements neither AbortMultipartUpload nor ListMultipartUploads
        assert.deepEqual(await listUploads(server, `${prefix}/blobs/doomed`), []);
      }
    } finally {
      await proxy.close();
    }
  },
);

s3Test("an upload aborted by its signal midway leaves nothing behind", async (server) => {
  const prefix = `mp-${crypto.randomUUID()}`;
  const store = storeFor(server, prefix, undefined, "part_size_mib=5&multipart_threshold_mib=5");
  const controller = new AbortController();
  const src = source(60 * MiB);
  let progressed = 0;
  const put = store.putAtomic("blobs/cancelled", src.body, {
    signal: controller.signal,
    onProgress: (done) => {
      progressed = done;
      if (done >= 10 * MiB) controller.abort(new Error("user pressed ^C"));
    },
  });
  await assert.rejects(put, /user pressed/);
  assert.ok(progressed >= 10 * MiB);
  assert.ok(src.pulled() < 60 * MiB, "the source was read to the end after the abort");
  assert.equal(await store.stat("blobs/cancelled"), null);
  if (server.kind !== "s3rver") {
    assert.deepEqual(await listUploads(server, `${prefix}/blobs/cancelled`), []);
  }
});

s3Test(
  "a Complete answered 200 with an <Error>, or cut off after it landed, still yields the whole object",
  async (server) => {
    for (const fault of ["complete-error", "cut"] as Fault[]) {
      let faulted = false;
      const proxy = startFaultProxy(server.endpoint, (r) => {
        if (!faulted && r.method === "POST" && /\?uploadId=/.test(r.target)) {
          faulted = true;
          return fault;
        }
        return null;
      });
      const prefix = `mp-${crypto.randomUUID()}`;
      const store = storeFor(
        server,
        prefix,
        proxy.endpoint,
        "part_size_mib=5&multipart_threshold_mib=5",
      );
      try {
        const src = source(12 * MiB, 3);
        await store.putAtomic("blobs/k", src.body);
        assert.ok(faulted);
        const { stream } = await store.getStream("blobs/k");
        assert.deepEqual(await sha256Of(stream), { size: 12 * MiB, sha256: src.sha256() }, fault);
      } finally {
        await proxy.close();
      }
    }
  },
);

s3Test(
  "multipart memory is bounded by part size x concurrency, not by the object",
  async (server) => {
    const prefix = `mp-${crypto.randomUUID()}`;
    const store = storeFor(
      server,
      prefix,
      undefined,
      "part_size_mib=5&multipart_threshold_mib=5&concurrency=2",
    );
    const src = source(80 * MiB);
    let acknowledged = 0;
    let maxAhead = 0;
    const watcher = setInterval(
      () => (maxAhead = Math.max(maxAhead, src.pulled() - acknowledged)),
      1,
    );
    try {
      await store.putAtomic("blobs/bounded", src.body, {
        onProgress: (done) => (acknowledged = done),
      });
    } finally {
      clearInterval(watcher);
    }
    // in flight: at most `concurrency` parts, plus the one being filled, plus one source chunk
    assert.ok(
      maxAhead <= (2 + 1) * 5 * MiB + MiB,
      `read ${maxAhead / MiB} MiB ahead of the uploads`,
    );
    assert.equal(acknowledged, 80 * MiB);
  },
);

s3Test(
  "a download in ranges gives a BYOB reader and a default reader that keeps its chunks the same bytes",
  async (server) => {
    const store = storeFor(server, `mp-${crypto.randomUUID()}`, undefined, "part_size_mib=5");
    const size = 13 * MiB + 5; // three ranges, the last one short
    const src = source(size, 11);
    await store.putAtomic("blobs/ranged", src.body);
    const expected = src.sha256();
    // default reader: every chunk is kept until the end, so a buffer reused under it shows
    const chunks: Uint8Array[] = [];
    for await (const chunk of (await store.getStream("blobs/ranged")).stream) chunks.push(chunk);
    const kept = createHash("sha256");
    for (const chunk of chunks) kept.update(chunk);
    assert.equal(chunks.reduce((n, c) => n + c.byteLength, 0), size);
    assert.equal(kept.digest("hex"), expected);
    // BYOB reader, into views of odd sizes
    const reader = (await store.getStream("blobs/ranged")).stream.getReader({ mode: "byob" });
    const hash = createHash("sha256");
    let got = 0;
    for (let i = 0;; i++) {
      const { done, value } = await reader.read(new Uint8Array([1, 4093, 65536, 3 * MiB][i % 4]!));
      if (value !== undefined) {
        hash.update(value);
        got += value.byteLength;
      }
      if (done) break;
    }
    assert.equal(got, size);
    assert.equal(hash.digest("hex"), expected);
    await store.close?.();
  },
);
