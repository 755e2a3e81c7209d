/**
 * `hx sync leave`: stops syncing this device. Pushes first, so nothing recorded here is lost
 * to the other devices; keeps the history; removes the sync setup and the key.
 *
 * @module
 */

import { command } from "../command.ts";
import { count, printJson } from "../output.ts";

export default command({
  usage: "hx sync leave [--no-push] [--json]",
  summary: "stop syncing this device (pushes first; history stays here, the key goes)",
  options: { "no-push": { type: "boolean" } },
  async run(inv) {
    const left = await (await inv.hx()).syncLeave({ push: !inv.values["no-push"] });
    if (inv.json) {
      return printJson(inv.out, {
        vault_id: left.vaultId,
        pushed: left.push === null ? null : left.push.events,
        own_events: left.own_events,
        other_events: left.other_events,
      });
    }
    if (left.push !== null) {
      inv.out(`Pushed ${count(left.push.events, "command")} before leaving.`);
    }
    inv.out(
      `Left vault ${left.vaultId}: this device no longer syncs, and its key is removed here.`,
    );
    inv.out(
      `History kept here: ${count(left.own_events, "command")} from this device, ${
        count(left.other_events, "command")
      } from others. What it pushed stays in the vault for the other devices.`,
    );
    inv.out(
      "To sync again: hx sync join --store URI --key -   (this device's history is pushed again)",
    );
  },
});
