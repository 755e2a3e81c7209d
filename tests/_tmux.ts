// Real interactive shells under tmux: start one, type into it, read the screen back.

/** Whether a command is on PATH. */
export function has(cmd: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Whether tmux is there: tests that drive shells are ignored without it. */
export const HAVE_TMUX = has("tmux");

/** A tmux server of its own (its own socket), for one test. */
export class Tmux {
  readonly socket = `hx-test-${crypto.randomUUID().slice(0, 8)}`;

  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout);
  }

  async start(name: string, command: string): Promise<void> {
    await this.run("new-session", "-d", "-s", name, "-x", "200", "-y", "50", command);
    await this.waitFor(name, "hx-test", 20_000);
  }

  async waitFor(name: string, text: string, ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if ((await this.run("capture-pane", "-p", "-t", name)).includes(text)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const screen = await this.run("capture-pane", "-p", "-t", name);
    throw new Error(`tmux ${name}: "${text}" did not appear:\n${screen}`);
  }

  /** What the pane shows now. */
  screen(name: string): Promise<string> {
    return this.run("capture-pane", "-p", "-t", name);
  }

  /** Sends keys by their tmux names (`C-r`, `Enter`, `Up`, `Tab`, `Escape`). */
  async keys(name: string, ...keys: string[]): Promise<void> {
    await this.run("send-keys", "-t", name, ...keys);
  }

  /** Types text literally. */
  async text(name: string, text: string): Promise<void> {
    await this.run("send-keys", "-t", name, "-l", text);
  }

  async type(name: string, line: string): Promise<void> {
    await this.run("send-keys", "-t", name, "-l", line);
    await this.run("send-keys", "-t", name, "Enter");
  }

  async kill(): Promise<void> {
    await this.run("kill-server");
  }
}

/** Removes a directory that shells (history on hangup) or recorders may still be writing to. */
export async function removeSoon(dir: string): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      return await Deno.remove(dir, { recursive: true });
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
