// Real interactive shells under tmux: start one, type into it, read the screen back.

import { join } from "node:path";
import { findEvents, type StoredEvent } from "../src/vault/events.ts";
import { Vault } from "../src/vault/vault.ts";

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

/** The CLI the hooks run. */
export const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** What goes into a shell's rc file around the hook. */
export interface RcOptions {
  /** Lines before the hook. */
  before?: string;
  /** Lines after it. */
  after?: string;
  /** Load the hook (default true); false gives the same shell without hx, to compare. */
  hook?: boolean;
  /** Options of `hx init` (e.g. `--up-arrow`). */
  init?: string[];
}

/** Starts `shell` interactively with the hook, with its rc files in `dir`. */
export async function shellCommand(
  shell: string,
  dir: string,
  home: string,
  opts: RcOptions = {},
): Promise<string> {
  const init = `${Deno.execPath()} run --allow-all --quiet ${CLI} init ${shell} ${
    (opts.init ?? []).join(" ")
  }`;
  const hook = opts.hook === false
    ? ""
    : shell === "fish"
    ? `${init} | source`
    : `eval "$(${init})"`;
  const rc = [opts.before ?? "", hook, opts.after ?? ""].join("\n") + "\n";
  const env = `env HX_HOME=${home} HX_SESSION= HX_SESSION_PID=`;
  if (shell === "zsh") {
    await Deno.writeTextFile(join(dir, ".zshrc"), `PS1='hx-test%# '\n${rc}`);
    return `${env} ZDOTDIR=${dir} zsh -i`;
  }
  if (shell === "bash") {
    await Deno.writeTextFile(join(dir, "bashrc"), `PS1='hx-test$ '\n${rc}`);
    return `${env} HISTFILE=${dir}/history bash --noprofile --rcfile ${dir}/bashrc -i`;
  }
  await Deno.mkdir(join(dir, "fish"), { recursive: true });
  await Deno.writeTextFile(
    join(dir, "fish", "config.fish"),
    `function fish_prompt; echo -n 'hx-test> '; end\n${rc}`,
  );
  return `${env} XDG_CONFIG_HOME=${dir} fish -i`;
}

/** Polls the index until `n` events are there (the hook records in the background). */
export async function events(home: string, n: number, ms = 30_000): Promise<StoredEvent[]> {
  const until = Date.now() + ms;
  let found: StoredEvent[] = [];
  while (Date.now() < until) {
    try {
      await Deno.stat(join(home, "hx.db")); // let hx create it
      const vault = Vault.open(join(home, "hx.db"));
      try {
        found = findEvents(vault.db, { limit: 1000, oldestFirst: true });
      } finally {
        vault.close();
      }
      if (found.length >= n) return found;
    } catch {
      // not created yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return found;
}
