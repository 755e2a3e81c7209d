/**
 * The registry of store URI schemes: each scheme has a parser to a typed config, a
 * redactor that hides secrets, and an opener. Built-in schemes are registered by
 * `uri.ts`; library users can add their own.
 *
 * @module
 */

import { StoreError } from "./errors.ts";
import type { StoreEnvironment, SyncStore } from "./types.ts";

/** One URI scheme: how to parse, print and open it. */
export interface SchemeHandler<Config = unknown> {
  /** The scheme without the colon, e.g. `folder`. */
  readonly scheme: string;
  /** A usage example shown in errors, e.g. `folder:/path/to/dir`. */
  readonly example: string;
  /** Parses the whole URI into a config; throws `invalid_input` on a bad URI. */
  parse(uri: string, env: StoreEnvironment): Config;
  /** The URI with every secret replaced, safe to print and store in status. */
  redact(config: Config): string;
  /** Opens a store; may apply environment (credentials) as its own step. */
  open(config: Config, env: StoreEnvironment): SyncStore | Promise<SyncStore>;
}

const registry = new Map<string, SchemeHandler<unknown>>();

/**
 * Registers a scheme.
 *
 * @param handler The scheme's parser, redactor and opener.
 * @param opts `replace: true` replaces a handler already registered under the name.
 * @throws {TypeError} When the scheme is already registered and `replace` is not set, or
 *   the name is not a valid URI scheme.
 *
 * @example A scheme that opens named memory stores
 * ```ts
 * import { registerScheme } from "./registry.ts";
 * import { openStore } from "./open.ts";
 * import { MemoryStore } from "./memory.ts";
 * registerScheme({
 *   scheme: "scratch",
 *   example: "scratch:",
 *   parse: () => ({}),
 *   redact: () => "scratch:",
 *   open: () => new MemoryStore("scratch:"),
 * });
 * const store = await openStore("scratch:");
 * console.assert(store.name === "scratch:");
 * ```
 */
export function registerScheme<Config>(
  handler: SchemeHandler<Config>,
  opts: { replace?: boolean } = {},
): void {
  if (!/^[a-z][a-z0-9+.-]*$/.test(handler.scheme)) {
    throw new TypeError(`Cannot register scheme "${handler.scheme}": not a lower-case URI scheme`);
  }
  if (registry.has(handler.scheme) && !opts.replace) {
    throw new TypeError(
      `Cannot register scheme "${handler.scheme}": it is already registered (pass { replace: true } to replace it)`,
    );
  }
  registry.set(handler.scheme, handler as SchemeHandler<unknown>);
}

/**
 * The registered scheme names, sorted.
 *
 * @returns The names.
 */
export function registeredSchemes(): string[] {
  return [...registry.keys()].sort();
}

/**
 * The handler of a URI's scheme.
 *
 * @param uri A store URI.
 * @returns Its handler.
 * @throws {StoreError} `invalid_input` for a URI without a scheme or with an unknown one.
 */
export function handlerOf(uri: string): SchemeHandler<unknown> {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(uri);
  if (match === null) {
    const hint = uri.startsWith("/") || uri.startsWith(".") || uri.startsWith("~")
      ? ` (for a folder, write folder:${uri})`
      : "";
    throw new StoreError(
      "invalid_input",
      `Cannot use store "${uri.slice(0, 200)}": it has no scheme${hint}; known schemes: ${
        registeredSchemes().join(", ")
      }`,
    );
  }
  const scheme = match[1]!.toLowerCase();
  const handler = registry.get(scheme);
  if (handler === undefined) {
    const known = registeredSchemes().map((s) => registry.get(s)!.example).join(", ");
    throw new StoreError(
      "invalid_input",
      `Cannot use store "${scheme}:…": unknown scheme "${scheme}"; use one of ${known}`,
    );
  }
  return handler;
}
