// The V8 flags hx runs with: those of the `hx` task in deno.json, which the README's install
// line and `deno task compile` carry too (a test keeps them equal). The benchmark runs hx's
// processes with them, as a user's installed `hx` runs.

const config = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
) as { tasks: Record<string, string> };

/** `--v8-flags=…` words of the `hx` task. */
export const HX_V8_FLAGS: readonly string[] = config.tasks.hx!.split(/\s+/).filter((w) =>
  w.startsWith("--v8-flags=")
);
