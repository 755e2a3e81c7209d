// Private helper: where hx's own modules are, for the imports it builds at run time (a
// command's module, sync, the TOML parser), which keep them out of the graph Deno loads at
// start. Paths are relative to this file's directory, `src/`. The one-file recorder
// (`src/recorder.bundle.js`, see `src/recorder.ts`) has this module inlined and lives in the
// same directory, so the same paths resolve from the sources and from the bundle.

/**
 * The URL of one of hx's modules.
 *
 * @param path Its path under `src/`, such as `cli/commands/find.ts`.
 * @returns A URL to `import()`.
 */
export function ownModule(path: string): string {
  return new URL(path, import.meta.url).href;
}
