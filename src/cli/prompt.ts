/**
 * Reading secrets for the CLI: from the environment, from stdin when piped, or from the
 * terminal without echo.
 *
 * @module
 */

import { HxError } from "../errors.ts";

/**
 * Reads all of stdin as text, refusing more than `limit` bytes before holding them.
 *
 * @param limit The most bytes accepted.
 * @param what What stdin holds, for the message.
 * @returns The text.
 * @throws {HxError} `invalid_input` when stdin holds more than `limit` bytes.
 */
export function readStdin(limit: number, what: string): string {
  let buf = new Uint8Array(Math.min(limit + 1, 64 * 1024));
  let length = 0;
  for (;;) {
    if (length === buf.length) {
      if (buf.length > limit) {
        throw new HxError(
          "invalid_input",
          `Cannot take ${what}: it is over ${limit} bytes`,
          { hint: "give a shorter one" },
        );
      }
      const bigger = new Uint8Array(Math.min(limit + 1, buf.length * 2));
      bigger.set(buf);
      buf = bigger;
    }
    const n = Deno.stdin.readSync(buf.subarray(length));
    if (n === null) break;
    length += n;
  }
  return new TextDecoder().decode(buf.subarray(0, length));
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
