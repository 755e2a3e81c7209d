/**
 * `hx sync key export|passphrase`: the vault key for another device (to a private file with
 * `--out`), or a passphrase key slot.
 *
 * @module
 */

import { writeFileAtomic } from "../../_atomic_file.ts";
import { command, UsageError } from "../command.ts";
import { readPassphrase } from "../prompt.ts";

export default command({
  usage: "hx sync key export [--out FILE] | hx sync key passphrase",
  summary:
    "write the vault key for another device (to FILE, mode 0600), or add a passphrase key slot",
  options: { out: { type: "string" } },
  positionals: [1, 1],
  async run(inv) {
    const action = inv.positionals[0];
    if (action === "export") {
      const key = await (await inv.hx()).exportKey();
      const out = inv.values.out;
      if (out !== undefined) {
        await writeFileAtomic(out, new TextEncoder().encode(key + "\n"), { mode: 0o600 });
        inv.err(
          `Wrote the vault key to ${out} (readable by you only). It decrypts all of your history.`,
        );
        return;
      }
      inv.err("This key decrypts all of your history. Keep it secret.");
      inv.out(key);
    } else if (action === "passphrase") {
      if (inv.values.out !== undefined) throw new UsageError("--out is for hx sync key export");
      const slot = await (await inv.hx()).addPassphrase(await readPassphrase(true));
      inv.out(inv.json ? JSON.stringify({ slot_id: slot }) : `Added passphrase key slot ${slot}.`);
    } else {
      throw new UsageError(`unknown key action "${action}"; use export or passphrase`);
    }
  },
});
