/**
 * Error categories shared by every layer of hx, and the base error class that carries one.
 *
 * A category tells a caller (and the user) what kind of failure happened and what to do
 * next, independently of which backend or layer raised it. Whether an error is worth
 * retrying is decided once, by the layer that knows its errors, and stored on the error.
 *
 * @module
 */

/** Every category an hx error can carry. */
export const ERROR_CATEGORIES = [
  "auth",
  "not_found",
  "throttled",
  "timeout",
  "network",
  "precondition",
  "corrupt",
  "hash_mismatch",
  "too_large",
  "invalid_input",
  "no_space",
  "unknown",
] as const;

/** What kind of failure an {@linkcode HxError} reports. */
export type ErrorCategory = typeof ERROR_CATEGORIES[number];

/** Options accepted by {@linkcode HxError} and its subclasses. */
export interface HxErrorOptions {
  /** The underlying error, kept for `--verbose` output and debugging. */
  cause?: unknown;
  /** Overrides the default retryability of the category. */
  retryable?: boolean;
  /** What the user can do, when the category's generic hint does not fit. */
  hint?: string;
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCategory> = new Set([
  "throttled",
  "timeout",
  "network",
]);

const HINTS: Record<ErrorCategory, string> = {
  auth: "check the credentials, the vault key or the passphrase",
  not_found: "check the store URI and that the vault exists (hx sync init creates one)",
  throttled: "the store is rate limiting; hx retried, try again in a minute",
  timeout: "the store did not answer in time; check the network and try again",
  network: "the store could not be reached; check the endpoint and the network",
  precondition: "the store changed underneath; run the command again",
  corrupt: "the object is damaged or not from this vault; it was quarantined (hx sync status)",
  hash_mismatch: "the object differs from what its manifest declares; it was quarantined",
  too_large: "the object exceeds the size bound; it was quarantined",
  invalid_input: "check the arguments (hx help)",
  no_space: "the disk or quota is full; free some space and run again",
  unknown: "run again with --verbose for details",
};

/**
 * Base class of every error hx raises on purpose.
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
  /** What the user can do next. */
  readonly hint: string;

  /**
   * Creates an error of a category.
   *
   * @param category What kind of failure this is.
   * @param message A sentence of the form "Cannot <action>: <state>".
   * @param options Cause and retryability.
   */
  constructor(category: ErrorCategory, message: string, options: HxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HxError";
    this.category = category;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(category);
    this.hint = options.hint ?? HINTS[category];
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
    super("auth", message, options);
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
  | "rollback";

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

/**
 * What a user can do about a failure of the given category, as a short phrase.
 *
 * @param category The category of the failure.
 * @returns A lower-case hint suitable after the error message.
 *
 * @example
 * ```ts
 * import { hintFor } from "./errors.ts";
 * console.assert(hintFor("network").includes("endpoint"));
 * ```
 */
export function hintFor(category: ErrorCategory): string {
  return HINTS[category];
}

/**
 * The category of any thrown value: the category of an {@linkcode HxError}, `timeout` for
 * an aborted timeout, `unknown` otherwise.
 *
 * @param err Anything caught.
 * @returns Its category.
 *
 * @example
 * ```ts
 * import { categoryOf, HxError } from "./errors.ts";
 * console.assert(categoryOf(new HxError("network", "x")) === "network");
 * console.assert(categoryOf(new Error("x")) === "unknown");
 * ```
 */
export function categoryOf(err: unknown): ErrorCategory {
  if (err instanceof HxError) return err.category;
  if (err instanceof DOMException && err.name === "TimeoutError") return "timeout";
  return "unknown";
}

/**
 * The message of any thrown value, as one line.
 *
 * @param err Anything caught.
 * @returns Its message with line breaks collapsed.
 *
 * @example
 * ```ts
 * import { messageOf } from "./errors.ts";
 * console.assert(messageOf(new Error("a\nb")) === "a b");
 * ```
 */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, " ").trim();
}
