/**
 * This device's local index: the SQLite database and the node identity created with it.
 *
 * @module
 */

import { uuidv7 } from "../_ids.ts";
import { HxError } from "../errors.ts";
import { Db } from "./db.ts";
import { OWN_NODE_REF } from "./events.ts";

/** Options of {@linkcode Vault.open}. */
export interface VaultOpenOptions {
  /** The clock, in ms since the epoch. Injected by tests. */
  now?: () => number;
  /** This machine's host name, recorded with events. Default `Deno.hostname()`. */
  host?: string;
}

/**
 * The local index of one device. The device's `nodeId` is created with the database on
 * first use, so history recorded before sync is set up is published by the first push.
 *
 * @example
 * ```ts
 * import { Vault } from "./vault.ts";
 * const vault = Vault.open(":memory:");
 * console.assert(vault.nodeId.length === 36);
 * vault.close();
 * ```
 */
export class Vault {
  /** The database. */
  readonly db: Db;
  /** This device's node id. */
  readonly nodeId: string;
  /** This machine's host name. */
  readonly host: string;
  /** The clock. */
  readonly now: () => number;

  private constructor(db: Db, nodeId: string, host: string, now: () => number) {
    this.db = db;
    this.nodeId = nodeId;
    this.host = host;
    this.now = now;
  }

  /**
   * Opens the index at `path`, creating it and the node identity on first use.
   *
   * @param path The database file, or `:memory:`.
   * @param opts Clock and host name.
   * @returns The vault.
   */
  static open(path: string, opts: VaultOpenOptions = {}): Vault {
    const db = Db.open(path);
    const now = opts.now ?? Date.now;
    let nodeId = db.meta("node_id");
    if (nodeId === undefined) {
      nodeId = db.transaction(() => {
        const existing = db.meta("node_id");
        if (existing !== undefined) return existing;
        const id = uuidv7(now());
        db.setMeta("node_id", id);
        db.setMeta("created_at", String(now()));
        // This device is node ref 1: the partial index of unsealed events relies on it.
        db.run("INSERT INTO nodes (ref, node_id) VALUES (?, ?)", OWN_NODE_REF, id);
        return id;
      });
    }
    const own = db.get<{ node_id: string }>(
      "SELECT node_id FROM nodes WHERE ref = ?",
      OWN_NODE_REF,
    );
    if (own?.node_id !== nodeId) {
      db.close();
      throw new HxError(
        "corrupt",
        `Cannot open the index ${path}: its node table is inconsistent`,
        {
          hint: "delete the index and pull again to rebuild it",
        },
      );
    }
    return new Vault(db, nodeId, opts.host ?? safeHostname(), now);
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}
