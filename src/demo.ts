/**
 * `hx demo`: two throwaway devices sync history through a local folder store, end to end
 * encrypted, using exactly the code paths of the real commands. Nothing outside a
 * temporary directory is touched.
 *
 * @module
 */

import { join, relative } from "node:path";
import { Hx } from "./hx.ts";

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await filesUnder(p));
    else out.push(p);
  }
  return out.sort();
}

/**
 * Runs the demo.
 *
 * @param out Prints one line.
 * @param opts `keep` leaves the temporary directory for inspection.
 * @returns The temporary directory used.
 */
export async function runDemo(
  out: (line: string) => void,
  opts: { keep?: boolean } = {},
): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "hx-demo-" });
  const storeDir = join(root, "store");
  await Deno.mkdir(storeDir);
  const store = `folder:${storeDir}`;
  const laptop = Hx.open({ home: join(root, "laptop"), host: "laptop" });
  const desktop = Hx.open({ home: join(root, "desktop"), host: "desktop" });
  try {
    out(`A local folder stands in for your NAS, Syncthing folder or S3 bucket: ${storeDir}`);
    const { vaultId } = await laptop.syncInit({ store });
    out(`laptop:  hx sync init --store ${store}   -> vault ${vaultId}`);
    await desktop.syncJoin({ store, key: await laptop.exportKey() });
    out("desktop: hx sync join --store … --key $(hx sync key export on the laptop)");

    const now = Date.now();
    const secret = "export API_TOKEN=hunter2-do-not-share";
    const laptopCmds = ["git clone git@example.com:me/app.git", "cd app && make test", secret];
    const desktopCmds = ["docker compose up -d", "psql -c 'select 1'"];
    laptopCmds.forEach((cmd, i) =>
      laptop.record({
        cmd,
        session_id: "demo-laptop",
        started_at: now - 60_000 + i * 1000,
        exit_code: 0,
      })
    );
    desktopCmds.forEach((cmd, i) =>
      desktop.record({
        cmd,
        session_id: "demo-desktop",
        started_at: now - 50_000 + i * 1000,
        exit_code: 0,
      })
    );
    out(
      `Both recorded offline: laptop ${laptopCmds.length} commands, desktop ${desktopCmds.length}.`,
    );

    const p1 = await laptop.push();
    const p2 = await desktop.push();
    const l = await laptop.pull();
    const d = await desktop.pull();
    out(
      `push/pull: laptop pushed ${p1.events}, desktop pushed ${p2.events}; laptop pulled ${l.events.inserted}, desktop pulled ${d.events.inserted}.`,
    );
    const a = laptop.find({ limit: 100 }).map((e) => e.cmd).sort();
    const b = desktop.find({ limit: 100 }).map((e) => e.cmd).sort();
    out(
      `Converged: both devices hold the same ${a.length} commands: ${
        JSON.stringify(a) === JSON.stringify(b)
      }`,
    );

    const forgotten = await laptop.forget({ start: now - 58_500, end: now - 57_500 });
    await laptop.push();
    await desktop.pull();
    const leaked = desktop.find({ text: "hunter2" }).length;
    out(
      `laptop: hx forget (the secret's window) removed ${forgotten.events}; after one sync the desktop holds it ${leaked} times.`,
    );

    const files = await filesUnder(storeDir);
    let plaintext = 0;
    for (const f of files) {
      const text = new TextDecoder("latin1").decode(await Deno.readFile(f));
      if (text.includes("hunter2") || text.includes("make test") || text.includes("docker")) {
        plaintext++;
      }
    }
    out(
      `The store holds ${files.length} objects; files containing any command in plaintext: ${plaintext}`,
    );
    for (const f of files) out(`  ${relative(storeDir, f)}`);
    const desktopStatus = await desktop.status();
    out(
      `desktop status: ${desktopStatus.events} commands, ${desktopStatus.devices.length} devices seen, ${desktopStatus.quarantine.total} objects quarantined.`,
    );
    return root;
  } finally {
    laptop.close();
    desktop.close();
    if (opts.keep) out(`Kept ${root} for you to look at.`);
    else await Deno.remove(root, { recursive: true });
  }
}
