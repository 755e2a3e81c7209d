import assert from "node:assert/strict";
import { join } from "node:path";
import { importHistoryFile } from "../../src/history/import_file.ts";
import { findEvents } from "../../src/vault/events.ts";
import { IMPORT_NODE_ID } from "../../src/object/payloads.ts";
import { prng } from "../_prng.ts"; // seeded, so a failing seed can be replayed
import { Clock, Device, tempFolderStore } from "./device.ts";

interface Window {
  start: number;
  end: number;
}

/** The model: every event ever created, and every window ever forgotten. */
interface Model {
  created: Map<string, number>; // "node|cmd" -> started_at
  windows: Window[];
}

function covered(model: Model, at: number): boolean {
  return model.windows.some((w) => at >= w.start && at <= w.end);
}

function expected(model: Model): string[] {
  return [...model.created].filter(([, at]) => !covered(model, at)).map(([k, at]) => `${k}|${at}`)
    .sort();
}

function stateOf(d: Device): string[] {
  return findEvents(d.vault.db, { limit: 1_000_000 }).map((e) =>
    `${e.node_id}|${e.cmd}|${e.started_at}`
  )
    .sort();
}

/**
 * A shell history file: part of one history every device shares (the same file synced to
 * every machine, so devices import the same lines), then the commands this device's hook
 * recorded (the shell's own history of them, which an import must not store twice).
 */
function historyFile(from: number, to: number, base: number, recorded: [string, number][]): string {
  const lines: string[] = [];
  for (let i = from; i < to; i++) {
    lines.push(`: ${Math.floor(base / 1000) + i * 7}:0;shared-imp ${i}`);
  }
  for (const [cmd, at] of recorded) lines.push(`: ${Math.floor(at / 1000)}:0;${cmd}`);
  return lines.join("\n") + "\n";
}

async function runScenario(seed: number, storeUri: string, steps: number): Promise<void> {
  const rand = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const clock = new Clock();
  const importBase = clock.now - 3_600_000; // imported history is an hour old
  const devices = [
    await Device.create("n0", clock),
    await Device.create("n1", clock),
    await Device.create("n2", clock),
  ];
  const model: Model = { created: new Map(), windows: [] };
  const recordedBy = new Map<Device, [string, number][]>(devices.map((d) => [d, []]));
  const log: string[] = [];
  try {
    const key = await devices[0]!.init(storeUri);
    for (const d of devices.slice(1)) await d.join(storeUri, key);
    let counter = 0;
    for (let step = 0; step < steps; step++) {
      const d = pick(devices);
      const op = pick([
        "record",
        "record",
        "late",
        "import",
        "forget",
        "push",
        "push",
        "compact",
        "pull",
        "pull",
        "pull",
      ]);
      log.push(`${d.name}.${op}`);
      if (op === "record" || op === "late") {
        // "late": a command whose start lies in the past (a long-running one), maybe inside
        // a window some device already forgot
        const at = op === "late" ? clock.now - Math.floor(rand() * 20_000) : clock.tick(1000);
        const cmd = `${d.name}-r${counter++}`;
        d.record(cmd, { at });
        // A device drops a command its own tombstones cover; the model's final expectation
        // excludes every covered event anyway.
        model.created.set(`${d.vault.nodeId}|${cmd}`, at);
        recordedBy.get(d)!.push([cmd, at]);
      } else if (op === "import") {
        const from = Math.floor(rand() * 20);
        const to = from + 1 + Math.floor(rand() * 10);
        const file = join(d.home.path, `hist-${step}.zsh_history`);
        // What the hook recorded and this device still holds: the import must skip it.
        const held = new Set(d.commands());
        const recorded = recordedBy.get(d)!.filter(([cmd]) => held.has(cmd));
        await Deno.writeTextFile(file, historyFile(from, to, importBase, recorded));
        const result = await importHistoryFile(d.vault, file);
        assert.equal(
          result.recorded,
          recorded.length,
          `seed ${seed}: the import stored recorded commands again`,
        );
        for (let i = from; i < to; i++) {
          // One identity whichever device imports the line.
          model.created.set(
            `${IMPORT_NODE_ID}|shared-imp ${i}`,
            Math.floor(importBase / 1000) * 1000 + i * 7000,
          );
        }
      } else if (op === "forget") {
        const span = 2000 + Math.floor(rand() * 15_000);
        const end = rand() < 0.5 ? clock.now : clock.now - Math.floor(rand() * 10_000);
        const w = rand() < 0.2
          ? { start: importBase, end: importBase + 60_000 } // reach into imported history
          : { start: end - span, end };
        d.forget(w.start, w.end);
        model.windows.push(w);
      } else if (op === "push") {
        await d.push();
      } else if (op === "compact") {
        await d.push({ compact: true });
      } else {
        await d.pull();
      }
      // Invariant: no device ever holds an event a window it knows of covers.
      for (const dev of devices) {
        const windows = dev.vault.db.all<{ start_ts: number; end_ts: number }>(
          "SELECT start_ts, end_ts FROM tombstones WHERE deferred = 0",
        );
        for (const line of stateOf(dev)) {
          const at = Number(line.slice(line.lastIndexOf("|") + 1));
          const hit = windows.find((w) => at >= w.start_ts && at <= w.end_ts);
          assert.equal(
            hit,
            undefined,
            `seed ${seed}: ${dev.name} holds forgotten ${line} after ${log.join(" ")}`,
          );
        }
      }
    }
    // One full round: everyone pushes, then everyone pulls.
    for (const d of devices) await d.push();
    for (const d of devices) await d.pull();
    const want = expected(model);
    for (const d of devices) {
      assert.deepEqual(stateOf(d), want, `seed ${seed}: ${d.name} after ${log.join(" ")}`);
    }
    // Forgetting is erasure: after a few more syncs of every device (each rewrites what it
    // published, and deletes what it replaced once the others have seen that), no object on
    // the store decrypts to a forgotten command.
    for (let round = 0; round < 4; round++) {
      for (const d of devices) {
        await d.push();
        await d.pull();
      }
    }
    const forgotten = [...model.created].filter(([, at]) => covered(model, at))
      .map(([k]) => JSON.stringify(k.slice(k.indexOf("|") + 1)));
    const kept = new Set(want.map((k) => k.slice(k.indexOf("|") + 1, k.lastIndexOf("|"))));
    for (const o of await devices[0]!.storeContents()) {
      for (const cmd of forgotten) {
        if (kept.has(JSON.parse(cmd))) continue; // the same text also run outside any window
        assert.ok(
          !(o.text ?? "").includes(`"cmd":${cmd}`),
          `seed ${seed}: ${o.key} still holds ${cmd} after ${log.join(" ")}`,
        );
      }
    }
    for (const d of devices) {
      assert.deepEqual(stateOf(d), want, `seed ${seed}: ${d.name} at the end`);
    }
  } finally {
    for (const d of devices) await d.dispose();
  }
}

Deno.test("random interleavings of record/import/forget/push/pull/compact on 3 nodes converge to the model, and forgotten commands leave the store", async () => {
  for (let seed = 1; seed <= 40; seed++) {
    await runScenario(seed, `memory:property-${seed}`, 35);
  }
});

Deno.test("random interleavings converge through a folder store too", async () => {
  for (let seed = 101; seed <= 104; seed++) {
    const store = await tempFolderStore();
    try {
      await runScenario(seed, store.uri, 30);
    } finally {
      await store.dispose();
    }
  }
});
