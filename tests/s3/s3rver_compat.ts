// Test helper: makes s3rver (the in-process S3 server from npm) behave like S3 on two
// points where it falls short under Deno. The code under test is untouched; this fixes
// the test double.
//
// 1. s3rver encrypts its (opaque) ListObjectsV2 continuation tokens with DES, which Deno's
//    node:crypto does not implement: listings of more than one page fail with
//    InternalError. The shim maps DES to AES-128-CBC with the same key and IV doubled;
//    tokens stay opaque strings that s3rver both makes and reads.
// 2. s3rver writes an object in place while the request streams in, so a reader (or a
//    concurrent writer) can see a partial or interleaved object. Real S3 publishes a PUT
//    atomically; the patched putObject writes beside the object and renames it into place.

import crypto from "node:crypto";
import { rename, writeFile } from "node:fs/promises";
import { Buffer } from "node:buffer";

type CipherFactory = (alg: string, key: Buffer, iv: Buffer | null, opts?: unknown) => unknown;

let shimmed = false;

function doubled(b: Buffer): Buffer {
  return Buffer.concat([b, b]);
}

/** Installs the DES shim once per process. */
export function shimDes(): void {
  if (shimmed) return;
  shimmed = true;
  const c = crypto as unknown as { createCipheriv: CipherFactory; createDecipheriv: CipherFactory };
  const cipher = c.createCipheriv.bind(crypto);
  const decipher = c.createDecipheriv.bind(crypto);
  c.createCipheriv = (alg, key, iv, opts) =>
    alg === "des"
      ? cipher("aes-128-cbc", doubled(key), doubled(iv!), opts)
      : cipher(alg, key, iv, opts);
  c.createDecipheriv = (alg, key, iv, opts) =>
    alg === "des"
      ? decipher("aes-128-cbc", doubled(key), doubled(iv!), opts)
      : decipher(alg, key, iv, opts);
}

interface S3rverObject {
  bucket: string;
  key: string;
  metadata: Record<string, string>;
  content: Buffer | AsyncIterable<Uint8Array>;
}

interface S3rverStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(
    bucket: string,
    key: string,
    metadata: Record<string, string>,
    md5: string,
  ): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}

/** Makes a running s3rver publish objects atomically. */
export function atomicPuts(server: { store: S3rverStore }): void {
  const store = server.store;
  store.putObject = async (object) => {
    const path = store.getResourcePath(object.bucket, object.key, "object");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(object.content)) {
      chunks.push(object.content);
    } else {
      for await (const chunk of object.content) chunks.push(Buffer.from(chunk));
    }
    const content = Buffer.concat(chunks);
    const md5 = crypto.createHash("md5").update(content).digest("hex");
    const staging = `${path}.hx-staging-${crypto.randomUUID()}`;
    await writeFile(staging, content);
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    await rename(staging, path);
    return { size: content.length, md5 };
  };
}
