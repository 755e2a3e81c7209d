// Test helper: what an attacker who holds the vault key can write, built from the format as
// docs/format.md describes it (WebCrypto and JSON only, none of hx's own code), so that the
// objects hx must refuse are made the way a hostile device would make them: headers that
// lie, bodies that explode, manifests with forged seqs and declarations.

const enc = new TextEncoder();

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function b64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The keys a forger derives from an `hxk1_…` export string. */
export interface ForgerKey {
  vaultId: string;
  keyId: string;
  wrap: CryptoKey;
  /** The store id of a blob with this plaintext SHA-256 (HMAC under the blob-id sub-key). */
  blobId(sha256: string): Promise<string>;
}

/** Derives the wrapping sub-key and the key fingerprint (HKDF-SHA256, salt "hx/v1"). */
export async function forgerKey(exported: string): Promise<ForgerKey> {
  const m = /^hxk1_([0-9a-f]{32})_([0-9a-f]{64})_[0-9a-f]{8}$/.exec(exported.trim());
  if (m === null) throw new Error("not a key export string");
  const v = m[1]!;
  const vaultId = `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${
    v.slice(20)
  }`;
  const ikm = await crypto.subtle.importKey("raw", hexToBytes(m[2]!), "HKDF", false, [
    "deriveBits",
  ]);
  const bits = (info: string, n: number) =>
    crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: enc.encode("hx/v1"), info: enc.encode(info) },
      ikm,
      n,
    );
  const wrap = await crypto.subtle.importKey(
    "raw",
    await bits("hx/v1/wrap", 256),
    "AES-KW",
    false,
    [
      "wrapKey",
    ],
  );
  const blobKey = await crypto.subtle.importKey(
    "raw",
    await bits("hx/v1/blob-id", 256),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return {
    vaultId,
    keyId: hex(new Uint8Array(await bits("hx/v1/key-id", 128))),
    wrap,
    blobId: async (sha) =>
      hex(new Uint8Array(await crypto.subtle.sign("HMAC", blobKey, enc.encode(sha)))),
  };
}

/** Frames `u32 header length | header | body`. */
function frame(header: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + header.byteLength + body.byteLength);
  new DataView(out.buffer).setUint32(0, header.byteLength);
  out.set(header, 4);
  out.set(body, 4 + header.byteLength);
  return out;
}

/**
 * Seals a body whose header says whatever the forger wants (`byte_len_plain` may lie).
 *
 * @param key The forger's keys.
 * @param fields Header fields (object_type, node_id, segment_id, …).
 * @param body The bytes to encrypt (already gzipped when `compression` says gzip).
 */
export async function forgeObject(
  key: ForgerKey,
  fields: Record<string, unknown>,
  body: Uint8Array,
  opts: { byteLenPlain: number; compression: "gzip" | "none" },
): Promise<Uint8Array> {
  const objectKey = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
    "encrypt",
  ]);
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const header = enc.encode(JSON.stringify({
    magic: "HXOBJ",
    version: 1,
    vault_id: key.vaultId,
    created_at: new Date().toISOString(),
    ...fields,
    byte_len_plain: opts.byteLenPlain,
    compression: opts.compression,
    crypto: {
      alg: "A256GCM",
      key_id: key.keyId,
      nonce: b64url(nonce),
      wrapped_key: b64url(
        new Uint8Array(await crypto.subtle.wrapKey("raw", objectKey, key.wrap, "AES-KW")),
      ),
    },
  }));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: header },
    objectKey,
    body as BufferSource,
  );
  return frame(header, new Uint8Array(sealed));
}

/** Gzips a JSON value. */
export async function gzipJson(value: unknown): Promise<Uint8Array> {
  return await gzipStream(new Blob([enc.encode(JSON.stringify(value))]).stream());
}

/** Gzips a stream (for bombs: many MiB of zeros, never held whole). */
export async function gzipStream(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const gzip = new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
  return new Uint8Array(await new Response(stream.pipeThrough(gzip)).arrayBuffer());
}

/** A stream of `mib` MiB of zeros. */
export function zeros(mib: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1 << 20);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent++ < mib) c.enqueue(chunk);
      else c.close();
    },
  });
}

/** SHA-256 hex of bytes. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)));
}

/** Where objects live under the store root (docs/format.md). */
export const layout = {
  segment: (vault: string, node: string, id: string) =>
    `vaults/${vault}/objects/segments/${node}/${id}.hxseg`,
  manifest: (vault: string, node: string) => `vaults/${vault}/objects/manifests/${node}.hxman`,
  blob: (vault: string, id: string) =>
    `vaults/${vault}/objects/blobs/${id.slice(0, 2)}/${id.slice(2, 4)}/${id}.hxblob`,
};

/** A manifest payload of format 2, as a forger writes it. */
export function manifestPayload(
  key: ForgerKey,
  node: string,
  seq: number,
  opts: {
    segments?: Record<string, unknown>[];
    tombstones?: Record<string, unknown>[];
    seen?: Record<string, number>;
  } = {},
): Record<string, unknown> {
  return {
    format: 2,
    vault_id: key.vaultId,
    node_id: node,
    manifest_seq: seq,
    created_at: Date.now(),
    host: "forger",
    seen: opts.seen ?? { [node]: seq },
    tombstones: opts.tombstones ?? [],
    segments: opts.segments ?? [],
  };
}

/**
 * A manifest's entry for one segment holding event number `no` (one event), as a forger
 * declares it.
 */
export function segmentEntry(
  entry: { segment_id: string; sha256: string; bytes: number; no: number; at: number },
): Record<string, unknown> {
  return {
    segment_id: entry.segment_id,
    sha256: entry.sha256,
    bytes: entry.bytes,
    events: 1,
    first: entry.no,
    last: entry.no,
    start_ts: entry.at,
    end_ts: entry.at,
    created_at: entry.at,
  };
}

/** Seals a manifest payload for `node`. */
export async function forgeManifest(
  key: ForgerKey,
  node: string,
  payload: Record<string, unknown>,
): Promise<Uint8Array> {
  const plain = enc.encode(JSON.stringify(payload));
  return await forgeObject(
    key,
    { object_type: "manifest", node_id: node },
    await gzipJson(payload),
    {
      byteLenPlain: plain.byteLength,
      compression: "gzip",
    },
  );
}

/** A random UUID that sorts like hx's (v4 is fine: hx only checks the shape). */
export function uuid(): string {
  return crypto.randomUUID();
}
