// Test helper: runs the hx CLI as a user would, in a process of its own.

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** Deno's cache, kept when a test gives hx another HOME (else Deno downloads modules again). */
const DENO_DIR = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `hx ARGS` with `HX_HOME=home`, no AWS files of this machine, and the given environment,
 * standard input and working directory.
 */
export async function hx(
  home: string,
  args: string[],
  opts: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", CLI, ...args],
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    env: {
      HX_HOME: home,
      DENO_DIR,
      AWS_CONFIG_FILE: "/nonexistent/config",
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
      NO_COLOR: "1",
      ...opts.env,
    },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const { code, stdout, stderr } = await child.output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

/** Starts `hx ARGS` and returns the process, for tests that kill it midway. */
export function spawnHx(
  home: string,
  args: string[],
  env: Record<string, string> = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", CLI, ...args],
    env: {
      HX_HOME: home,
      DENO_DIR,
      AWS_CONFIG_FILE: "/nonexistent/config",
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
      NO_COLOR: "1",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}
