/**
 * `hx find`: searches history, newest last, in one order whatever the output: a table for
 * people, `--json`, `--null` (for `fzf --read0`) or `--format` templates for scripts. Rows
 * are written as they are read: memory stays flat whatever the number of rows.
 *
 * @module
 */

import { parseTimeSpec } from "../../history/time_spec.ts";
import type { StoredEvent, StreamQuery } from "../../vault/events.ts";
import { command, intOption, UsageError } from "../command.ts";
import { duration, localTime, printable, relativeTime, table } from "../format.ts";
import { eventJson } from "../output.ts";

const FIELDS: Record<string, (e: StoredEvent) => string> = {
  time: (e) => localTime(e.started_at, true),
  exit: (e) => (e.exit_code === null ? "" : String(e.exit_code)),
  duration: (e) => (e.duration_ms === null ? "" : duration(e.duration_ms)),
  directory: (e) => e.cwd ?? "",
  host: (e) => e.host ?? "",
  session: (e) => e.session_id,
  command: (e) => e.cmd,
};

/** Compiles a `--format` template: `{time}`, `{exit}`, `{duration}`, `{directory}`, `{host}`, `{session}`, `{command}`. */
function template(text: string): (e: StoredEvent) => string {
  const unknown = [...text.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1]!).filter((f) =>
    !(f in FIELDS)
  );
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown field {${unknown[0]}} in --format; use ${
        Object.keys(FIELDS).map((f) => `{${f}}`).join(" ")
      }`,
    );
  }
  const unescaped = text.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  return (e) => unescaped.replace(/\{([a-z]+)\}/g, (_, f: string) => FIELDS[f]!(e));
}

/** Writes text in chunks of about 64 KiB. */
function buffered(write: (text: string) => void): { push(text: string): void; flush(): void } {
  let pending: string[] = [];
  let size = 0;
  return {
    push(text) {
      pending.push(text);
      size += text.length;
      if (size > 65_536) this.flush();
    },
    flush() {
      if (pending.length > 0) write(pending.join(""));
      pending = [];
      size = 0;
    },
  };
}

export default command({
  usage:
    "hx find [TEXT] [--limit N] [--cwd DIR | --here] [--failed] [--exit N] [--since TIME] [--until TIME] [--host H] [--session ID] [--dedup] [--reverse] [--json | --null | --cmd-only | --format TEMPLATE]",
  summary: "search history (substring, case-insensitive), newest last",
  options: {
    limit: { type: "string" },
    cwd: { type: "string" },
    here: { type: "boolean" },
    failed: { type: "boolean" },
    exit: { type: "string" },
    since: { type: "string" },
    until: { type: "string" },
    host: { type: "string" },
    session: { type: "string" },
    null: { type: "boolean" },
    "cmd-only": { type: "boolean" },
    format: { type: "string" },
    dedup: { type: "boolean" },
    reverse: { type: "boolean" },
  },
  positionals: [0, 100],
  async run(inv) {
    const v = inv.values;
    const now = Date.now();
    const outputs = [inv.json, v.null === true, v["cmd-only"] === true, v.format !== undefined]
      .filter(Boolean);
    if (outputs.length > 1) {
      throw new UsageError("choose one of --json, --null, --cmd-only and --format");
    }
    const forPeople = outputs.length === 0;
    // People see the newest 50; data outputs get every match unless limited.
    const limit = intOption("limit", v.limit) ?? (forPeople ? 50 : 0);
    const exit = intOption("exit", v.exit);
    const cwd = v.here ? Deno.cwd() : v.cwd;
    const query: StreamQuery = {
      text: inv.positionals.join(" "),
      limit,
      ...(cwd === undefined ? {} : { cwd }),
      ...(v.failed ? { failed: true } : {}),
      ...(exit === undefined ? {} : { exit }),
      ...(v.since === undefined ? {} : { since: parseTimeSpec(v.since, now) }),
      ...(v.until === undefined ? {} : { until: parseTimeSpec(v.until, now) }),
      ...(v.host === undefined ? {} : { host: v.host }),
      ...(v.session === undefined ? {} : { session: v.session }),
      ...(v.dedup ? { dedup: true } : {}),
      ...(v.reverse ? { newestFirst: true } : {}),
    };
    const rows = (await inv.hx()).stream(query);
    const out = buffered(inv.write);
    if (inv.json) {
      let first = true;
      out.push("[");
      for (const e of rows) {
        out.push(`${first ? "\n" : ",\n"}  ${JSON.stringify(eventJson(e))}`);
        first = false;
      }
      out.push(first ? "]\n" : "\n]\n");
    } else if (v.null) {
      // NUL-terminated and nothing else, for `fzf --read0` and `xargs -0`.
      for (const e of rows) out.push(`${e.cmd}\0`);
    } else if (v["cmd-only"]) {
      for (const e of rows) out.push(`${e.cmd}\n`);
    } else if (v.format !== undefined) {
      const render = template(v.format);
      for (const e of rows) out.push(`${render(e)}\n`);
    } else {
      const lines = [...rows].map((e) => [
        relativeTime(e.started_at, now),
        e.exit_code === null || e.exit_code === 0 ? " " : `✗${e.exit_code}`,
        e.duration_ms === null ? "" : duration(e.duration_ms),
        printable(e.cmd),
      ]);
      if (lines.length > 0) out.push(table(lines) + "\n");
    }
    out.flush();
  },
});
