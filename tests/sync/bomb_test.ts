// A key holder's gzip bomb: an object whose header declares a few KiB of plaintext and whose
// body inflates to 1 GiB of zeros. It is refused as too_large with a bounded peak RSS,
// through the one-shot path (a segment a pull imports) and the streaming path (a blob an
// artifact fetch reads). The victim runs in a child process, whose peak RSS is measured.

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  forgeManifest,
  forgeObject,
  forgerKey,
  gzipJson,
  gzipStream,
  layout,
  manifestPayload,
  segmentEntry,
  sha256,
  uuid,
  zeros,
} from "../_forge.ts";
import { Clock } from "./device.ts";
import { storeTest } from "./stores.ts";

const CHILD = new URL("../children/pull.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;

async function victim(
  home: string,
  mode: "pull" | "blob",
  env: Record<string, string>,
): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CHILD, home, mode],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(text.split("\n").at(-1)!);
}

storeTest(
  "a gzip bomb in a segment is refused as too_large with peak RSS under 200 MiB",
  async (s) => {
    const clock = new Clock();
    const b = await s.device("b", clock);
    const key = await b.init(s.uri);
    const forger = await forgerKey(key);
    const f = uuid();
    const segmentId = uuid();
    // 1 GiB of zeros, gzipped (~1 MiB), declared as 4 KiB of plaintext.
    const bomb = await forgeObject(
      forger,
      { object_type: "segment", node_id: f, segment_id: segmentId },
      await gzipStream(zeros(1024)),
      {
        byteLenPlain: 4096,
        compression: "gzip",
      },
    );
    await s.raw.putAtomic(layout.segment(forger.vaultId, f, segmentId), bomb);
    const segment = segmentEntry({
      segment_id: segmentId,
      sha256: await sha256(bomb),
      bytes: bomb.byteLength,
      no: 1,
      at: clock.now,
    });
    await s.raw.putAtomic(
      layout.manifest(forger.vaultId, f),
      await forgeManifest(forger, f, manifestPayload(forger, f, 1, { segments: [segment] })),
    );
    const result = await victim(b.home.path, "pull", s.env);
    assert.deepEqual(result.quarantine, [{ category: "too_large", reason: "too_large" }]);
    assert.ok((result.peak_kib as number) < 200 * 1024, `peak RSS ${result.peak_kib} KiB`);
  },
);

storeTest(
  "a gzip bomb in a blob is refused as too_large with peak RSS under 200 MiB",
  async (s) => {
    const clock = new Clock();
    const a = await s.device("a", clock);
    const b = await s.device("b", clock);
    const key = await a.init(s.uri);
    await b.join(s.uri, key);
    const forger = await forgerKey(key);
    const f = uuid();
    // An artifact of 10 bytes whose blob inflates (in 1 MiB sealed chunks) to 1 GiB.
    const blobHash = await forger.blobId("0".repeat(64)); // an id that matches what the artifact says
    const plainChunks: Uint8Array[] = [];
    const compressed = await gzipStream(zeros(1024));
    for (let at = 0; at < compressed.byteLength; at += MiB) {
      plainChunks.push(
        compressed.subarray(at, at + MiB),
      );
    }
    // STREAM: chunk i sealed under nonce prefix | u32 i | last flag (docs/format.md).
    const objectKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
      "encrypt",
    ]);
    const prefix = crypto.getRandomValues(new Uint8Array(7));
    const b64 = (x: Uint8Array) =>
      btoa(String.fromCharCode(...x)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const header = new TextEncoder().encode(JSON.stringify({
      magic: "HXOBJ",
      version: 1,
      object_type: "blob",
      vault_id: forger.vaultId,
      created_at: new Date().toISOString(),
      blob_hash: blobHash,
      byte_len_plain: 10,
      compression: "gzip",
      crypto: {
        alg: "A256GCM-STREAM",
        key_id: forger.keyId,
        nonce: b64(prefix),
        wrapped_key: b64(
          new Uint8Array(await crypto.subtle.wrapKey("raw", objectKey, forger.wrap, "AES-KW")),
        ),
        chunk_size: MiB,
      },
    }));
    const parts: Uint8Array[] = [new Uint8Array(4), header];
    new DataView(parts[0]!.buffer).setUint32(0, header.byteLength);
    for (let i = 0; i < plainChunks.length; i++) {
      const nonce = new Uint8Array(12);
      nonce.set(prefix);
      new DataView(nonce.buffer).setUint32(7, i);
      nonce[11] = i === plainChunks.length - 1 ? 1 : 0;
      parts.push(
        new Uint8Array(
          await crypto.subtle.encrypt(
            { name: "AES-GCM", iv: nonce, additionalData: header },
            objectKey,
            plainChunks[i]! as BufferSource,
          ),
        ),
      );
    }
    const blob = new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
    await s.raw.putAtomic(layout.blob(forger.vaultId, blobHash), blob);
    // A segment of node f that declares the artifact, and f's manifest.
    const segmentId = uuid();
    const session = "forged-session";
    const payload = {
      events: [{
        node_id: f,
        session_id: session,
        seq: 1,
        started_at: clock.now,
        ended_at: clock.now,
        duration_ms: 0,
        exit_code: 0,
        cwd: null,
        cmd: "make",
        host: null,
      }],
      sessions: [],
      pins: [],
      artifacts: [{
        artifact_id: uuid(),
        node_id: f,
        session_id: session,
        sha256: "0".repeat(64),
        blob_hash: blobHash,
        name: "build.log",
        size: 10,
        created_at: clock.now,
      }],
    };
    const plain = new TextEncoder().encode(JSON.stringify(payload));
    const segment = await forgeObject(
      forger,
      { object_type: "segment", node_id: f, segment_id: segmentId },
      await gzipJson(payload),
      {
        byteLenPlain: plain.byteLength,
        compression: "gzip",
      },
    );
    await s.raw.putAtomic(layout.segment(forger.vaultId, f, segmentId), segment);
    const declared = segmentEntry({
      segment_id: segmentId,
      sha256: await sha256(segment),
      bytes: segment.byteLength,
      no: 1,
      at: clock.now,
    });
    await s.raw.putAtomic(
      layout.manifest(forger.vaultId, f),
      await forgeManifest(forger, f, manifestPayload(forger, f, 1, { segments: [declared] })),
    );
    await b.pull();
    const result = await victim(b.home.path, "blob", s.env);
    assert.equal(
      (result.error as { category: string }).category,
      "too_large",
      JSON.stringify(result),
    );
    assert.ok((result.peak_kib as number) < 200 * 1024, `peak RSS ${result.peak_kib} KiB`);
    await assert.rejects(Deno.stat(join(b.home.path, "fetched"))); // nothing written
  },
);
