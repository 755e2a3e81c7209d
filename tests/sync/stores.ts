// Test helper: the stores sync tests run on, a folder and MinIO (when HX_TEST_MINIO names its
// binary; registered as ignored otherwise), with a raw handle for editing the store the way
// someone with access to it would: replacing, deleting, restoring objects.

import type { OpenStoreOptions } from "../../src/store/open.ts";
import { openStore } from "../../src/store/open.ts";
import type { SyncStore } from "../../src/store/types.ts";
import { availability, envFor, FAST_RETRY, MINIO_BIN, startMinio, uriFor } from "../s3/servers.ts";
import { type Clock, Device } from "./device.ts";

export interface TestStore {
  kind: "folder" | "minio";
  uri: string;
  /** The store without retries: what an editor of the store uses. */
  raw: SyncStore;
  /** What devices open the store with. */
  storeOptions: OpenStoreOptions;
  /** The same as environment variables, for devices in child processes. */
  env: Record<string, string>;
  /** A new device on this store (not set up for sync yet). */
  device(name: string, clock: Clock): Promise<Device>;
  /** Every object now. */
  snapshot(): Promise<Map<string, Uint8Array>>;
  /** Makes the store hold exactly a snapshot (a restore from backup). */
  restore(snapshot: Map<string, Uint8Array>): Promise<void>;
}

async function make(
  kind: "folder" | "minio",
): Promise<{ store: TestStore; dispose: () => Promise<void> }> {
  let uri: string;
  let storeOptions: OpenStoreOptions;
  let env: Record<string, string> = {};
  let stop: () => Promise<void>;
  if (kind === "folder") {
    const path = await Deno.makeTempDir({ prefix: "hx-store-" });
    uri = `folder:${path}`;
    storeOptions = { retry: false };
    stop = () => Deno.remove(path, { recursive: true });
  } else {
    const server = await startMinio(MINIO_BIN!);
    uri = uriFor(server);
    storeOptions = { ...envFor(server), retry: FAST_RETRY };
    env = { AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: server.secretKey };
    stop = () => server.stop();
  }
  const raw = await openStore(uri, { ...storeOptions, retry: false });
  const devices: Device[] = [];
  const store: TestStore = {
    kind,
    uri,
    raw,
    storeOptions,
    env,
    async device(name, clock) {
      const d = await Device.create(name, clock);
      d.storeOptions = storeOptions;
      devices.push(d);
      return d;
    },
    async snapshot() {
      const out = new Map<string, Uint8Array>();
      for await (const info of raw.list("")) out.set(info.key, (await raw.get(info.key)).data);
      return out;
    },
    async restore(snapshot) {
      for await (const info of raw.list("")) {
        if (!snapshot.has(info.key)) await raw.delete(info.key);
      }
      for (const [key, data] of snapshot) await raw.putAtomic(key, data);
    },
  };
  return {
    store,
    async dispose() {
      for (const d of devices) await d.dispose().catch(() => {});
      await raw.close?.();
      await stop();
    },
  };
}

/** Registers `fn` once per store kind, each on a fresh store. */
export function storeTest(name: string, fn: (store: TestStore) => Promise<void>): void {
  for (const kind of ["folder", "minio"] as const) {
    Deno.test({
      name: `${name} (${kind})`,
      ignore: kind === "minio" && availability("minio") !== null,
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const { store, dispose } = await make(kind);
        try {
          await fn(store);
        } finally {
          await dispose();
        }
      },
    });
  }
}
