// Interactive search latency, as a user feels it: `hx search` runs on a pseudo-terminal
// (util-linux `script`), and each time is taken from the moment a key is written to the moment
// the frame that answers it has been drawn (every frame ends by showing the cursor).

import { HX_V8_FLAGS } from "./flags.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const FRAME_END = "\x1b[?25h";

/** One `hx search` on a pseudo-terminal of 120x40. */
class Session {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #screen = "";
  #frames = 0;
  #waiters: (() => void)[] = [];

  constructor(home: string) {
    const inner = `stty rows 40 cols 120; exec '${Deno.execPath()}' run --allow-all --quiet ${
      HX_V8_FLAGS.join(" ")
    } '${CLI}' search`;
    const child = new Deno.Command("script", {
      args: ["-q", "-f", "-e", "-c", inner, "/dev/null"],
      env: { HX_HOME: home, NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stdout) {
        const text = dec.decode(chunk, { stream: true });
        this.#screen = (this.#screen + text).slice(-65536);
        this.#frames += text.split(FRAME_END).length - 1;
        for (const w of this.#waiters.splice(0)) w();
      }
    })();
  }

  get frames(): number {
    return this.#frames;
  }

  get screen(): string {
    return this.#screen;
  }

  /** Waits until at least `n` frames have been drawn. */
  async until(n: number, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.#frames < n) {
      if (Date.now() > deadline) throw new Error("hx search drew nothing in time");
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** Whether the last frame drawn shows a complete result (no "N+ commands"). */
  complete(): boolean {
    const tail = this.#screen.slice(Math.max(0, this.#screen.lastIndexOf(" commands") - 24));
    return !/\d+\+ commands/.test(tail);
  }

  /**
   * Writes keys; times the first frame that answers them, and the frame that shows the
   * complete result (a search over many commands draws what it found so far first).
   */
  async key(text: string): Promise<{ frame: number; complete: number }> {
    const want = this.#frames + 1;
    const t0 = performance.now();
    await this.#writer.write(new TextEncoder().encode(text));
    await this.until(want);
    const frame = performance.now() - t0;
    while (!this.complete()) await this.until(this.#frames + 1);
    return { frame, complete: performance.now() - t0 };
  }

  async quit(): Promise<void> {
    await this.#writer.write(new TextEncoder().encode("\x1b"));
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 10) / 10;
}

/**
 * Measures `hx search` on a device's index.
 *
 * @param home The device's data directory.
 * @param terms What to type, letter by letter (cleared with ctrl-u in between).
 * @param starts How many times to start it for the first-screen time.
 */
export async function searchLatency(home: string, terms: string[], starts = 10) {
  const first: number[] = [];
  for (let i = 0; i < starts; i++) {
    const t0 = performance.now();
    const s = new Session(home);
    await s.until(1);
    first.push(performance.now() - t0);
    await s.quit();
  }
  const s = new Session(home);
  await s.until(1);
  // Let the background load of every command finish ("N+ commands" until then).
  const deadline = Date.now() + 120_000;
  while (!s.complete()) {
    if (Date.now() > deadline) throw new Error("hx search never finished loading");
    await new Promise((r) => setTimeout(r, 50));
  }
  const frames: number[] = [];
  const complete: number[] = [];
  for (const term of terms) {
    for (const ch of [...term, "\x15"]) { // each letter, then ctrl-u
      const t = await s.key(ch);
      frames.push(t.frame);
      complete.push(t.complete);
    }
  }
  const loaded = /(\d+) commands/.exec(s.screen.slice(s.screen.lastIndexOf("commands") - 20));
  await s.quit();
  return {
    distinct_commands: loaded ? Number(loaded[1]) : null,
    first_screen_p50_ms: percentile(first, 0.5),
    first_screen_p95_ms: percentile(first, 0.95),
    keystrokes: frames.length,
    keystroke_p50_ms: percentile(frames, 0.5),
    keystroke_p95_ms: percentile(frames, 0.95),
    keystroke_complete_p50_ms: percentile(complete, 0.5),
    keystroke_complete_p95_ms: percentile(complete, 0.95),
  };
}
