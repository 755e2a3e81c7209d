// Child process of tests: pulls one device (its HX_HOME given) and prints one JSON line with
// the pull's counts (or its error) and this process's peak RSS, so a test can bound the
// memory a hostile object may cost.
import { openSyncContext } from "../../src/sync/context.ts";
import { pull } from "../../src/sync/pull.ts";
import { HxHome } from "../../src/vault/home.ts";
import { Vault } from "../../src/vault/vault.ts";
import { listQuarantine } from "../../src/vault/quarantine.ts";
import { fetchBlob } from "../../src/sync/blobs.ts";
import { listArtifactRows } from "../../src/vault/artifacts.ts";

function peakKiB(): number {
  const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"));
  return Number(m?.[1] ?? 0);
}

const [home, mode] = Deno.args as [string, "pull" | "blob"];
const h = new HxHome(home);
const vault = Vault.open(h.dbPath);
const ctx = await openSyncContext(h, vault, { retry: false });
const out: Record<string, unknown> = {};
try {
  if (mode === "pull") {
    const r = await pull(ctx);
    out.segments = r.segments;
    out.quarantine = listQuarantine(vault.db).map((q) => ({
      category: q.category,
      reason: q.reason,
    }));
  } else {
    const [artifact] = listArtifactRows(vault.db);
    try {
      await fetchBlob(ctx, artifact!, { out: `${home}/fetched` });
      out.fetched = true;
    } catch (err) {
      out.error = {
        category: (err as { category?: string }).category,
        message: (err as Error).message,
      };
    }
  }
} finally {
  await ctx.store.close?.();
  vault.close();
}
out.peak_kib = peakKiB();
console.log(JSON.stringify(out));
