import assert from "node:assert/strict";
import { programOf } from "../src/vault/stats.ts";
import { hx } from "./_cli.ts";

const HOUR = 3_600_000;
/** 2023-11-15 12:00 UTC: 04:00 the same day in Los Angeles. */
const T0 = Date.UTC(2023, 10, 15, 12);

/** A home with six runs over three UTC days, two failed, one with no exit status. */
async function history(): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "hx-stats-" });
  const runs: [string, number, number | null][] = [
    ["git push", T0 - 24 * HOUR, 1],
    ["git status", T0, 0],
    ["git status", T0 + HOUR, 0],
    ["FOO=1 make test", T0 + 2 * HOUR, 2],
    ["make test", T0 + 3 * HOUR, 0],
    ["ls", T0 + 13 * HOUR, null], // 01:00 UTC on the 16th, 17:00 on the 15th in Los Angeles
  ];
  for (const [cmd, at, exit] of runs) {
    const r = await hx(home, [
      "record",
      "--cmd",
      cmd,
      "--session",
      "s1",
      "--start",
      String(at),
      "--duration",
      "100",
      ...(exit === null ? [] : ["--exit", String(exit)]),
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  return home;
}

Deno.test("hx stats counts runs, failures over known exit statuses, top commands and programs", async () => {
  const home = await history();
  try {
    const r = await hx(home, ["stats", "--json", "--until", String(T0 + 14 * HOUR)]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.runs, 6);
    assert.equal(s.distinct, 5);
    assert.equal(s.failed, 2);
    assert.equal(s.known_exit, 5);
    assert.equal(s.failure_rate, 2 / 5);
    assert.equal(s.sessions, 1);
    assert.equal(s.first_at, new Date(T0 - 24 * HOUR).toISOString());
    assert.deepEqual(s.top_commands[0], {
      cmd: "git status",
      runs: 2,
      failed: 0,
      known_exit: 2,
      failure_rate: 0,
    });
    assert.deepEqual(
      s.top_programs.map((p: { program: string; runs: number; failed: number }) => [
        p.program,
        p.runs,
        p.failed,
      ]),
      [["git", 3, 1], ["make", 2, 1], ["ls", 1, 0]],
    );
    const ls = s.top_programs.find((p: { program: string }) => p.program === "ls");
    assert.equal(ls.failure_rate, null, "no exit status known: no rate, not 0%");

    const filtered = JSON.parse((await hx(home, ["stats", "--json", "make"])).stdout);
    assert.equal(filtered.runs, 2);
    assert.equal(filtered.failed, 1);

    const human = await hx(home, ["stats", "--until", String(T0 + 14 * HOUR)], {
      env: { TZ: "UTC" },
    });
    assert.match(human.stdout, /^6 commands \(5 distinct\) in 1 session on 1 host/);
    assert.match(human.stdout, /failed: 2 of 5 with a known exit status \(40%\)/);
    assert.match(human.stdout, /most run programs\n\s+runs\s+failed\n\s+3\s+33%\s+git\n/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("hx stats counts days and hx find shows times in the local time zone; JSON stays UTC", async () => {
  const home = await history();
  try {
    const days = async (tz: string) =>
      JSON.parse(
        (await hx(home, ["stats", "--json", "--until", String(T0 + 14 * HOUR), "--days", "3"], {
          env: { TZ: tz },
        })).stdout,
      ).days.map((d: { date: string; runs: number; failed: number }) => [d.date, d.runs, d.failed]);
    assert.deepEqual(await days("UTC"), [
      ["2023-11-14", 1, 1],
      ["2023-11-15", 4, 1],
      ["2023-11-16", 1, 0],
    ]);
    assert.deepEqual(await days("America/Los_Angeles"), [
      ["2023-11-13", 0, 0],
      ["2023-11-14", 1, 1],
      ["2023-11-15", 5, 1],
    ]);

    const time = async (tz: string) =>
      (await hx(home, ["find", "--format", "{time}", "ls"], { env: { TZ: tz } })).stdout.trim();
    assert.equal(await time("UTC"), "2023-11-16 01:00:00");
    assert.equal(await time("America/Los_Angeles"), "2023-11-15 17:00:00");
    // the table people read gives an age for recent runs and the local date for older ones
    const table = await hx(home, ["find", "ls"], { env: { TZ: "America/Los_Angeles" } });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^2023-11-15\s+100ms\s+ls$/m);
    const human = await hx(home, ["stats", "--until", String(T0 + 14 * HOUR), "--days", "3"], {
      env: { TZ: "America/Los_Angeles" },
    });
    assert.match(human.stdout, /2023-11-14 04:00 to 2023-11-15 17:00/);
    assert.match(human.stdout, /2023-11-13 Mon\s+0/);
    // a date typed alone is local midnight: the 16th in Tokyo starts at 15:00 UTC on the 15th
    const since = JSON.parse(
      (await hx(home, ["stats", "--json", "--since", "2023-11-16"], {
        env: { TZ: "Asia/Tokyo" },
      })).stdout,
    );
    assert.equal(since.runs, 2); // "make test" at 00:00 and "ls" at 10:00, Tokyo time
    const json = JSON.parse(
      (await hx(home, ["find", "--json", "ls"], { env: { TZ: "America/Los_Angeles" } })).stdout,
    );
    assert.equal(json[0].started_at, "2023-11-16T01:00:00.000Z");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a program is the first word after any NAME=value assignments", () => {
  assert.equal(programOf("git status"), "git");
  assert.equal(programOf("  FOO=1 BAR=x make -j8"), "make");
  assert.equal(programOf("./run.sh --x=1"), "./run.sh");
  assert.equal(programOf("A=1"), "");
});
