/**
 * `hx sync init`: creates a vault on a store and syncs with it.
 *
 * @module
 */

import { command } from "../command.ts";
import { readPassphrase } from "../prompt.ts";
import { printJson } from "../output.ts";
import { STORE_OPTIONS, storeUri } from "./_store_flags.ts";

export default command({
  usage:
    "hx sync init --store URI [--endpoint URL] [--region R] [--path-style] [--passphrase] [--no-encrypt] [--json]",
  summary: "create a vault on a store (folder:PATH or s3://BUCKET/PREFIX) and sync with it",
  options: { ...STORE_OPTIONS, passphrase: { type: "boolean" }, "no-encrypt": { type: "boolean" } },
  async run(inv) {
    const store = storeUri(inv.values);
    const passphrase = inv.values.passphrase ? await readPassphrase(true) : undefined;
    const result = await (await inv.hx()).syncInit({
      store,
      encrypt: inv.values["no-encrypt"] !== true,
      ...(passphrase === undefined ? {} : { passphrase }),
    });
    if (inv.json) {
      return printJson(inv.out, { vault_id: result.vaultId, encrypted: result.keyExport !== null });
    }
    inv.out(`Created vault ${result.vaultId}.`);
    if (result.keyExport !== null) {
      inv.out("To add another device, write the key to a private file here:");
      inv.out("  hx sync key export --out hx-key.txt");
      inv.out("carry it over, and there run: hx sync join --store URI --key - < hx-key.txt");
      inv.out("The key decrypts all of your history: keep it secret, delete the file once used.");
    }
  },
});
