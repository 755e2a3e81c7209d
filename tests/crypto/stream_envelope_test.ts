import assert from "node:assert/strict";
import { openStream, sealStream } from "../../src/crypto/stream_envelope.ts";
import { VaultKey } from "../../src/crypto/vault_key.ts";
import type { HeaderFields } from "../../src/object/header.ts";
import { rejectionReason as reason } from "./_rejection.ts";

const vault_id = "0190f000-0000-7000-8000-000000000001";
const blob_hash = "ab".repeat(32);
const fields: HeaderFields = {
  object_type: "blob",
  vault_id,
  blob_hash,
  created_at: "2026-11-21T10:00:00.000Z",
};
const expect = { object_type: "blob" as const, vault_id, blob_hash };
const CHUNK = 1024;

function data(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function streamOf(bytes: Uint8Array, piece = 333): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function seal(
  plain: Uint8Array,
  key: VaultKey | null,
  compress = false,
): Promise<Uint8Array> {
  return await collect(
    await sealStream(fields, streamOf(plain), {
      key,
      plainLength: plain.length,
      compress,
      chunkSize: CHUNK,
    }),
  );
}

async function open(object: Uint8Array, key: VaultKey | null, piece = 500): Promise<Uint8Array> {
  const { plaintext } = await openStream(streamOf(object, piece), {
    key,
    expect,
    maxPlainBytes: 1 << 30,
  });
  return await collect(plaintext);
}

Deno.test("sealStream()/openStream() round trip at every size around chunk boundaries", async () => {
  const key = await VaultKey.generate();
  for (const n of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 517]) {
    for (const compress of [false, true]) {
      const plain = data(n, n + 1);
      const sealed = await seal(plain, key, compress);
      assert.deepEqual(await open(sealed, key), plain, `${n} ${compress}`);
      assert.deepEqual(await open(sealed, key, 7), plain, `${n} ${compress} small pieces`);
    }
  }
  const plain = data(5000);
  assert.deepEqual(await open(await seal(plain, null), null), plain);
});

Deno.test("openStream() rejects a stream cut at a chunk boundary, reordered chunks, and bit flips", async () => {
  const key = await VaultKey.generate();
  const plain = data(4 * CHUNK);
  const sealed = await seal(plain, key);
  const headerLen = 4 + new DataView(sealed.buffer).getUint32(0);
  const sealedChunk = CHUNK + 16;
  // cut after the second chunk: each remaining chunk authenticates, but none was sealed as last
  const cut = sealed.slice(0, headerLen + 2 * sealedChunk);
  assert.equal(await reason(open(cut, key)), "decrypt_failed");
  // swap chunks 0 and 1
  const swapped = sealed.slice();
  swapped.set(sealed.subarray(headerLen + sealedChunk, headerLen + 2 * sealedChunk), headerLen);
  swapped.set(sealed.subarray(headerLen, headerLen + sealedChunk), headerLen + sealedChunk);
  assert.equal(await reason(open(swapped, key)), "decrypt_failed");
  // a flipped bit anywhere in the body
  for (const at of [headerLen + 3, headerLen + sealedChunk + 100, sealed.length - 1]) {
    const flipped = sealed.slice();
    flipped[at]! ^= 4;
    assert.equal(await reason(open(flipped, key)), "decrypt_failed", String(at));
  }
  // cut inside the header
  assert.equal(await reason(open(sealed.slice(0, 10), key)), "truncated");
});

Deno.test("openStream() names a wrong key and checks expectations before reading the body", async () => {
  const key = await VaultKey.generate();
  const sealed = await seal(data(3000), key);
  assert.equal(await reason(open(sealed, await VaultKey.generate())), "wrong_key");
  const other = openStream(streamOf(sealed), {
    key,
    expect: { ...expect, blob_hash: "cd".repeat(32) },
    maxPlainBytes: 1 << 20,
  });
  assert.equal(await reason(other), "wrong_id");
  const tooBig = openStream(streamOf(sealed), { key, expect, maxPlainBytes: 100 });
  assert.equal(await reason(tooBig), "too_large");
});

/** A byte stream (as a file's or a store's is) over `bytes`. */
function byteStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Reads a stream with a BYOB reader, into views of changing, odd sizes. */
async function readByob(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = stream.getReader({ mode: "byob" });
  const parts: Uint8Array[] = [];
  for (let i = 0;; i++) {
    const { done, value } = await reader.read(new Uint8Array([1, 7, 333, 4096, 1500][i % 5]!));
    if (value !== undefined && value.byteLength > 0) parts.push(value.slice());
    if (done) break;
  }
  return concat(parts);
}

Deno.test("sealed and opened blobs are byte streams: BYOB and default readers get the same bytes", async () => {
  const key = await VaultKey.generate();
  for (const n of [0, CHUNK - 1, CHUNK, 5 * CHUNK + 3]) {
    const plain = data(n, n + 5);
    const sealOpts = { key, plainLength: n, compress: false, chunkSize: CHUNK };
    // a byte-stream source (as a file's is), read into the sealer's own buffers
    const viaByob = await readByob(sealStream(fields, byteStream(plain), sealOpts));
    const viaDefault = await collect(sealStream(fields, byteStream(plain), sealOpts));
    for (const sealed of [viaByob, viaDefault]) {
      const opened = () => openStream(byteStream(sealed), { key, expect, maxPlainBytes: n });
      assert.deepEqual(await readByob((await opened()).plaintext), plain, `${n} byob`);
      // every chunk a default reader got stays intact while later ones are read
      const chunks: Uint8Array[] = [];
      for await (const chunk of (await opened()).plaintext) chunks.push(chunk);
      assert.deepEqual(concat(chunks), plain, `${n} default`);
    }
  }
});
