/**
 * The few path operations the recording path needs (`hx record` runs after every command):
 * `node:path` would start Node compatibility, which costs more than recording itself.
 * Elsewhere hx uses `node:path`.
 *
 * @module
 */

const WINDOWS = Deno.build.os === "windows";
const SEP = WINDOWS ? "\\" : "/";
const SEPARATORS = WINDOWS ? /[\\/]+/ : /\/+/;

/**
 * Joins path segments with the platform's separator, without doubling separators.
 *
 * @example
 * ```ts
 * import { joinPath } from "./_path.ts";
 * if (Deno.build.os !== "windows") console.assert(joinPath("/data/", "hx", "hx.db") === "/data/hx/hx.db");
 * ```
 */
export function joinPath(first: string, ...rest: string[]): string {
  let path = first;
  for (const part of rest) {
    if (part === "") continue;
    path = path === "" || SEPARATORS.test(path.at(-1)!) ? path + part : path + SEP + part;
  }
  return path;
}

/** Splits a path into its directory and its last segment (trailing separators ignored). */
function split(path: string): [string, string] {
  let end = path.length;
  while (end > 1 && SEPARATORS.test(path[end - 1]!)) end--;
  const trimmed = path.slice(0, end);
  let cut = -1;
  for (let i = trimmed.length - 1; i >= 0; i--) {
    if (SEPARATORS.test(trimmed[i]!)) {
      cut = i;
      break;
    }
  }
  if (cut < 0) return [".", trimmed];
  return [cut === 0 ? trimmed[0]! : trimmed.slice(0, cut), trimmed.slice(cut + 1)];
}

/**
 * The directory part of a path (`.` when it has none).
 *
 * @example
 * ```ts
 * import { dirnameOf } from "./_path.ts";
 * if (Deno.build.os !== "windows") console.assert(dirnameOf("/data/hx/hx.db") === "/data/hx");
 * ```
 */
export function dirnameOf(path: string): string {
  return split(path)[0];
}

/**
 * The last segment of a path.
 *
 * @example
 * ```ts
 * import { basenameOf } from "./_path.ts";
 * if (Deno.build.os !== "windows") console.assert(basenameOf("/data/hx/hx.db") === "hx.db");
 * ```
 */
export function basenameOf(path: string): string {
  return split(path)[1];
}
