#!/usr/bin/env -S deno run --allow-all
/**
 * The `hx` command: argument parsing and printing. Everything it does is a call into the
 * library ({@linkcode Hx}).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { bytes, duration, progressBar, relativeTime, table } from "./src/cli/format.ts";
import { readPassphrase, readStdin } from "./src/cli/prompt.ts";
import { categoryOf, messageOf } from "./src/errors.ts";
import { adviceFor } from "./src/cli/advice.ts";
import type { Shell } from "./src/history/parsed_command.ts";
import { parseDuration, parseTimeSpec } from "./src/history/time_spec.ts";
import { Hx } from "./src/hx.ts";
import type { StoredEvent } from "./src/vault/events.ts";
import { VERSION } from "./src/version.ts";
import { hookScript } from "./src/history/shell_hooks.ts";
import { runDoctor } from "./src/doctor.ts";

type Values = Record<string, string | boolean | string[] | undefined>;

interface Invocation {
  values: Values;
  positionals: string[];
  hx: () => Hx;
  json: boolean;
  /** Prints a line on stdout. */
  out: (text: string) => void;
  /** Writes text on stdout as is, without a newline. */
  write: (text: string) => void;
  err: (text: string) => void;
}

interface Command {
  usage: string;
  summary: string;
  options?: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;
  /** How many positionals: [min, max]. */
  positionals?: [number, number];
  run(inv: Invocation): Promise<number | void> | number | void;
}

/** A usage error: printed with the command's usage, exit status 2. */
class UsageError extends Error {
  override name = "UsageError";
}

const GLOBAL = {
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const;

const STORE_FLAGS = {
  store: { type: "string" },
  endpoint: { type: "string" },
  region: { type: "string" },
  "path-style": { type: "boolean" },
} as const;

function str(v: Values, name: string): string | undefined {
  const value = v[name];
  return typeof value === "string" ? value : undefined;
}

function int(v: Values, name: string): number | undefined {
  const value = str(v, name);
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) {
    throw new UsageError(`--${name} needs a whole number, not "${value}"`);
  }
  return Number(value);
}

/** Milliseconds from a `hx record` time: epoch ms, or epoch seconds (with a fraction). */
function epochMs(v: Values, name: string): number | undefined {
  const value = str(v, name);
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value)) {
    throw new UsageError(`--${name} needs an epoch time, not "${value}"`);
  }
  const n = Number(value);
  return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
}

/** The store URI with `--endpoint`, `--region` and `--path-style` folded into its query. */
function storeUri(v: Values): string {
  const uri = str(v, "store");
  if (uri === undefined || uri === "") throw new UsageError("--store URI is required");
  const extra: [string, string][] = [];
  if (str(v, "endpoint") !== undefined) extra.push(["endpoint", str(v, "endpoint")!]);
  if (str(v, "region") !== undefined) extra.push(["region", str(v, "region")!]);
  if (v["path-style"] === true) extra.push(["path_style", "true"]);
  if (extra.length === 0) return uri;
  if (!uri.startsWith("s3:")) {
    throw new UsageError("--endpoint, --region and --path-style only apply to s3:// stores");
  }
  const query = extra.map(([k, val]) => `${k}=${encodeURIComponent(val)}`).join("&");
  return `${uri}${uri.includes("?") ? "&" : "?"}${query}`;
}

/** `1 command`, `2 commands`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function printJson(inv: Invocation, value: unknown): void {
  inv.out(JSON.stringify(value, null, 2));
}

function eventJson(e: StoredEvent) {
  return {
    cmd: e.cmd,
    started_at: new Date(e.started_at).toISOString(),
    ended_at: e.ended_at === null ? null : new Date(e.ended_at).toISOString(),
    duration_ms: e.duration_ms,
    exit_code: e.exit_code,
    cwd: e.cwd,
    host: e.host,
    node_id: e.node_id,
    session_id: e.session_id,
    seq: e.seq,
  };
}

function progress(
  inv: Invocation,
  label: string,
): ((done: number, total: number) => void) | undefined {
  if (inv.json || !Deno.stderr.isTerminal()) return undefined;
  return (done, total) => {
    Deno.stderr.writeSync(new TextEncoder().encode(`\r${progressBar(label, done, total)}`));
    if (done === total) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  };
}

function requestsLine(
  r: { list: number; get: number; put: number; head: number; delete: number },
): string {
  return `requests: ${r.list} list, ${r.get} get, ${r.put} put, ${r.head} head, ${r.delete} delete`;
}

const COMMANDS: Record<string, Command> = {
  import: {
    usage: "hx import --file PATH [--shell zsh|bash|fish] [--json]",
    summary: "import a shell history file (re-importing adds nothing)",
    options: { file: { type: "string" }, shell: { type: "string" } },
    positionals: [0, 1],
    async run(inv) {
      const file = str(inv.values, "file") ?? inv.positionals[0];
      if (file === undefined) throw new UsageError("--file PATH is required");
      const shell = str(inv.values, "shell");
      if (shell !== undefined && !["zsh", "bash", "fish"].includes(shell)) {
        throw new UsageError(`--shell must be zsh, bash or fish, not "${shell}"`);
      }
      const result = await inv.hx().importFile(
        file,
        shell === undefined ? {} : { shell: shell as Shell },
      );
      if (inv.json) return printJson(inv, result);
      inv.out(
        `Imported ${
          count(result.inserted, "new command")
        } from ${file} (${result.shell}; ${result.duplicate} already known, ${result.covered} forgotten)`,
      );
    },
  },
  record: {
    usage:
      "hx record --cmd CMD --session ID (--start TIME [--end TIME] | --duration MS) [--exit N] [--cwd DIR] [--seq N] [--shell NAME]",
    summary: "record one finished command (the shell hook runs this, detached)",
    options: {
      cmd: { type: "string" },
      session: { type: "string" },
      seq: { type: "string" },
      start: { type: "string" },
      end: { type: "string" },
      duration: { type: "string" },
      exit: { type: "string" },
      cwd: { type: "string" },
      shell: { type: "string" },
    },
    async run(inv) {
      const cmd = str(inv.values, "cmd");
      const session = str(inv.values, "session");
      const duration = int(inv.values, "duration");
      const given = epochMs(inv.values, "start");
      const end = epochMs(inv.values, "end") ??
        (given !== undefined && duration !== undefined ? given + duration : Date.now());
      const start = given ?? (duration === undefined ? undefined : end - duration);
      if (cmd === undefined || session === undefined || start === undefined) {
        throw new UsageError("--cmd, --session and --start (or --duration) are required");
      }
      if (cmd.trim() === "") return;
      const seq = int(inv.values, "seq");
      const exit = int(inv.values, "exit");
      const hx = inv.hx();
      try {
        await hx.recordFromShell({
          cmd,
          session_id: session,
          started_at: start,
          ended_at: end,
          ...(seq === undefined ? {} : { seq }),
          ...(exit === undefined ? {} : { exit_code: exit }),
          cwd: str(inv.values, "cwd") ?? null,
          shell: str(inv.values, "shell") ?? null,
        });
      } catch (err) {
        // The shell sees nothing (the hook discards output); hx doctor shows this log.
        const line = `${new Date().toISOString()} ${categoryOf(err)}: ${messageOf(err)}`;
        await hx.home.logRecordFailure(line).catch(() => {});
        throw err;
      }
    },
  },
  init: {
    usage: "hx init zsh|bash|fish",
    summary: 'print the shell hook: eval "$(hx init zsh)" in ~/.zshrc (hx init fish | source)',
    positionals: [1, 1],
    run(inv) {
      const shell = inv.positionals[0]!;
      if (shell !== "zsh" && shell !== "bash" && shell !== "fish") {
        throw new UsageError(`unknown shell "${shell}"; use zsh, bash or fish`);
      }
      inv.out(hookScript(shell).trimEnd());
    },
  },
  pause: {
    usage: "hx pause [--for DURATION]",
    summary: "stop recording on this device (for a while, or until hx resume)",
    options: { for: { type: "string" } },
    async run(inv) {
      const span = str(inv.values, "for");
      const until = span === undefined ? undefined : Date.now() + parseDuration(span);
      await inv.hx().pause(until);
      inv.out(
        until === undefined
          ? "Recording paused until hx resume."
          : `Recording paused until ${new Date(until).toISOString()}.`,
      );
    },
  },
  resume: {
    usage: "hx resume",
    summary: "record again",
    async run(inv) {
      await inv.hx().resume();
      inv.out("Recording resumed.");
    },
  },
  last: {
    usage: "hx last [--session ID] [--json]",
    summary: "the latest session (not this shell's), its failures with a command of context",
    options: { session: { type: "string" } },
    run(inv) {
      const session = str(inv.values, "session");
      const here = Deno.env.get("HX_SESSION");
      const view = inv.hx().last({
        ...(session === undefined ? {} : { sessionId: session }),
        ...(here === undefined ? {} : { except: here }),
      });
      if (inv.json) {
        return printJson(inv, {
          ...view,
          events: view.events.map(eventJson),
          failures: view.failures.map((f) => ({
            before: f.before === null ? null : eventJson(f.before),
            failed: eventJson(f.failed),
            after: f.after === null ? null : eventJson(f.after),
          })),
        });
      }
      const now = Date.now();
      inv.out(
        `session ${view.session_id}${view.host ? ` on ${view.host}` : ""}${
          view.shell ? ` (${view.shell})` : ""
        }, ${count(view.events.length, "command")}, ${view.failures.length} failed${
          view.pinned ? ", pinned" : ""
        }`,
      );
      inv.out(table(view.events.map((e) => [
        relativeTime(e.started_at, now),
        e.exit_code === null || e.exit_code === 0 ? " " : `✗${e.exit_code}`,
        e.cmd.replaceAll("\n", "⏎ "),
      ])));
      for (const f of view.failures) {
        inv.out(`\nfailed (exit ${f.failed.exit_code}) in ${f.failed.cwd ?? "?"}:`);
        if (f.before !== null) inv.out(`    ${f.before.cmd}`);
        inv.out(`  ✗ ${f.failed.cmd}`);
        if (f.after !== null) inv.out(`    ${f.after.cmd}`);
      }
    },
  },
  pin: {
    usage: "hx pin --last | --session ID",
    summary: "pin a session (pins sync to every device and stay)",
    options: { last: { type: "boolean" }, session: { type: "string" } },
    run(inv) {
      const hx = inv.hx();
      const here = Deno.env.get("HX_SESSION");
      let id = str(inv.values, "session");
      if (id === undefined) {
        if (!inv.values.last) throw new UsageError("give --last or --session ID");
        id = hx.last(here === undefined ? {} : { except: here }).session_id;
      }
      const added = hx.pin(id);
      if (inv.json) return printJson(inv, { session_id: id, pinned: true, new: added });
      inv.out(added ? `Pinned session ${id}.` : `Session ${id} was already pinned.`);
    },
  },
  pins: {
    usage: "hx pins [--json]",
    summary: "list pinned sessions",
    run(inv) {
      const pins = inv.hx().pins();
      if (inv.json) return printJson(inv, pins);
      const now = Date.now();
      inv.out(table(pins.map((p) => [
        relativeTime(p.pinned_at, now),
        p.session_id,
        count(p.commands, "command"),
        p.first_command ?? "",
      ])));
    },
  },
  doctor: {
    usage: "hx doctor [--json]",
    summary: "check this device's setup, recording and sync, and say what to do",
    async run(inv) {
      const report = await runDoctor(inv.hx());
      if (inv.json) printJson(inv, report);
      else {
        inv.out(`hx ${report.version} (deno ${report.deno}), data in ${report.home}`);
        for (const c of report.checks) inv.out(`${c.ok ? "ok  " : "FIX "} ${c.name}: ${c.detail}`);
      }
      return report.checks.every((c) => c.ok) ? 0 : 1;
    },
  },
  find: {
    usage:
      "hx find [TEXT] [--limit N] [--cwd DIR | --here] [--failed] [--exit N] [--since TIME] [--until TIME] [--host H] [--session ID] [--json | --null]",
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
    },
    positionals: [0, 100],
    run(inv) {
      const hx = inv.hx();
      const now = Date.now();
      const v = inv.values;
      const limit = int(v, "limit") ?? (inv.json || v.null ? 1000 : 50);
      const exit = int(v, "exit");
      const cwd = v.here ? Deno.cwd() : str(v, "cwd");
      const events = hx.find({
        text: inv.positionals.join(" "),
        limit,
        ...(cwd === undefined ? {} : { cwd }),
        ...(v.failed ? { failed: true } : {}),
        ...(exit === undefined ? {} : { exit }),
        ...(str(v, "since") === undefined ? {} : { since: parseTimeSpec(str(v, "since")!, now) }),
        ...(str(v, "until") === undefined ? {} : { until: parseTimeSpec(str(v, "until")!, now) }),
        ...(str(v, "host") === undefined ? {} : { host: str(v, "host")! }),
        ...(str(v, "session") === undefined ? {} : { session: str(v, "session")! }),
      });
      if (inv.json) return printJson(inv, events.map(eventJson));
      if (v.null) {
        // NUL-terminated and nothing else, for `fzf --read0` and `xargs -0`.
        inv.write(events.map((e) => `${e.cmd}\0`).join(""));
        return;
      }
      const rows = events.reverse().map((e) => [
        relativeTime(e.started_at, now),
        e.exit_code === null ? " " : e.exit_code === 0 ? " " : `✗${e.exit_code}`,
        e.duration_ms === null ? "" : duration(e.duration_ms),
        e.cmd.replaceAll("\n", "⏎ "),
      ]);
      if (rows.length > 0) inv.out(table(rows));
    },
  },
  forget: {
    usage: "hx forget --since DURATION [--until TIME] [--this-device] [--json]",
    summary: "forget a recent window everywhere (e.g. --since 15m), on every device after sync",
    options: {
      since: { type: "string" },
      until: { type: "string" },
      "this-device": { type: "boolean" },
    },
    async run(inv) {
      const since = str(inv.values, "since");
      if (since === undefined) {
        throw new UsageError("--since DURATION is required (e.g. 15m, 2h, 7d)");
      }
      const now = Date.now();
      const start = now - parseDuration(since);
      const until = str(inv.values, "until");
      const end = until === undefined ? now : parseTimeSpec(until, now);
      const hx = inv.hx();
      const result = await hx.forget({
        start,
        end,
        ...(inv.values["this-device"] ? { node: hx.vault.nodeId } : {}),
      });
      if (inv.json) {
        return printJson(inv, {
          tombstone_id: result.tombstone.tombstone_id,
          start: new Date(start).toISOString(),
          end: new Date(end).toISOString(),
          events: result.events,
          artifacts: result.artifacts,
        });
      }
      inv.out(
        `Forgot ${count(result.events, "command")} from ${new Date(start).toISOString()} to ${
          new Date(end).toISOString()
        }; the next push tells your other devices`,
      );
    },
  },
  attach: {
    usage: "hx attach --file PATH [--session ID] [--json]",
    summary:
      "attach a file to a session (default: the latest); it syncs encrypted on the next push",
    options: { file: { type: "string" }, session: { type: "string" } },
    positionals: [0, 1],
    async run(inv) {
      const file = str(inv.values, "file") ?? inv.positionals[0];
      if (file === undefined) throw new UsageError("--file PATH is required");
      const session = str(inv.values, "session");
      const a = await inv.hx().attach(file, session === undefined ? {} : { sessionId: session });
      if (inv.json) return printJson(inv, a);
      inv.out(
        `Attached ${a.name} (${bytes(a.size)}, sha256 ${
          a.sha256.slice(0, 12)
        }) to session ${a.session_id}.`,
      );
    },
  },
  artifacts: {
    usage: "hx artifacts [--session ID] [--json]",
    summary: "list attached files, newest first (* = content here, the rest are fetched on demand)",
    options: { session: { type: "string" } },
    async run(inv) {
      const session = str(inv.values, "session");
      const list = await inv.hx().artifacts(session === undefined ? {} : { sessionId: session });
      if (inv.json) return printJson(inv, list);
      const now = Date.now();
      inv.out(table(list.map((a) => [
        a.cached ? "*" : " ",
        a.sha256.slice(0, 12),
        bytes(a.size),
        relativeTime(a.created_at, now),
        a.name,
      ])));
    },
  },
  artifact: {
    usage: "hx artifact get REF --out PATH [--json]",
    summary: "write an artifact (by name, id or sha256 prefix) to PATH, fetching it if needed",
    options: { out: { type: "string" } },
    positionals: [2, 2],
    async run(inv) {
      const [action, ref] = inv.positionals as [string, string];
      if (action !== "get") throw new UsageError(`unknown artifact action "${action}"; use get`);
      const out = str(inv.values, "out");
      if (out === undefined) throw new UsageError("--out PATH is required");
      const a = await inv.hx().getArtifact(ref, out, {
        ...optional("onProgress", progress(inv, "fetch")),
      });
      if (inv.json) return printJson(inv, { ...a, out });
      inv.out(`Wrote ${a.name} (${bytes(a.size)}) to ${out}.`);
    },
  },
  demo: {
    usage: "hx demo [--keep]",
    summary: "watch two throwaway devices sync through a local folder store (touches nothing else)",
    options: { keep: { type: "boolean" } },
    async run(inv) {
      const { runDemo } = await import("./src/demo.ts");
      await runDemo(inv.out, { keep: inv.values.keep === true });
    },
  },
  version: {
    usage: "hx --version",
    summary: "print the version",
    run(inv) {
      inv.out(inv.json ? JSON.stringify({ version: VERSION }) : `hx ${VERSION}`);
    },
  },
};

const SYNC: Record<string, Command> = {
  init: {
    usage:
      "hx sync init --store URI [--endpoint URL] [--region R] [--path-style] [--passphrase] [--no-encrypt] [--json]",
    summary: "create a vault on a store (folder:PATH or s3://BUCKET/PREFIX) and sync with it",
    options: { ...STORE_FLAGS, passphrase: { type: "boolean" }, "no-encrypt": { type: "boolean" } },
    async run(inv) {
      const store = storeUri(inv.values);
      const passphrase = inv.values.passphrase ? await readPassphrase(true) : undefined;
      const result = await inv.hx().syncInit({
        store,
        encrypt: inv.values["no-encrypt"] !== true,
        ...(passphrase === undefined ? {} : { passphrase }),
      });
      if (inv.json) {
        return printJson(inv, { vault_id: result.vaultId, encrypted: result.keyExport !== null });
      }
      inv.out(`Created vault ${result.vaultId}.`);
      if (result.keyExport !== null) {
        inv.out("To add another device, run there: hx sync join --store URI --key KEY");
        inv.out("where KEY is what `hx sync key export` prints here. Keep it secret.");
      }
    },
  },
  join: {
    usage:
      "hx sync join --store URI (--key KEY | --key - | --passphrase) [--vault ID] [--endpoint URL] [--region R] [--path-style] [--no-encrypt] [--json]",
    summary: "join an existing vault with its key (or a passphrase)",
    options: {
      ...STORE_FLAGS,
      key: { type: "string" },
      passphrase: { type: "boolean" },
      vault: { type: "string" },
      "no-encrypt": { type: "boolean" },
    },
    async run(inv) {
      const store = storeUri(inv.values);
      let key = str(inv.values, "key") ?? Deno.env.get("HX_KEY");
      if (key === "-") key = (await readStdin()).trim();
      const passphrase = inv.values.passphrase ? await readPassphrase(false) : undefined;
      const vault = str(inv.values, "vault");
      const result = await inv.hx().syncJoin({
        store,
        ...(key === undefined ? {} : { key }),
        ...(passphrase === undefined ? {} : { passphrase }),
        ...(vault === undefined ? {} : { vaultId: vault }),
        ...(inv.values["no-encrypt"] ? { noEncrypt: true } : {}),
      });
      if (inv.json) return printJson(inv, { vault_id: result.vaultId });
      inv.out(`Joined vault ${result.vaultId}. Run hx sync pull to fetch its history.`);
    },
  },
  push: {
    usage: "hx sync push [--json]",
    summary: "publish this device's new history",
    async run(inv) {
      const result = await inv.hx().push({
        ...optional("onProgress", progress(inv, "push")),
        ...optional("onBlobProgress", progress(inv, "blobs")),
      });
      if (inv.json) return printJson(inv, result);
      inv.out(
        result.manifest_seq === null
          ? "Nothing to push."
          : `Pushed ${count(result.events, "command")} in ${
            count(result.segments.uploaded, "segment")
          } (${bytes(result.bytes)}); manifest seq ${result.manifest_seq}.`,
      );
      if (inv.values.verbose) inv.out(requestsLine(result.requests));
    },
  },
  pull: {
    usage: "hx sync pull [--scan] [--json]",
    summary: "import what other devices published (--scan: repair by listing every object)",
    options: { scan: { type: "boolean" } },
    async run(inv) {
      const result = await inv.hx().pull({
        ...(inv.values.scan ? { scan: true } : {}),
        ...optional("onProgress", progress(inv, "pull")),
      });
      if (inv.json) return printJson(inv, result);
      inv.out(
        `Pulled ${count(result.events.inserted, "new command")} from ${
          count(result.segments.imported, "segment")
        }; applied ${count(result.tombstones.applied, "tombstone")}.`,
      );
      const failed = result.segments.failed + result.tombstones.refused + result.manifests.failed +
        result.manifests.rollback + result.manifests.missing;
      if (failed > 0) {
        inv.err(
          `${
            count(failed, "object")
          } failed, now in quarantine (${result.quarantined} in all); see hx sync status`,
        );
      }
      if (inv.values.verbose) inv.out(requestsLine(result.requests));
    },
  },
  status: {
    usage: "hx sync status [--json]",
    summary: "show setup, last runs, errors, quarantine and devices",
    async run(inv) {
      const s = await inv.hx().status();
      if (inv.json) {
        return printJson(inv, {
          ...s,
          last_error: s.last_error === null
            ? null
            : { ...s.last_error, hint: adviceFor({ ...s.last_error }) },
        });
      }
      const now = Date.now();
      const when = (ms: number | null) => (ms === null ? "never" : relativeTime(ms, now));
      if (!s.configured) {
        inv.out(`Sync is not set up on this device (node ${s.node_id}, ${s.events} commands).`);
        inv.out("Run: hx sync init --store URI   (or hx sync join --store URI --key KEY)");
        return;
      }
      inv.out(
        table([
          ["store", s.store ?? ""],
          ["vault", `${s.vault_id}${s.encrypted ? "" : " (not encrypted)"}`],
          ["this device", s.node_id],
          ["commands", String(s.events)],
          ["pending", `${s.pending.events} commands, ${s.pending.tombstones} tombstones to push`],
          [
            "last push",
            `${when(s.last_successful_push)}${
              s.last_push?.ok === false ? " (last attempt failed)" : ""
            }`,
          ],
          [
            "last pull",
            `${when(s.last_successful_pull)}${
              s.last_pull?.ok === false ? " (last attempt failed)" : ""
            }`,
          ],
        ]),
      );
      if (s.last_error !== null) {
        inv.out(
          `last error (${s.last_error.kind}, ${
            when(s.last_error.at)
          }): ${s.last_error.category}: ${s.last_error.message}`,
        );
        inv.out(`  what to do: ${adviceFor({ ...s.last_error })}`);
      }
      if (s.quarantine.total > 0) {
        const by = Object.entries(s.quarantine.by_category).map(([c, n]) => `${n} ${c}`).join(", ");
        inv.out(
          `\nquarantined objects: ${s.quarantine.total} (${by}), retried with backoff; the oldest:`,
        );
        inv.out(
          table(s.quarantine.first.map((q) => [q.kind, q.category, `${q.key}: ${q.message}`])),
        );
      }
      if (s.devices.length > 0) {
        inv.out("\ndevices (last push as seen in their manifests):");
        inv.out(table(s.devices.map((d) => [
          d.this_device ? "*" : " ",
          d.host ?? "?",
          d.node_id,
          `seq ${d.manifest_seq}`,
          when(d.last_push_at),
        ])));
      }
    },
  },
  now: {
    usage: "hx sync [--json]",
    summary: "push then pull",
    async run(inv) {
      const result = await inv.hx().sync({
        push: {
          ...optional("onProgress", progress(inv, "push")),
          ...optional("onBlobProgress", progress(inv, "blobs")),
        },
        pull: { ...optional("onProgress", progress(inv, "pull")) },
      });
      if (inv.json) return printJson(inv, result);
      const { push, pull } = result!;
      inv.out(
        `Pushed ${count(push.events, "command")}, pulled ${pull.events.inserted}; applied ${
          count(pull.tombstones.applied, "tombstone")
        }.`,
      );
      if (pull.quarantined > 0) {
        inv.err(`${count(pull.quarantined, "object")} quarantined; see hx sync status`);
      }
    },
  },
  auto: {
    usage: "hx sync auto --every DURATION | --off",
    summary: "sync automatically after recording when the last sync is older than DURATION",
    options: { every: { type: "string" }, off: { type: "boolean" } },
    async run(inv) {
      const every = str(inv.values, "every");
      if ((every === undefined) === (inv.values.off !== true)) {
        throw new UsageError("give --every DURATION or --off");
      }
      const minutes = every === undefined
        ? 0
        : Math.max(1, Math.round(parseDuration(every) / 60_000));
      await inv.hx().setAutoSync(minutes);
      inv.out(
        minutes === 0 ? "Auto-sync is off." : `Auto-sync every ${minutes} min, after recording.`,
      );
    },
  },
  verify: {
    usage: "hx sync verify [--json]",
    summary: "read every object in the store and report what does not decrypt or hash",
    async run(inv) {
      const report = await inv.hx().verify({ ...optional("onProgress", progress(inv, "verify")) });
      if (inv.json) printJson(inv, report);
      else {
        inv.out(
          `Read ${count(report.objects, "object")} (${bytes(report.bytes)}): ${
            count(report.problems.length, "problem")
          }.`,
        );
        if (report.problems.length > 0) {
          inv.out(
            table(report.problems.map((p) => [p.kind, p.category, `${p.key}: ${p.message}`])),
          );
        }
      }
      return report.problems.length === 0 ? 0 : 1;
    },
  },
  digest: {
    usage: "hx sync digest [--json]",
    summary: "a hash of the set of live events: equal on two devices means the same history",
    async run(inv) {
      const d = await inv.hx().digest();
      inv.out(inv.json ? JSON.stringify(d) : `${d.digest}  (${d.events} events)`);
    },
  },
  key: {
    usage: "hx sync key export | hx sync key passphrase",
    summary: "print the vault key for another device, or add a passphrase key slot",
    positionals: [1, 1],
    async run(inv) {
      const action = inv.positionals[0];
      if (action === "export") {
        const key = await inv.hx().exportKey();
        inv.err("This key decrypts all of your history. Keep it secret.");
        inv.out(key);
      } else if (action === "passphrase") {
        const slot = await inv.hx().addPassphrase(await readPassphrase(true));
        inv.out(
          inv.json ? JSON.stringify({ slot_id: slot }) : `Added passphrase key slot ${slot}.`,
        );
      } else {
        throw new UsageError(`unknown key action "${action}"; use export or passphrase`);
      }
    },
  },
};

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function helpText(): string {
  const lines = [
    `hx ${VERSION}: shell history, synced end-to-end encrypted through storage you own`,
    "",
  ];
  lines.push("Usage:");
  for (const c of Object.values(COMMANDS)) lines.push(`  ${c.usage}`, `      ${c.summary}`);
  for (const c of Object.values(SYNC)) lines.push(`  ${c.usage}`, `      ${c.summary}`);
  lines.push(
    "",
    "Global flags: --json (data output), --verbose (details, stack traces), --help",
    "Data directory: $HX_HOME, else $XDG_DATA_HOME/hx, else ~/.local/share/hx",
  );
  return lines.join("\n");
}

/**
 * Runs the CLI.
 *
 * @param argv The arguments after `hx`.
 * @returns The exit status: 0 success, 1 failure, 2 usage error.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const out = (text: string) => console.log(text);
  const write = (text: string) => {
    const data = new TextEncoder().encode(text);
    for (let at = 0; at < data.length;) at += Deno.stdout.writeSync(data.subarray(at));
  };
  const err = (text: string) => console.error(text);
  let verbose = argv.includes("--verbose") || argv.includes("-v");
  let hx: Hx | null = null;
  let command: Command | undefined;
  try {
    const [first, second] = argv;
    if (first === undefined || first === "help" || first === "--help" || first === "-h") {
      out(helpText());
      return 0;
    }
    if (first === "--version") {
      out(`hx ${VERSION}`);
      return 0;
    }
    let rest: readonly string[];
    if (first === "sync") {
      const bare = second === undefined || second.startsWith("-");
      command = bare ? SYNC.now : SYNC[second];
      if (command === undefined) throw new UsageError(`unknown sync subcommand "${second}"`);
      rest = argv.slice(bare ? 1 : 2);
    } else {
      command = COMMANDS[first];
      if (command === undefined) throw new UsageError(`unknown command "${first}"`);
      rest = argv.slice(1);
    }
    let parsed;
    try {
      parsed = parseArgs({
        args: [...rest],
        options: { ...GLOBAL, ...(command.options ?? {}) },
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError(messageOf(e).replace(/\. To specify a positional.*$/, ""));
    }
    const values = parsed.values as Values;
    verbose = values.verbose === true;
    if (values.help) {
      out(`${command.usage}\n  ${command.summary}`);
      return 0;
    }
    const [min, max] = command.positionals ?? [0, 0];
    if (parsed.positionals.length < min || parsed.positionals.length > max) {
      throw new UsageError(
        parsed.positionals.length > max
          ? `unexpected argument "${parsed.positionals[max]}"`
          : "missing argument",
      );
    }
    const status = await command.run({
      values,
      positionals: parsed.positionals,
      hx: () => (hx ??= Hx.open()),
      json: values.json === true,
      out,
      write,
      err,
    });
    return typeof status === "number" ? status : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      const usage = command === undefined
        ? "run hx help for the commands"
        : `usage: ${command.usage}`;
      err(`hx: ${e.message} (${usage})`);
      return 2;
    }
    const category = categoryOf(e);
    err(`hx: ${category}: ${messageOf(e)} (${adviceFor(e)})`);
    if (verbose && e instanceof Error && e.stack) err(e.stack);
    return 1;
  } finally {
    (hx as Hx | null)?.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
