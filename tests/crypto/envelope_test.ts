import assert from "node:assert/strict";
import { INFLATE_SLICE, openObject, sealObject, slicer } from "../../src/crypto/envelope.ts";
import { VaultKey } from "../../src/crypto/vault_key.ts";
import type { IntegrityError } from "../../src/errors.ts";
import type { HeaderFields } from "../../src/object/header.ts";
import { rejectionReason as reason } from "./_rejection.ts";

const vault_id = "0190f000-0000-7000-8000-000000000001";
const node_id = "0190f000-0000-7000-8000-0000000000aa";
const segment_id = "0190f000-0000-7000-8000-0000000000bb";
const fields: HeaderFields = {
  object_type: "segment",
  vault_id,
  node_id,
  segment_id,
  created_at: "2026-11-21T10:00:00.000Z",
};
const secret = new TextEncoder().encode(
  JSON.stringify({ events: [{ cmd: "export TOKEN=hunter2" }] }),
);
const expect = { object_type: "segment" as const, vault_id, node_id, segment_id };

Deno.test("sealObject() output holds no plaintext and openObject() restores it", async () => {
  const key = await VaultKey.generate();
  const sealed = await sealObject(fields, secret, { key });
  const asText = new TextDecoder("latin1").decode(sealed);
  assert.ok(!asText.includes("hunter2"));
  assert.ok(!asText.includes("TOKEN"));
  const opened = await openObject(sealed, { key, expect, maxPlainBytes: 1 << 20 });
  assert.deepEqual(opened.payload, secret);
  assert.equal(opened.header.crypto.alg, "A256GCM");
});

Deno.test("openObject() names a wrong key by its fingerprint before decrypting", async () => {
  const key = await VaultKey.generate();
  const other = await VaultKey.generate();
  const sealed = await sealObject(fields, secret, { key });
  await assert.rejects(
    openObject(sealed, { key: other, expect, maxPlainBytes: 1 << 20 }),
    (e: IntegrityError) => e.reason === "wrong_key" && e.message.includes(key.keyId),
  );
});

Deno.test("openObject() rejects every single-bit flip in header or body", async () => {
  const key = await VaultKey.generate();
  const sealed = await sealObject(fields, secret, { key });
  const reasons = new Set<string>();
  for (let i = 0; i < sealed.length; i++) {
    const copy = sealed.slice();
    copy[i]! ^= 1 << (i % 8);
    reasons.add(await reason(openObject(copy, { key, expect, maxPlainBytes: 1 << 20 })));
  }
  // length prefix flips read as truncated/bad_header; JSON flips as bad_header or a field
  // mismatch; everything else fails authentication. Nothing opens.
  for (const r of reasons) {
    assert.ok(
      [
        "truncated",
        "bad_header",
        "decrypt_failed",
        "wrong_key",
        "wrong_vault",
        "wrong_node",
        "wrong_id",
        "wrong_kind",
        "too_large",
        "unsupported_version",
      ].includes(r),
      r,
    );
  }
  assert.ok(reasons.has("decrypt_failed"));
});

Deno.test("openObject() rejects a header edited to a still-valid value (the header is AAD)", async () => {
  const key = await VaultKey.generate();
  const sealed = await sealObject(fields, secret, { key });
  const text = new TextDecoder("latin1").decode(sealed);
  const at = text.indexOf("2026-11-21T10:00:00.000Z");
  assert.ok(at > 0);
  const bytes = sealed.slice();
  bytes[at + 12] = "1".charCodeAt(0); // 10:00 -> 11:00, same length, still a valid header
  assert.equal(
    await reason(openObject(bytes, { key, expect, maxPlainBytes: 1 << 20 })),
    "decrypt_failed",
  );
});

Deno.test("openObject() rejects every truncation", async () => {
  const key = await VaultKey.generate();
  const sealed = await sealObject(fields, secret, { key });
  for (const len of [0, 2, 4, 10, 50, sealed.length - 17, sealed.length - 1]) {
    const r = await reason(
      openObject(sealed.subarray(0, len), { key, expect, maxPlainBytes: 1 << 20 }),
    );
    assert.ok(["truncated", "decrypt_failed"].includes(r), `${len}: ${r}`);
  }
});

Deno.test("openObject() checks kind, vault, node and id before decrypting", async () => {
  const key = await VaultKey.generate();
  const sealed = await sealObject(fields, secret, { key });
  const open = (e: object) =>
    openObject(sealed, { key, expect: { ...expect, ...e }, maxPlainBytes: 1 << 20 });
  assert.equal(
    await reason(open({ vault_id: "0190f000-0000-7000-8000-000000000002" })),
    "wrong_vault",
  );
  assert.equal(
    await reason(open({ node_id: "0190f000-0000-7000-8000-000000000003" })),
    "wrong_node",
  );
  assert.equal(
    await reason(open({ segment_id: "0190f000-0000-7000-8000-000000000004" })),
    "wrong_id",
  );
  assert.equal(await reason(open({ object_type: "manifest" })), "wrong_kind");
});

Deno.test("openObject() refuses an object that declares more plaintext than allowed, before decrypting", async () => {
  const key = await VaultKey.generate();
  const big = new Uint8Array(2_000_000); // zeros compress to almost nothing
  const sealed = await sealObject(fields, big, { key });
  assert.ok(sealed.length < 10_000);
  const e = await reason(openObject(sealed, { key, expect, maxPlainBytes: 1_000_000 }));
  assert.equal(e, "too_large");
});

Deno.test("gunzipBounded() stops a 1 GiB bomb declared as 1 KiB within a few MiB of memory", async () => {
  // In a process of its own, so that its peak RSS is the bomb's alone.
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { createGzip } from "node:zlib";
import { gunzipBounded } from "${new URL("../../src/crypto/envelope.ts", import.meta.url).href}";
const peak = () => Number(/VmHWM:\\s+(\\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))![1]);
const parts: Uint8Array[] = [];
const z = createGzip();
z.on("data", (c: Uint8Array) => parts.push(c));
const zeros = new Uint8Array(16 << 20);
for (let i = 0; i < 64; i++) z.write(zeros);
await new Promise((r) => z.end(r));
const bomb = new Uint8Array(await new Blob(parts).arrayBuffer());
const before = peak();
let reason = "none";
try { gunzipBounded(bomb, 1024); } catch (e) { reason = (e as { reason?: string }).reason ?? "?"; }
console.log(JSON.stringify({ bomb: bomb.byteLength, reason, grew_kib: peak() - before }));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-all", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.ok(r.bomb < 2 << 20, `the bomb is ${r.bomb} bytes`);
    assert.equal(r.reason, "too_large");
    assert.ok(r.grew_kib < 16 * 1024, `peak grew by ${r.grew_kib} KiB`);
  } finally {
    await Deno.remove(script);
  }
});

Deno.test("a streamed object's inflater stops a bomb within a few MiB of output", async () => {
  // 64 MiB of zeros gzipped (~64 KiB), expected to hold 1 KiB: the declared length is what
  // the header says, so a lying header must not let the body expand whole.
  const zeros = new Uint8Array(1 << 20);
  let n = 0;
  const source = new ReadableStream<Uint8Array>({
    pull: (c) => (n++ < 64 ? c.enqueue(zeros) : c.close()),
  });
  const gzip = new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
  const bomb = new Uint8Array(await new Response(source.pipeThrough(gzip)).arrayBuffer());
  let produced = 0;
  const counting = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      produced += chunk.byteLength;
      c.enqueue(chunk);
    },
  });
  // The inflater of streamed objects (stream_envelope.ts), with a spy on how much it produced
  // before it was stopped.
  const inflate = new DecompressionStream("gzip") as unknown as TransformStream<
    Uint8Array,
    Uint8Array
  >;
  const spied = new Blob([bomb]).stream().pipeThrough(slicer()).pipeThrough(inflate).pipeThrough(
    counting,
  );
  const reader = spied.getReader();
  let read = 0;
  while (read <= 1024) read += (await reader.read()).value?.byteLength ?? Infinity;
  await reader.cancel();
  assert.ok(produced <= 2 * INFLATE_SLICE * 1032, `inflated ${produced} bytes before stopping`);
});

Deno.test("openObject() refuses an unencrypted object in an encrypted vault", async () => {
  const key = await VaultKey.generate();
  const plain = await sealObject(fields, secret, { key: null });
  assert.equal(
    await reason(openObject(plain, { key, expect, maxPlainBytes: 1 << 20 })),
    "bad_header",
  );
  const opened = await openObject(plain, { key: null, expect, maxPlainBytes: 1 << 20 });
  assert.deepEqual(opened.payload, secret);
});

Deno.test("openObject() rejects a header length beyond 64 KiB without reading it", async () => {
  const key = await VaultKey.generate();
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setUint32(0, 0xffffffff);
  assert.equal(
    await reason(openObject(bytes, { key, expect, maxPlainBytes: 1 << 20 })),
    "bad_header",
  );
});
