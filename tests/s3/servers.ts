// Test helper: real S3 servers on loopback. s3rver (npm) runs in-process in every run;
// MinIO runs when HX_TEST_MINIO names its binary, and moto (an independent S3
// implementation from PyPI) when HX_TEST_MOTO names `moto_server`, as CI does. A test for a
// server that is absent is registered as ignored, never left out.

import S3rver from "s3rver";
import { atomicPuts, shimDes } from "./s3rver_compat.ts";
import { parseS3Uri } from "../../src/store/s3/config.ts";
import { S3Store } from "../../src/store/s3/store.ts";
import { createRetrier, type RetryOptions, withRetry } from "../../src/store/retry.ts";
import { parseUploads } from "../../src/store/s3/xml.ts";
import type { StoreEnvironment, SyncStore } from "../../src/store/types.ts";

export type ServerKind = "s3rver" | "minio" | "moto";

export interface S3TestServer {
  kind: ServerKind;
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  stop(): Promise<void>;
}

/** The MinIO binary, when the environment names one. */
export const MINIO_BIN = Deno.env.get("HX_TEST_MINIO") || undefined;
/** The moto_server command, when the environment names one. */
export const MOTO_BIN = Deno.env.get("HX_TEST_MOTO") || undefined;

/** Retries fast enough for tests, with the same policy code as production. */
export const FAST_RETRY: RetryOptions = { attempts: 6, baseMs: 5, capMs: 50 };

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitUntilUp(url: string, child: Deno.ChildProcess, name: string): Promise<void> {
  const started = Date.now();
  while (true) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) {
      child.kill();
      throw new Error(`${name} did not start within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startS3rver(bucket = "hx-test"): Promise<S3TestServer> {
  const dir = await Deno.makeTempDir({ prefix: "hx-s3rver-" });
  shimDes();
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  atomicPuts(server as unknown as Parameters<typeof atomicPuts>[0]);
  const info = await server.run();
  return {
    kind: "s3rver",
    endpoint: `http://127.0.0.1:${info.port}`,
    accessKey: "S3RVER",
    secretKey: "S3RVER",
    bucket,
    async stop() {
      await server.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

export async function startMinio(binary: string, bucket = "hx-test"): Promise<S3TestServer> {
  const dir = await Deno.makeTempDir({ prefix: "hx-minio-" });
  const port = freePort();
  const console = freePort();
  const accessKey = "hxtestaccess";
  const secretKey = "hxtestsecret123";
  const child = new Deno.Command(binary, {
    args: [
      "server",
      dir,
      "--address",
      `127.0.0.1:${port}`,
      "--console-address",
      `127.0.0.1:${console}`,
      "--quiet",
    ],
    env: { MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: "off" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${endpoint}/minio/health/ready`, child, "MinIO");
  const server: S3TestServer = {
    kind: "minio",
    endpoint,
    accessKey,
    secretKey,
    bucket,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  await createBucket(server, bucket);
  return server;
}

export async function startMoto(command: string, bucket = "hx-test"): Promise<S3TestServer> {
  const port = freePort();
  const child = new Deno.Command(command, {
    args: ["-H", "127.0.0.1", "-p", String(port)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${endpoint}/moto-api/`, child, "moto");
  const server: S3TestServer = {
    kind: "moto",
    endpoint,
    accessKey: "motoaccess",
    secretKey: "motosecret",
    bucket,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
  await createBucket(server, bucket);
  return server;
}

/** Whether a server kind can run here, and why not. */
export function availability(kind: ServerKind): string | null {
  if (kind === "minio" && MINIO_BIN === undefined) return "HX_TEST_MINIO is not set";
  if (kind === "moto" && MOTO_BIN === undefined) return "HX_TEST_MOTO is not set";
  return null;
}

export function startServer(kind: ServerKind, bucket?: string): Promise<S3TestServer> {
  if (kind === "minio") return startMinio(MINIO_BIN!, bucket);
  if (kind === "moto") return startMoto(MOTO_BIN!, bucket);
  return startS3rver(bucket);
}

const ALL_KINDS: ServerKind[] = ["s3rver", "minio", "moto"];

/**
 * Registers `fn` as one test per server kind, each on a fresh server; a kind that cannot
 * run here is registered as ignored. `only` limits the kinds (e.g. what needs a server
 * that lists multipart uploads).
 */
export function s3Test(
  name: string,
  fn: (server: S3TestServer, t: Deno.TestContext) => Promise<void>,
  opts: { only?: ServerKind[] } = {},
): void {
  for (const kind of opts.only ?? ALL_KINDS) {
    Deno.test({
      name: `${name} (${kind})`,
      ignore: availability(kind) !== null,
      // The servers' sockets and timers outlive a test's own operations.
      sanitizeResources: false,
      sanitizeOps: false,
      async fn(t) {
        const server = await startServer(kind);
        try {
          await fn(server, t);
        } finally {
          await server.stop();
        }
      },
    });
  }
}

/** Credentials for a server, as an environment that reads nothing else. */
export function envFor(server: S3TestServer, extra: Record<string, string> = {}): StoreEnvironment {
  const vars: Record<string, string> = {
    AWS_ACCESS_KEY_ID: server.accessKey,
    AWS_SECRET_ACCESS_KEY: server.secretKey,
    ...extra,
  };
  return { getEnv: (name) => vars[name], home: "/nonexistent-home" };
}

/** A store URI on a fresh prefix of the server's bucket. */
export function uriFor(
  server: S3TestServer,
  prefix = `t-${crypto.randomUUID()}`,
  endpoint = server.endpoint,
  params = "",
): string {
  const extra = params === "" ? "" : `&${params}`;
  return `s3://${server.bucket}/${prefix}?endpoint=${
    encodeURIComponent(endpoint)
  }&region=us-east-1&path_style=true${extra}`;
}

/** The bare S3 backend on a prefix (no retries). */
export function bareStoreFor(
  server: S3TestServer,
  prefix?: string,
  endpoint?: string,
  params?: string,
): S3Store {
  return new S3Store({
    config: parseS3Uri(uriFor(server, prefix, endpoint, params)),
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    region: "us-east-1",
  });
}

/** The S3 backend on a prefix with hx's retry policy (fast), as `openStore` composes it. */
export function storeFor(
  server: S3TestServer,
  prefix?: string,
  endpoint?: string,
  params?: string,
  retry: RetryOptions = FAST_RETRY,
): SyncStore {
  return withRetry(bareStoreFor(server, prefix, endpoint, params), retry);
}

/** Creates a bucket (an admin request hx itself never makes). */
export async function createBucket(server: S3TestServer, bucket: string): Promise<void> {
  const config = parseS3Uri(
    `s3://${bucket}/?endpoint=${encodeURIComponent(server.endpoint)}&path_style=true`,
  );
  const store = new S3Store({
    config,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    region: "us-east-1",
  });
  try {
    // "ready" can precede full initialisation by a moment: retry what is retryable.
    await createRetrier({ attempts: 20, baseMs: 100, capMs: 500 }).run(async () => {
      await store.transport.empty({
        method: "PUT",
        action: `create bucket ${bucket}`,
        kind: "put",
        accept: [409],
      });
    }, { op: "create bucket", key: bucket });
  } finally {
    await store.close();
  }
}

/**
 * The unfinished multipart uploads of a server under a prefix (an exact key on MinIO,
 * which lists uploads only for exact keys).
 */
export async function listUploads(
  server: S3TestServer,
  prefix: string,
): Promise<{ key: string; uploadId: string }[]> {
  const store = bareStoreFor(server, "");
  try {
    const { text } = await store.transport.text({
      method: "GET",
      query: { uploads: "", prefix },
      action: "list uploads",
      kind: "list",
    });
    return parseUploads(text).uploads.map((u) => ({ key: u.key, uploadId: u.uploadId }));
  } finally {
    await store.close();
  }
}

/** A full request count (what `--json` reports) from the kinds that are not zero. */
export function requests(nonZero: Partial<Record<string, number>>): Record<string, number> {
  const kinds = ["list", "get", "put", "head", "delete", "create", "part", "complete", "abort"];
  const out: Record<string, number> = {};
  let total = 0;
  for (const k of kinds) {
    out[k] = nonZero[k] ?? 0;
    total += out[k]!;
  }
  return { ...out, total };
}
