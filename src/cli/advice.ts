/**
 * What the user should do about an error: the CLI's half of error reporting. The layers
 * below give a category (and sometimes a code naming the situation); this maps them to the
 * commands and checks a user of `hx` knows.
 *
 * @module
 */

import { categoryOf, type ErrorCategory, type HxErrorCode } from "../errors.ts";

/** What to do, by category: the README's troubleshooting table says the same. */
export const CATEGORY_ADVICE: Record<ErrorCategory, string> = {
  auth: "check the credentials, the vault key or the passphrase",
  not_found: "check the store URI and that the vault exists (hx sync init creates one)",
  throttled: "the store is rate limiting; hx retried: try again in a minute",
  timeout: "the store did not answer in time; check the network and the endpoint, then try again",
  network: "the store could not be reached; check the endpoint and the network",
  precondition: "the store changed underneath; run the command again",
  corrupt: "the object is damaged or not from this vault; it is quarantined (hx sync status)",
  hash_mismatch: "the object differs from what its manifest declares; it is quarantined",
  too_large: "the object exceeds the size bound; it is quarantined",
  invalid_input: "check the command (hx help)",
  no_space: "the disk or quota is full; free some space and run again",
  unknown: "run again with --verbose for details",
};

const CODE_ADVICE: Record<HxErrorCode, string> = {
  not_configured: "run hx sync init --store URI, or hx sync join --store URI --key -",
  already_configured: "run hx sync leave first to switch vaults",
  key_missing: "run hx sync join again with the key from another device (hx sync key export)",
  wrong_key: "export the key again with hx sync key export on a device of this vault",
  no_vault: "check the store URI, or create a vault there with hx sync init",
  several_vaults: "choose one with --vault ID",
  no_key_slot: "join with --key (hx sync key export on a device of the vault)",
  key_needed: "give --key - (the key from hx sync key export, on stdin) or --passphrase",
  unencrypted_vault: "pass --no-encrypt to confirm that the store is trusted",
  index_damaged:
    "move the index away and run hx sync pull to rebuild it (hx doctor shows where it is)",
  home_unwritable: "make the data directory writable, or point HX_HOME elsewhere",
  no_history: "record some commands first (hx init zsh|bash|fish), or hx import --file",
};

/**
 * What to do about an error, in a short lower-case phrase.
 *
 * @param err Anything caught.
 * @returns The advice: specific to the situation when the error names one, else the
 *   error's own hint, else the category's.
 *
 * @example
 * ```ts
 * import { adviceFor } from "./advice.ts";
 * import { HxError } from "../errors.ts";
 * console.assert(adviceFor(new HxError("precondition", "x", { code: "not_configured" })).includes("hx sync init"));
 * ```
 */
export function adviceFor(err: unknown): string {
  const e = err as { code?: unknown; hint?: unknown } | null;
  if (typeof e?.code === "string" && e.code in CODE_ADVICE) {
    return CODE_ADVICE[e.code as HxErrorCode];
  }
  if (typeof e?.hint === "string" && e.hint !== "") return e.hint;
  return CATEGORY_ADVICE[categoryOf(err)];
}
