/**
 * Recording one command into the local index: what the shell hook runs after every
 * command. It touches only SQLite, never the network; secrets are redacted first.
 *
 * @module
 */

import type { RecordRules } from "../config.ts";
import type { EventRecord } from "../object/payloads.ts";
import { insertEvents } from "../vault/events.ts";
import { insertSession, nextSeq } from "../vault/sessions.ts";
import type { Vault } from "../vault/vault.ts";
import { redactSecrets } from "./secrets.ts";

/** One finished command as the shell reports it. */
export interface RecordInput {
  /** The command line. */
  cmd: string;
  /** The shell session's id. */
  session_id: string;
  /** Position in the session; default: one after the session's last. */
  seq?: number;
  /** When it started (ms). */
  started_at: number;
  /** When it ended (ms); default: now. */
  ended_at?: number | null;
  /** Its exit status. */
  exit_code?: number | null;
  /** The directory it ran in. */
  cwd?: string | null;
  /** The shell's name, recorded with a new session. */
  shell?: string | null;
}

/**
 * Records a command (secrets redacted), unless the rules keep it out or a tombstone covers
 * its time (then it is dropped).
 *
 * @param vault This device's index.
 * @param input The command.
 * @param opts The settings' rules: users' secret patterns and what never to record.
 * @returns Whether it was stored (`false` for a duplicate, a forgotten time or an ignored
 *   command).
 */
export function recordEvent(
  vault: Vault,
  input: RecordInput,
  opts: { rules?: RecordRules } = {},
): boolean {
  if (opts.rules?.ignores(input.cmd, input.cwd ?? null)) return false;
  const db = vault.db;
  return db.transaction(() => {
    insertSession(db, {
      session_id: input.session_id,
      node_id: vault.nodeId,
      started_at: input.started_at,
      host: vault.host,
      shell: input.shell ?? null,
    }, null);
    const seq = input.seq ?? nextSeq(db, input.session_id);
    const ended = input.ended_at === undefined ? vault.now() : input.ended_at;
    const event: EventRecord = {
      node_id: vault.nodeId,
      session_id: input.session_id,
      seq,
      started_at: input.started_at,
      ended_at: ended,
      duration_ms: ended === null ? null : Math.max(0, ended - input.started_at),
      exit_code: input.exit_code ?? null,
      cwd: input.cwd ?? null,
      cmd: redactSecrets(input.cmd, opts.rules?.secretPatterns),
      host: vault.host,
    };
    return insertEvents(db, [event], { origin: "here" }).inserted === 1;
  });
}
