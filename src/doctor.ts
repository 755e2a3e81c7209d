/**
 * `hx doctor`: checks this device's setup and says what is wrong and what to do, including
 * the failures of `hx record` that the shell never shows.
 *
 * @module
 */

import { localTime } from "./_time.ts";
import { messageOf } from "./errors.ts";
import type { Hx } from "./hx.ts";
import type { SyncStatus } from "./sync/status.ts";
import { VERSION } from "./version.ts";

/** One check. */
export interface DoctorCheck {
  /** What was checked. */
  name: string;
  /** Whether it is fine. */
  ok: boolean;
  /** What was found, or what to do. */
  detail: string;
}

/** What `hx doctor` reports. */
export interface DoctorReport {
  /** The version of hx. */
  version: string;
  /** The version of Deno running it. */
  deno: string;
  /** The data directory. */
  home: string;
  /** Every check, in order. */
  checks: DoctorCheck[];
  /** The latest failures of `hx record`, oldest first. */
  record_failures: string[];
  /** The sync status, when the index could be opened. */
  status: SyncStatus | null;
}

/**
 * Runs the checks.
 *
 * @param hx The device.
 * @param env The environment of the shell asking (for its hook's session).
 * @param settings Where the settings file is and why it could not be used, if it could not.
 * @returns The report; `checks` that are not `ok` say what to do.
 */
export async function runDoctor(
  hx: Hx,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  settings: { path: string | null; problem: unknown } = { path: null, problem: null },
): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  check(
    "settings",
    settings.problem === null,
    settings.problem !== null
      ? `${messageOf(settings.problem)}; hx uses the defaults until it is fixed`
      : settings.path === null
      ? "defaults (no settings file)"
      : settings.path,
  );
  const unwritable = hx.dataDirectoryProblem();
  check(
    "data directory",
    unwritable === null,
    unwritable === null
      ? `${hx.homePath} (writable)`
      : `${hx.homePath} cannot be written, so nothing is recorded (${unwritable}): make it writable, or point HX_HOME elsewhere`,
  );
  let status: SyncStatus | null = null;
  try {
    const index = hx.checkIndex();
    check(
      "index",
      index.integrity === "ok",
      index.integrity !== "ok"
        ? `${index.path} is damaged (${index.integrity}): move it away and run hx sync pull to rebuild it`
        : index.bulkPending
        ? `${index.path}, schema ${index.schema}; a large pull's indexes and run counts are not finished (it is under way, or was stopped: the next hx sync pull finishes them; until then queries are slower and hx search lists none of the commands it brought)`
        : `${index.path}, schema ${index.schema}`,
    );
    status = await hx.status();
  } catch (err) {
    check("index", false, messageOf(err));
  }
  const session = env("HX_SESSION");
  const hookBin = env("HX_HOOK_BIN");
  const missing = hookBin === undefined ? null : missingProgram(hookBin, env);
  check(
    "shell hook",
    session !== undefined && missing === null,
    session === undefined
      ? 'this shell does not record: add eval "$(hx init zsh)" (or bash, or hx init fish | source) to its rc file'
      : missing !== null
      ? `this shell's hook runs "${hookBin}", but ${missing} is not there, so nothing is recorded: run hx init again in a new shell (its line in your rc file), or set HX_BIN`
      : `this shell records as session ${session}`,
  );
  if (status !== null) {
    check(
      "recording",
      status.paused_until === null,
      status.paused_until === null
        ? `${status.events} commands recorded or synced here`
        : "paused: hx resume records again",
    );
  }
  const { path: logPath, lines: failures } = await hx.recordFailures();
  const recent = failures.slice(-10);
  check(
    "record failures",
    recent.length === 0,
    recent.length === 0
      ? "none"
      : `${failures.length} logged in ${logPath}; the last: ${recent.at(-1)}`,
  );
  if (status !== null) {
    if (!status.configured) {
      check("sync", true, "not set up (hx sync init --store URI, or hx sync join)");
    } else {
      check(
        "sync",
        status.last_error === null || status.last_pull?.ok !== false,
        status.last_error === null
          ? `${status.store}: last push ${status.last_successful_push ?? "never"}, last pull ${
            status.last_successful_pull ?? "never"
          }`
          : `last error (${status.last_error.category}): ${status.last_error.message}; ${
            status.last_error.hint ?? ""
          }`,
      );
      check(
        "quarantine",
        status.quarantine.total === 0,
        status.quarantine.total === 0
          ? "empty"
          : `${status.quarantine.total} objects set aside since ${
            localTime(status.quarantine.first[0]?.first_seen ?? 0)
          }, retried with backoff: hx sync quarantine lists them (retry tries them now, clear starts afresh)`,
      );
      check(
        "auto-sync",
        status.auto_sync.failures === 0,
        !status.auto_sync.enabled
          ? "off (hx sync auto --every 10m turns it on)"
          : status.auto_sync.failures === 0
          ? `every ${status.auto_sync.interval_minutes} min`
          : `${status.auto_sync.failures} failed runs in a row; next attempt at ${
            localTime(status.auto_sync.next_at ?? 0)
          }`,
      );
    }
  }
  return {
    version: VERSION,
    deno: Deno.version.deno,
    home: hx.homePath,
    checks,
    record_failures: recent,
    status,
  };
}

/**
 * What the hook's command needs but is not there: its program (on PATH or by path) or a
 * script it names by absolute path (`deno run … /old/checkout/cli.ts` after a move).
 *
 * @returns The missing path, or `null` when all is there.
 */
function missingProgram(words: string, env: (name: string) => string | undefined): string | null {
  // The words came joined by spaces, so a path with spaces spans several: a path is there
  // when it, or it with the words after it, names a file.
  const parts = words.split(" ").filter((w) => w !== "");
  const program = parts[0];
  if (program === undefined) return "a program";
  const exists = (path: string, executable: boolean) => {
    try {
      const info = Deno.statSync(path);
      return !executable || (info.isFile && (info.mode === null || (info.mode & 0o111) !== 0));
    } catch {
      return false;
    }
  };
  /** How many words from `i` make a path that is there (0: none). */
  const span = (i: number, executable: boolean) => {
    for (let j = i + 1; j <= parts.length; j++) {
      const word = parts.slice(i, j).join(" ");
      const path = word.startsWith("file://") ? decodeURIComponent(new URL(word).pathname) : word;
      if (exists(path, executable)) return j - i;
    }
    return 0;
  };
  let i = 1;
  if (program.includes("/")) {
    const n = span(0, true);
    if (n === 0) return program;
    i = n;
  } else if (
    !(env("PATH") ?? "").split(":").some((dir) => dir !== "" && exists(`${dir}/${program}`, true))
  ) {
    return `${program} (on PATH)`;
  }
  for (; i < parts.length; i++) {
    const word = parts[i]!;
    if (!word.startsWith("/") && !word.startsWith("file://")) continue;
    const n = span(i, false);
    if (n === 0) return word;
    i += n - 1;
  }
  return null;
}
