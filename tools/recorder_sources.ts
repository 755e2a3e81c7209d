/**
 * What the one-file recorder is made of: the entry, the output, and the digest of the sources
 * a bundle holds (shared by `bundle_recorder.ts`, which writes it, and the test that checks it).
 *
 * @module
 */

import { sha256Hex, utf8 } from "../src/_encoding.ts";
import { concat } from "../src/store/_bytes.ts";

/** The bundle's entry, from the project's root. */
export const RECORDER_ENTRY = "src/recorder.ts";
/** The bundle, from the project's root. */
export const RECORDER_BUNDLE = "src/recorder.bundle.js";

/**
 * The source files a bundle holds, from the comment the bundler puts before each module's
 * code (`// src/vault/db.ts`), sorted.
 *
 * @param code The bundle.
 * @returns Paths from the project's root.
 */
export function bundleSources(code: string): string[] {
  const found = new Set<string>();
  for (const m of code.matchAll(/^\/\/ (src\/[\w./-]+\.ts)$/gm)) found.add(m[1]!);
  return [...found].sort();
}

/**
 * SHA-256 over each path and its bytes, in the order given.
 *
 * @param root The project's root.
 * @param paths Paths from it.
 * @returns Hex.
 */
export async function sourcesDigest(root: URL, paths: readonly string[]): Promise<string> {
  const parts: Uint8Array[] = [];
  for (const path of paths) {
    parts.push(
      utf8.encode(`${path}\0`),
      await Deno.readFile(new URL(path, root)),
      utf8.encode("\0"),
    );
  }
  return await sha256Hex(concat(parts));
}
