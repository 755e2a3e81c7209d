// Test helper: real S3 servers on loopback. s3rver (npm) runs in-process for the default
// run; MinIO runs when HX_TEST_MINIO names its binary, as CI does.

import S3rver from "s3rver";
import { atomicPuts, shimDes } from "./s3rver_compat.ts";
import { parseS3Uri } from "../../src/store/s3/config.ts";
import { S3Store } from "../../src/store/s3/store.ts";
import { retrying } from "../../src/store/retry.ts";
import type { StoreEnvironment } from "../../src/store/uri.ts";

export interface S3TestServer {
  kind: "s3rver" | "minio";
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  stop(): Promise<void>;
}

/** The MinIO binary, when the environment names one. */
export const MINIO_BIN = Deno.env.get("HX_TEST_MINIO") || undefined;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
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
    stderr: "piped",
  }).spawn();
  const endpoint = `http://127.0.0.1:${port}`;
  const started = Date.now();
  while (true) {
    try {
      const res = await fetch(`${endpoint}/minio/health/ready`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 30_000) {
      child.kill();
      throw new Error("MinIO did not start within 30 s");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const server: S3TestServer = {
    kind: "minio",
    endpoint,
    accessKey,
    secretKey,
    bucket,
    async stop() {
      child.kill("SIGTERM");
      await child.stderr.cancel().catch(() => {});
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
  // "ready" can precede full initialisation by a moment: retry what is retryable.
  await retrying(() => createBucket(server, bucket), { attempts: 20, baseMs: 100, capMs: 500 });
  return server;
}

/** The S3 servers to test against: s3rver always, MinIO when available. */
export function serverKinds(): ("s3rver" | "minio")[] {
  return MINIO_BIN === undefined ? ["s3rver"] : ["s3rver", "minio"];
}

export function startServer(kind: "s3rver" | "minio", bucket?: string): Promise<S3TestServer> {
  return kind === "minio" ? startMinio(MINIO_BIN!, bucket) : startS3rver(bucket);
}

/** Registers `fn` as one test per server of {@link serverKinds}, each on a fresh server. */
export function s3Test(
  name: string,
  fn: (server: S3TestServer, t: Deno.TestContext) => Promise<void>,
): void {
  for (const kind of serverKinds()) {
    Deno.test({
      name: `${name} (${kind})`,
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

export function storeFor(
  server: S3TestServer,
  prefix?: string,
  endpoint?: string,
  params?: string,
): S3Store {
  const config = parseS3Uri(uriFor(server, prefix, endpoint, params));
  return new S3Store({
    config,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    region: "us-east-1",
  });
}

export async function createBucket(server: S3TestServer, bucket: string): Promise<void> {
  const config = parseS3Uri(
    `s3://${bucket}/?endpoint=${encodeURIComponent(server.endpoint)}&path_style=true`,
  );
  const store = new S3Store({
    config,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    region: "us-east-1",
  });
  await store.createBucket();
}
