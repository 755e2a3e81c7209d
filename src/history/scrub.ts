/**
 * Secrets hx itself hands out never enter history: a vault key export string typed in a
 * command (`hx sync join --key hxk1_…`) is replaced before the command is stored.
 *
 * @module
 */

const KEY_EXPORT = /hxk1_[0-9a-f]{32}_[0-9a-f]{64}_[0-9a-f]{8}/g;

/**
 * Replaces hx key export strings in a command.
 *
 * @param cmd The command as typed.
 * @returns The command with every key export string redacted.
 *
 * @example
 * ```ts
 * import { scrubSecrets } from "./scrub.ts";
 * const key = "hxk1_" + "0".repeat(32) + "_" + "1".repeat(64) + "_" + "2".repeat(8);
 * console.assert(scrubSecrets(`hx sync join --key ${key}`) === "hx sync join --key hxk1_(redacted)");
 * ```
 */
export function scrubSecrets(cmd: string): string {
  return cmd.includes("hxk1_") ? cmd.replace(KEY_EXPORT, "hxk1_(redacted)") : cmd;
}
