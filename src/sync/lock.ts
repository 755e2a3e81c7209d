/**
 * The sync lock: one push or pull at a time per device, across processes (an advisory
 * lock on a file in the data directory, released by the OS if the process dies).
 *
 * @module
 */

import { dirname } from "node:path";

/**
 * Runs `fn` holding the lock at `path`.
 *
 * @param path The lock file.
 * @param fn The work.
 * @param opts `wait: false` returns `null` at once when another process holds the lock.
 * @returns What `fn` returned, or `null` when not waiting and the lock was taken.
 */
export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { wait?: boolean } = {},
): Promise<T | null> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const file = await Deno.open(path, { create: true, write: true, mode: 0o600 });
  try {
    if (opts.wait === false) {
      if (!(await file.tryLock(true))) return null;
    } else {
      await file.lock(true);
    }
    try {
      return await fn();
    } finally {
      await file.unlock();
    }
  } finally {
    file.close();
  }
}
