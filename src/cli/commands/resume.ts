/**
 * `hx resume`: records again.
 *
 * @module
 */

import { command } from "../command.ts";

export default command({
  usage: "hx resume",
  summary: "record again",
  options: {},
  async run(inv) {
    await inv.home.resume();
    inv.out("Recording resumed.");
  },
});
