/**
 * `hx record`: what the shell hook runs, detached, after every command. The command comes on
 * stdin (never on argv, where `ps` shows it, and whatever its length). It loads only what
 * recording needs; sync is loaded only when an automatic sync is due.
 *
 * @module
 */

import { recordEvent } from "../../history/record.ts";
import { endFromUptime, parseEpoch } from "../../history/time_spec.ts";
import { categoryOf, messageOf } from "../../store/errors.ts";
import { autoSyncDue, readAutoSync } from "../../sync/auto.ts";
import { Vault } from "../../vault/vault.ts";
import type { HxHome } from "../../vault/home.ts";
import { recordRules } from "../../config.ts";
import { command, intOption, UsageError } from "../command.ts";
import { readStdin } from "../prompt.ts";

/**
 * The longest command recorded (1 MiB): longer input is refused before it is held (and the
 * refusal logged for `hx doctor`), not cut short into a command that never ran.
 */
const MAX_COMMAND_BYTES = 1024 * 1024;

export default command({
  usage:
    "hx record --session ID (--start TIME [--end TIME] | --duration MS [--uptime S]) [--exit N] [--cwd DIR] [--seq N] [--shell NAME] < COMMAND",
  summary: "record one finished command, read from stdin (the shell hook runs this, detached)",
  options: {
    cmd: { type: "string" },
    session: { type: "string" },
    seq: { type: "string" },
    start: { type: "string" },
    end: { type: "string" },
    duration: { type: "string" },
    uptime: { type: "string" },
    exit: { type: "string" },
    cwd: { type: "string" },
    shell: { type: "string" },
  },
  async run(inv) {
    const v = inv.values;
    const duration = intOption("duration", v.duration);
    const given = v.start === undefined ? undefined : parseEpoch(v.start);
    const end = v.end !== undefined
      ? parseEpoch(v.end)
      : given !== undefined && duration !== undefined
      ? given + duration
      : v.uptime !== undefined
      ? endFromUptime(v.uptime, readUptime(), Date.now())
      : Date.now();
    const start = given ?? (duration === undefined ? undefined : end - duration);
    if (v.session === undefined || start === undefined) {
      throw new UsageError("--session and --start (or --duration) are required");
    }
    let cmd = v.cmd;
    if (cmd === undefined) {
      if (Deno.stdin.isTerminal()) throw new UsageError("the command comes on stdin (or --cmd)");
      try {
        cmd = readStdin(MAX_COMMAND_BYTES, "the command").replace(/\n$/, "");
      } catch (err) {
        await logFailure(inv, err);
        throw err;
      }
    }
    if (cmd.trim() === "") return;
    const seq = intOption("seq", v.seq);
    const exit = intOption("exit", v.exit);
    try {
      const now = Date.now();
      inv.home.ensure(); // first: an unusable data directory says so, in its category
      if (inv.home.pausedUntil(now) !== null) return;
      const vault = Vault.open(inv.home.dbPath);
      let due = false;
      try {
        if (inv.settingsProblem !== null) {
          // Recorded with the built-in rules only; hx doctor shows the log.
          await logFailure(inv, inv.settingsProblem);
        }
        recordEvent(vault, {
          cmd,
          session_id: v.session,
          started_at: start,
          ended_at: end,
          ...(seq === undefined ? {} : { seq }),
          ...(exit === undefined ? {} : { exit_code: exit }),
          cwd: v.cwd ?? null,
          shell: v.shell ?? null,
        }, { rules: recordRules(inv.settings) });
        const config = inv.home.readConfig();
        due = config !== null &&
          autoSyncDue(readAutoSync(vault.db, config, inv.home.autoSyncOverride), now);
      } finally {
        vault.close();
      }
      if (due) await (await inv.hx()).autoSync();
    } catch (err) {
      await logFailure(inv, err);
      throw err;
    }
  },
});

/** Logs a failure: the shell sees nothing (the hook discards output); hx doctor shows the log. */
async function logFailure(inv: { home: HxHome }, err: unknown): Promise<void> {
  const line = `${new Date().toISOString()} ${categoryOf(err)}: ${messageOf(err)}`;
  await inv.home.logRecordFailure(line).catch(() => {});
}

/** The system's uptime in seconds (Linux), or `null`. */
function readUptime(): number | null {
  try {
    const first = Deno.readTextFileSync("/proc/uptime").split(" ")[0] ?? "";
    return /^\d+(\.\d+)?$/.test(first) ? Number(first) : null;
  } catch {
    return null;
  }
}
