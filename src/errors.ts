/**
 * Errors of the layers above the store (vault, objects, crypto, sync): each carries a
 * category from the one list in `store/errors.ts`, and optionally a code that names the
 * situation precisely, so that a front end (the CLI) can say what to do. Nothing here
 * names a command.
 *
 * @module
 */

import { type ErrorCategory, retryableByDefault } from "./store/errors.ts";

export {
  categoryOf,
  ERROR_CATEGORIES,
  type ErrorCategory,
  isRetryable,
  messageOf,
} from "./store/errors.ts";

/** Situations a front end gives specific advice for. */
export type HxErrorCode =
  /** Sync is not set up on this device. */
  | "not_configured"
  /** Sync is already set up with another vault. */
  | "already_configured"
  /** The vault key file is missing or for another vault. */
  | "key_missing"
  /** The key or passphrase does not unlock the vault. */
  | "wrong_key"
  /** The store holds no such vault. */
  | "no_vault"
  /** The store holds several vaults and none was named. */
  | "several_vaults"
  /** The vault has no passphrase key slot. */
  | "no_key_slot"
  /** Joining needs a key or a passphrase. */
  | "key_needed"
  /** The vault does not encrypt and `noEncrypt` was not given. */
  | "unencrypted_vault"
  /** The local index cannot be opened or is damaged. */
  | "index_damaged"
  /** The data directory cannot be written. */
  | "home_unwritable"
  /** No history is known yet. */
  | "no_history";

/** Options accepted by {@linkcode HxError} and its subclasses. */
export interface HxErrorOptions {
  /** The underlying error, kept for `--verbose` output and debugging. */
  cause?: unknown;
  /** Overrides the default retryability of the category. */
  retryable?: boolean;
  /** The precise situation, when a front end should give specific advice. */
  code?: HxErrorCode;
  /** Advice that names no command (e.g. "check the passphrase"). */
  hint?: string;
}

/**
 * Base class of the errors hx raises on purpose above the store layer.
 *
 * @example Categorise an error
 * ```ts
 * import { HxError } from "./errors.ts";
 * const err = new HxError("auth", "Cannot open vault: the key does not match");
 * console.assert(err.category === "auth" && !err.retryable);
 * ```
 */
export class HxError extends Error {
  /** What kind of failure this is. */
  readonly category: ErrorCategory;
  /** Whether repeating the same operation may succeed. */
  readonly retryable: boolean;
  /** The precise situation, if a front end should give specific advice. */
  readonly code: HxErrorCode | undefined;
  /** Advice that names no command, if any. */
  readonly hint: string | undefined;

  /**
   * Creates an error of a category.
   *
   * @param category What kind of failure this is.
   * @param message A sentence of the form "Cannot <action>: <state>".
   * @param options Cause, code, hint and retryability.
   */
  constructor(category: ErrorCategory, message: string, options: HxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HxError";
    this.category = category;
    this.retryable = options.retryable ?? retryableByDefault(category);
    this.code = options.code;
    this.hint = options.hint;
  }
}

/**
 * The key or passphrase given does not unlock the vault.
 *
 * @example
 * ```ts
 * import { KeyMismatchError } from "./errors.ts";
 * console.assert(new KeyMismatchError("Cannot join: wrong key").category === "auth");
 * ```
 */
export class KeyMismatchError extends HxError {
  /**
   * Creates the error for a key or passphrase that does not unlock the vault.
   *
   * @param message What was attempted and why it failed.
   * @param options The underlying cause.
   */
  constructor(message: string, options: HxErrorOptions = {}) {
    super("auth", message, { code: "wrong_key", ...options });
    this.name = "KeyMismatchError";
  }
}

/** What is wrong with an object that failed validation. */
export type IntegrityReason =
  | "truncated"
  | "bad_header"
  | "bad_payload"
  | "unsupported_version"
  | "decrypt_failed"
  | "wrong_key"
  | "wrong_vault"
  | "wrong_node"
  | "wrong_kind"
  | "wrong_id"
  | "hash_mismatch"
  | "too_large"
  | "rollback"
  | "future";

const CATEGORY_OF_REASON: Record<IntegrityReason, ErrorCategory> = {
  truncated: "corrupt",
  bad_header: "corrupt",
  bad_payload: "corrupt",
  unsupported_version: "corrupt",
  decrypt_failed: "corrupt",
  wrong_key: "corrupt",
  wrong_vault: "corrupt",
  wrong_node: "corrupt",
  wrong_kind: "corrupt",
  wrong_id: "corrupt",
  hash_mismatch: "hash_mismatch",
  too_large: "too_large",
  rollback: "precondition",
  future: "corrupt",
};

/**
 * An object read from the store is not valid for this vault: truncated, tampered with,
 * too large, from another vault or node, or an older copy replayed.
 *
 * @example
 * ```ts
 * import { IntegrityError } from "./errors.ts";
 * const err = new IntegrityError("wrong_vault", "Cannot import object: it belongs to vault B");
 * console.assert(err.category === "corrupt" && err.reason === "wrong_vault");
 * ```
 */
export class IntegrityError extends HxError {
  /** The precise reason, finer than the category. */
  readonly reason: IntegrityReason;

  /**
   * Creates the error for an object that failed validation.
   *
   * @param reason The precise reason the object was rejected.
   * @param message What was attempted and why it failed.
   * @param options The underlying cause.
   */
  constructor(reason: IntegrityReason, message: string, options: HxErrorOptions = {}) {
    super(CATEGORY_OF_REASON[reason], message, { ...options, retryable: false });
    this.name = "IntegrityError";
    this.reason = reason;
  }
}
