/**
 * Validation of store keys and listing prefixes, done before any I/O.
 *
 * @module
 */

import { StoreError } from "./errors.ts";

/** The longest key a store accepts, in UTF-8 bytes (the S3 limit). */
export const MAX_KEY_BYTES = 1024;

const encoder = new TextEncoder();

function reject(what: string, value: string, why: string): never {
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  throw new StoreError("invalid_input", `Cannot use ${what} ${shown}: ${why}`);
}

function checkCommon(what: string, value: string): void {
  if (encoder.encode(value).length > MAX_KEY_BYTES) {
    reject(what, value, `it is longer than ${MAX_KEY_BYTES} bytes`);
  }
  if (value.includes("\\")) reject(what, value, "it contains a backslash");
  if (value.includes("\0")) reject(what, value, "it contains a NUL character");
  if (value.startsWith("/")) reject(what, value, "it is absolute");
  // Lone surrogates cannot be encoded faithfully on any backend.
  if (!value.isWellFormed()) reject(what, value, "it is not well-formed Unicode");
}

/**
 * Throws unless `key` is a valid object key: relative, `/`-separated, with no `..`, `.`
 * or empty segments, no backslash or NUL, and at most 1024 UTF-8 bytes.
 *
 * @param key The key to check.
 * @throws {StoreError} With category `invalid_input` when the key is not valid.
 *
 * @example
 * ```ts
 * import { validateKey } from "./keys.ts";
 * validateKey("vaults/v/objects/a.hxseg");
 * let threw = false;
 * try { validateKey("vaults/../etc/passwd"); } catch { threw = true; }
 * console.assert(threw);
 * ```
 */
export function validateKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) reject("key", String(key), "it is empty");
  checkCommon("key", key);
  for (const segment of key.split("/")) {
    if (segment === "") reject("key", key, "it has an empty segment");
    if (segment === "." || segment === "..") reject("key", key, `it has a "${segment}" segment`);
  }
}

/**
 * Throws unless `prefix` is a valid listing prefix: empty, or the start of a valid key
 * (it may end with `/` or in the middle of a segment).
 *
 * @param prefix The prefix to check.
 * @throws {StoreError} With category `invalid_input` when the prefix is not valid.
 *
 * @example
 * ```ts
 * import { validatePrefix } from "./keys.ts";
 * validatePrefix("");
 * validatePrefix("vaults/v/objects/");
 * ```
 */
export function validatePrefix(prefix: string): void {
  if (typeof prefix !== "string") reject("prefix", String(prefix), "it is not a string");
  if (prefix === "") return;
  checkCommon("prefix", prefix);
  const segments = prefix.split("/");
  const complete = segments.slice(0, -1); // the last one may be partial or empty
  for (const segment of complete) {
    if (segment === "") reject("prefix", prefix, "it has an empty segment");
    if (segment === "." || segment === "..") {
      reject("prefix", prefix, `it has a "${segment}" segment`);
    }
  }
  const last = segments[segments.length - 1];
  if (last === "..") reject("prefix", prefix, 'it has a ".." segment');
}
