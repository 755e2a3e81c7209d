/**
 * `hx demo`: two throwaway devices sync through a local folder store.
 *
 * @module
 */

import { command } from "../command.ts";

export default command({
  usage: "hx demo [--keep]",
  summary: "watch two throwaway devices sync through a local folder store (touches nothing else)",
  options: { keep: { type: "boolean" } },
  async run(inv) {
    const { runDemo } = await import("../../demo.ts");
    await runDemo(inv.out, { keep: inv.values.keep === true });
  },
});
