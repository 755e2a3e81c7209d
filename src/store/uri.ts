/**
 * Store URIs: parsing, printing without secrets, and opening, through the scheme
 * registry. `folder:`, `memory:` and `s3:` (with `s3+http:` and `s3+https:`) are built in.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { StoreError } from "./errors.ts";
import { FolderStore } from "./folder.ts";
import { MemoryStore } from "./memory.ts";
import { handlerOf, registerScheme, type SchemeHandler } from "./registry.ts";
import { formatS3Config, parseS3Uri, type S3Config } from "./s3/config.ts";
import type { StoreEnvironment, SyncStore } from "./types.ts";

/** A parsed URI: its scheme, typed config and printable form. */
export interface ParsedStoreUri {
  /** The scheme name. */
  scheme: string;
  /** The scheme's config. */
  config: unknown;
  /** The URI with secrets hidden. */
  redacted: string;
}

/**
 * Parses a store URI without opening anything.
 *
 * @param uri e.g. `folder:~/Sync/hx` or `s3://bucket/prefix?region=eu-west-1`.
 * @param env Environment used for `~` and defaults.
 * @returns The scheme, its config and a printable form.
 * @throws {StoreError} `invalid_input` for an unknown scheme or a malformed URI.
 *
 * @example
 * ```ts
 * import { parseStoreUri } from "./uri.ts";
 * const parsed = parseStoreUri("folder:/srv/hx");
 * console.assert(parsed.scheme === "folder" && parsed.redacted === "folder:/srv/hx");
 * ```
 */
export function parseStoreUri(uri: string, env: StoreEnvironment = {}): ParsedStoreUri {
  const handler = handlerOf(uri);
  const config = handler.parse(uri, env);
  return { scheme: handler.scheme, config, redacted: handler.redact(config) };
}

/**
 * The URI with every secret replaced, safe to print. Unparseable URIs are reduced to their
 * scheme so that nothing secret can leak through an error path.
 *
 * @param uri Any store URI.
 * @returns A printable form.
 *
 * @example
 * ```ts
 * import { redactStoreUri } from "./uri.ts";
 * console.assert(redactStoreUri("folder:/a") === "folder:/a");
 * ```
 */
export function redactStoreUri(uri: string): string {
  try {
    return parseStoreUri(uri).redacted;
  } catch {
    const match = /^([a-z][a-z0-9+.-]*):/i.exec(uri);
    return match === null ? "(invalid store URI)" : `${match[1]}:(invalid)`;
  }
}

/**
 * Opens the bare backend a URI names (no retry or metering; see `openStore`).
 *
 * @param uri The store URI.
 * @param env Environment, home directory and request observer for the backend.
 * @returns The backend.
 * @throws {StoreError} `invalid_input` for a bad URI.
 */
export async function openBackend(uri: string, env: StoreEnvironment = {}): Promise<SyncStore> {
  const handler = handlerOf(uri);
  return await handler.open(handler.parse(uri, env), env);
}

function homeOf(env: StoreEnvironment): string | undefined {
  return env.home ?? (env.getEnv ?? Deno.env.get)("HOME") ?? undefined;
}

/** Config of a `folder:` URI. */
export interface FolderConfig {
  /** Absolute path of the folder. */
  path: string;
}

registerScheme<FolderConfig>({
  scheme: "folder",
  example: "folder:/path/to/dir",
  parse(uri, env) {
    let path = uri.slice(uri.indexOf(":") + 1);
    if (path.startsWith("//")) path = path.slice(2); // folder:///abs
    if (path === "") {
      throw new StoreError(
        "invalid_input",
        `Cannot use store "${uri}": the folder path is missing (folder:/path/to/dir)`,
      );
    }
    if (path === "~" || path.startsWith("~/")) {
      const home = homeOf(env);
      if (home === undefined) {
        throw new StoreError(
          "invalid_input",
          `Cannot use store "${uri}": ~ is used but HOME is not set`,
        );
      }
      path = home + path.slice(1);
    }
    return { path: isAbsolute(path) ? resolve(path) : resolve(Deno.cwd(), path) };
  },
  redact: (config) => `folder:${config.path}`,
  open: (config) => new FolderStore(config.path),
});

/** Config of a `memory:` URI. */
export interface MemoryConfig {
  /** Stores of the same name in one process are the same store. */
  name: string;
}

const memoryStores = new Map<string, MemoryStore>();

registerScheme<MemoryConfig>({
  scheme: "memory",
  example: "memory:NAME",
  parse: (uri) => ({ name: uri.slice(uri.indexOf(":") + 1) }),
  redact: (config) => `memory:${config.name}`,
  open(config) {
    let store = memoryStores.get(config.name);
    if (store === undefined) {
      store = new MemoryStore(`memory:${config.name}`);
      memoryStores.set(config.name, store);
    }
    return store;
  },
});

function s3Handler(scheme: string): SchemeHandler<S3Config> {
  return {
    scheme,
    example: scheme === "s3"
      ? "s3://BUCKET/PREFIX?endpoint=URL&region=R"
      : `${scheme}://HOST:PORT/BUCKET/PREFIX`,
    parse: (uri) => parseS3Uri(uri),
    redact: formatS3Config,
    async open(config, env) {
      // Loaded only when an S3 store is opened: recording never pays for it.
      const { openS3Store } = await import("./s3/store.ts");
      return await openS3Store(config, env);
    },
  };
}

for (const scheme of ["s3", "s3+http", "s3+https"]) registerScheme(s3Handler(scheme));
