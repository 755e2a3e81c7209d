// hx's processes fix glibc's mmap threshold (src/_allocator.ts) when they may load libc, and
// otherwise leave the allocator alone without asking for a permission.

import assert from "node:assert/strict";

const ALLOCATOR = new URL("../src/_allocator.ts", import.meta.url).href;
// glibc is loaded in this very process when Deno runs on it (any architecture).
const glibc = Deno.build.os === "linux" &&
  Deno.readTextFileSync("/proc/self/maps").includes("/libc.so.6");

async function tuneIn(permissions: string[]): Promise<{ out: string; err: string }> {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { tuneAllocator } from "${ALLOCATOR}"; console.log(tuneAllocator());`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...permissions, script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { out: dec.decode(out.stdout).trim(), err: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(script);
  }
}

Deno.test({
  name: "a process allowed to load libraries fixes glibc's mmap threshold",
  ignore: !glibc,
  fn: async () => {
    assert.deepEqual(await tuneIn(["--allow-all"]), { out: "true", err: "" });
  },
});

Deno.test("a process without --allow-ffi leaves the allocator alone, with nothing on stderr", async () => {
  assert.deepEqual(await tuneIn(["--allow-read"]), { out: "false", err: "" });
});
