/**
 * Reading secrets for the CLI: from the environment, from stdin when piped, or from the
 * terminal without echo.
 *
 * @module
 */

import { HxError } from "../errors.ts";

/** Reads all of stdin as text. */
export async function readStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of Deno.stdin.readable) chunks.push(chunk);
  return new TextDecoder().decode(
    chunks.reduce((all, c) => {
      const out = new Uint8Array(all.length + c.length);
      out.set(all);
      out.set(c, all.length);
      return out;
    }, new Uint8Array()),
  );
}

/** Reads one line from the terminal without echoing it. */
export async function readHidden(question: string): Promise<string> {
  if (!Deno.stdin.isTerminal()) {
    throw new HxError("invalid_input", "Cannot ask for a passphrase: stdin is not a terminal", {
      hint: "set HX_PASSPHRASE in the environment",
    });
  }
  const enc = new TextEncoder();
  await Deno.stderr.write(enc.encode(question));
  Deno.stdin.setRaw(true);
  const buf = new Uint8Array(1);
  let text = "";
  try {
    while (true) {
      const n = await Deno.stdin.read(buf);
      if (n === null) break;
      const c = buf[0]!;
      if (c === 3) throw new HxError("invalid_input", "Cannot continue: cancelled");
      if (c === 13 || c === 10) break;
      if (c === 127 || c === 8) text = text.slice(0, -1);
      else text += String.fromCharCode(c);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(enc.encode("\n"));
  }
  return new TextDecoder().decode(Uint8Array.from(text, (ch) => ch.charCodeAt(0)));
}

/**
 * A passphrase from `HX_PASSPHRASE`, else asked on the terminal (twice when `confirm`).
 *
 * @param confirm Ask twice and require the same answer (for a new passphrase).
 * @returns The passphrase.
 */
export async function readPassphrase(confirm: boolean): Promise<string> {
  const fromEnv = Deno.env.get("HX_PASSPHRASE");
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const first = await readHidden("Passphrase: ");
  if (confirm && (await readHidden("Passphrase again: ")) !== first) {
    throw new HxError("invalid_input", "Cannot use the passphrase: the two entries differ");
  }
  return first;
}
