/**
 * Process-wide tuning of the C allocator, for hx's own processes (the CLI), never done by the
 * library on its embedder's behalf.
 *
 * glibc's malloc serves blocks of 128 KiB and more with `mmap`, and returns them to the system
 * when they are freed, until a large block is freed: then it raises that threshold to the
 * block's size, for good. A pull frees a decrypted payload of a few MiB per segment, after
 * which every block under that size comes from the heap, where freed blocks are kept and
 * fragment. Fixing the threshold at 128 KiB keeps the default without the raise. A fresh pull
 * of 100k events from a folder store (with hx's V8 flags) peaked at 134-163 MiB, bimodal, and at
 * 141-143 MiB with the threshold fixed when the process starts (docs/performance.md).
 *
 * @module
 */

/** `mallopt`'s parameter number for the mmap threshold (glibc's `M_MMAP_THRESHOLD`). */
const M_MMAP_THRESHOLD = -3;
const THRESHOLD_BYTES = 128 * 1024;

/**
 * Fixes glibc's mmap threshold, on Linux with glibc and when this process may load native
 * libraries (`--allow-ffi`, which `--allow-all` includes); nothing otherwise, and never a
 * permission prompt.
 *
 * @returns Whether the allocator was tuned.
 */
export function tuneAllocator(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
    const libc = Deno.dlopen("libc.so.6", {
      mallopt: { parameters: ["i32", "i32"], result: "i32" },
    });
    try {
      return libc.symbols.mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES) === 1;
    } finally {
      libc.close();
    }
  } catch {
    return false; // not glibc (musl), or no such library: the defaults stay
  }
}
