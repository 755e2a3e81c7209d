/**
 * `hx sync status`: setup, last runs, errors, quarantine and devices.
 *
 * @module
 */

import type { SyncStatus } from "../../sync/status.ts";
import { adviceFor } from "../advice.ts";
import { command } from "../command.ts";
import { localDate, printable, relativeTime, table } from "../format.ts";
import { count, isoTime, printJson } from "../output.ts";

/** The status as `--json` shows it: times as ISO strings, the last error with what to do. */
function statusJson(s: SyncStatus) {
  const run = (r: SyncStatus["last_push"]) =>
    r === null ? null : { ...r, started_at: isoTime(r.started_at), ended_at: isoTime(r.ended_at) };
  return {
    ...s,
    last_push: run(s.last_push),
    last_pull: run(s.last_pull),
    last_successful_push: isoTime(s.last_successful_push),
    last_successful_pull: isoTime(s.last_successful_pull),
    last_error: s.last_error === null ? null : {
      ...s.last_error,
      at: isoTime(s.last_error.at),
      hint: adviceFor({ ...s.last_error }),
    },
    quarantine: {
      ...s.quarantine,
      first: s.quarantine.first.map((q) => ({
        ...q,
        first_seen: isoTime(q.first_seen),
        last_attempt: isoTime(q.last_attempt),
        next_attempt_at: isoTime(q.next_attempt_at),
      })),
    },
    devices: s.devices.map((d) => ({ ...d, last_push_at: isoTime(d.last_push_at) })),
    not_local: s.not_local === null ? null : { ...s.not_local, since: isoTime(s.not_local.since) },
    auto_sync: {
      ...s.auto_sync,
      next_at: isoTime(s.auto_sync.next_at),
      last_attempt_at: isoTime(s.auto_sync.last_attempt_at),
    },
    paused_until: isoTime(s.paused_until),
  };
}

export default command({
  usage: "hx sync status [--json]",
  summary: "show setup, last runs, errors, quarantine and devices",
  options: {},
  async run(inv) {
    const s = await (await inv.hx()).status();
    if (inv.json) return printJson(inv.out, statusJson(s));
    const now = Date.now();
    const when = (ms: number | null) => (ms === null ? "never" : relativeTime(ms, now));
    if (!s.configured) {
      inv.out(`Sync is not set up on this device (node ${s.node_id}, ${s.events} commands).`);
      inv.out("Run: hx sync init --store URI   (or hx sync join --store URI --key -)");
      return;
    }
    const pending = `${s.pending.events} commands, ${s.pending.tombstones} tombstones to push` +
      (s.pending.deferred_tombstones > 0
        ? `, ${s.pending.deferred_tombstones} tombstones from the future waiting`
        : "");
    inv.out(table([
      ["store", printable(s.store ?? "")],
      ["vault", `${s.vault_id}${s.encrypted ? "" : " (not encrypted)"}`],
      ["this device", s.node_id],
      ["commands", String(s.events)],
      ["pending", pending],
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
      ...(s.not_local === null ? [] : [[
        "not local",
        `history before ${localDate(s.not_local.since)}: ${
          count(s.not_local.events, "command")
        } in ${count(s.not_local.objects, "object")} on the store (hx sync pull --all)`,
      ]]),
    ]));
    if (s.last_error !== null) {
      inv.out(
        `last error (${s.last_error.kind}, ${when(s.last_error.at)}): ${s.last_error.category}: ${
          printable(s.last_error.message)
        }`,
      );
      inv.out(`  what to do: ${adviceFor({ ...s.last_error })}`);
    }
    if (s.quarantine.total > 0) {
      const by = Object.entries(s.quarantine.by_category).map(([c, n]) => `${n} ${c}`).join(", ");
      inv.out(
        `\nquarantined objects: ${s.quarantine.total} (${by}), retried with backoff; the oldest:`,
      );
      inv.out(
        table(
          s.quarantine.first.map((q) => [q.kind, q.category, printable(`${q.key}: ${q.message}`)]),
        ),
      );
    }
    if (s.devices.length > 0) {
      inv.out("\ndevices (last push as seen in their manifests):");
      inv.out(table(s.devices.map((d) => [
        d.this_device ? "*" : " ",
        printable(d.host ?? "?"),
        d.node_id,
        `seq ${d.manifest_seq}`,
        when(d.last_push_at),
      ])));
    }
  },
});
