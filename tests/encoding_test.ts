import assert from "node:assert/strict";
import { decodeUtf8, fromUtf8 } from "../src/_encoding.ts";
import { IntegrityError } from "../src/errors.ts";
import { parseSegment } from "../src/object/payloads.ts";

const utf8 = new TextEncoder();

/** `text` encoded at every offset 0-7 of a buffer (alignment decides the fast path's words). */
function atEveryOffset(bytes: Uint8Array): Uint8Array[] {
  return Array.from({ length: 8 }, (_, offset) => {
    const buffer = new Uint8Array(offset + bytes.byteLength);
    buffer.set(bytes, offset);
    return buffer.subarray(offset);
  });
}

Deno.test("decodeUtf8() gives what the validating decoder gives, ASCII or not, at any alignment", () => {
  const texts = [
    "",
    "ls",
    'git commit -m "fix"',
    "x".repeat(1000),
    `${"a".repeat(37)}é${"b".repeat(40)}`,
    "echo ✓ done 🚀",
  ];
  for (const text of texts) {
    for (const bytes of atEveryOffset(utf8.encode(text))) {
      assert.equal(decodeUtf8(bytes), fromUtf8.decode(bytes));
      assert.equal(decodeUtf8(bytes), text);
    }
  }
});

Deno.test("decodeUtf8() refuses an invalid byte wherever it is among ASCII", () => {
  for (let at = 0; at < 40; at++) {
    const bytes = utf8.encode("a".repeat(40));
    bytes[at] = 0xff;
    for (const shifted of atEveryOffset(bytes)) {
      assert.throws(() => decodeUtf8(shifted), TypeError, `0xff at ${at}`);
    }
  }
});

Deno.test("a segment whose payload is not valid UTF-8 is refused as a bad payload", () => {
  const json = utf8.encode(JSON.stringify({ events: [], sessions: [], artifacts: [], pins: [] }));
  const forged = new Uint8Array(json.byteLength + 2);
  forged.set(json.subarray(0, json.byteLength - 1));
  forged.set([0xc3, 0x28, 0x7d], json.byteLength - 1); // an invalid sequence, then "}"
  assert.throws(
    () => parseSegment(forged, crypto.randomUUID()),
    (err) => err instanceof IntegrityError && err.reason === "bad_payload",
  );
});
