/**
 * `hx sync join`: joins an existing vault with its key (read from stdin) or a passphrase.
 *
 * @module
 */

import { parseTimeSpec } from "../../history/time_spec.ts";
import { command } from "../command.ts";
import { readPassphrase, readStdin } from "../prompt.ts";
import { printJson } from "../output.ts";
import { STORE_OPTIONS, storeUri } from "./_store_flags.ts";

export default command({
  usage:
    "hx sync join --store URI (--key - | --passphrase) [--vault ID] [--since TIME] [--endpoint URL] [--region R] [--path-style] [--no-encrypt] [--json]",
  summary:
    "join an existing vault with its key (--key - reads it from stdin) or a passphrase; --since 90d fetches only recent history",
  options: {
    ...STORE_OPTIONS,
    key: { type: "string" },
    passphrase: { type: "boolean" },
    vault: { type: "string" },
    "no-encrypt": { type: "boolean" },
    since: { type: "string" },
  },
  async run(inv) {
    const store = storeUri(inv.values);
    let key = inv.values.key ?? Deno.env.get("HX_KEY");
    if (key === "-") key = readStdin(4096, "the key on stdin").trim();
    const passphrase = inv.values.passphrase ? await readPassphrase(false) : undefined;
    const vault = inv.values.vault;
    const since = inv.values.since === undefined
      ? undefined
      : parseTimeSpec(inv.values.since, Date.now());
    const result = await (await inv.hx()).syncJoin({
      store,
      ...(key === undefined ? {} : { key }),
      ...(passphrase === undefined ? {} : { passphrase }),
      ...(vault === undefined ? {} : { vaultId: vault }),
      ...(since === undefined ? {} : { since }),
      ...(inv.values["no-encrypt"] ? { noEncrypt: true } : {}),
    });
    if (inv.json) return printJson(inv.out, { vault_id: result.vaultId });
    inv.out(`Joined vault ${result.vaultId}. Run hx sync pull to fetch its history.`);
  },
});
