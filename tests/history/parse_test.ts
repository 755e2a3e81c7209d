import assert from "node:assert/strict";
import { parseZsh, unmetafy } from "../../src/history/parse_zsh.ts";
import { parseBash } from "../../src/history/parse_bash.ts";
import { parseFish } from "../../src/history/parse_fish.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("parseZsh() reads extended history with durations and multi-line commands", () => {
  const file = [
    ": 1700000000:0;git status",
    ": 1700000005:12;for f in *; do\\",
    "  echo $f\\",
    "done",
    ": 1700000020:0;echo 'a;b'",
    "",
  ].join("\n");
  assert.deepEqual(parseZsh(enc(file)), [
    { cmd: "git status", started_at: 1700000000000, duration_ms: 0 },
    { cmd: "for f in *; do\n  echo $f\ndone", started_at: 1700000005000, duration_ms: 12000 },
    { cmd: "echo 'a;b'", started_at: 1700000020000, duration_ms: 0 },
  ]);
});

Deno.test("parseZsh() reads plain history without timestamps", () => {
  assert.deepEqual(parseZsh(enc("ls\ncd /tmp\n\n")), [
    { cmd: "ls", started_at: null, duration_ms: null },
    { cmd: "cd /tmp", started_at: null, duration_ms: null },
  ]);
});

Deno.test("unmetafy() restores bytes zsh escaped with 0x83", () => {
  // zsh metafies NUL and bytes 0x83-0xA2 as 0x83 followed by the byte XOR 0x20.
  const raw = new Uint8Array([0x61, 0x83, 0xa3, 0x62]);
  assert.deepEqual(unmetafy(raw), new Uint8Array([0x61, 0x83, 0x62]));
  // "ü" (C3 BC) stays as is; "ă" (C4 83) has its 0x83 metafied as 83 A3.
  const text = new Uint8Array([...enc(": 1:0;echo "), 0xc4, 0x83, 0xa3, 0x0a]);
  assert.equal(parseZsh(text)[0]?.cmd, "echo ă");
});

Deno.test("parseBash() reads #epoch timestamps and multi-line commands between them", () => {
  const file =
    "#1700000000\nls -la\n#1700000010\nif true; then\n  echo yes\nfi\n#1700000020\n#comment-looking\n";
  assert.deepEqual(parseBash(enc(file)), [
    { cmd: "ls -la", started_at: 1700000000000, duration_ms: null },
    { cmd: "if true; then\n  echo yes\nfi", started_at: 1700000010000, duration_ms: null },
    { cmd: "#comment-looking", started_at: 1700000020000, duration_ms: null },
  ]);
});

Deno.test("parseBash() reads history without timestamps one line per command", () => {
  assert.deepEqual(parseBash(enc("ls\n\nmake test\n")).map((c) => c.cmd), ["ls", "make test"]);
});

Deno.test("parseFish() reads cmd/when entries and unescapes newlines and backslashes", () => {
  const file = [
    "- cmd: echo hello",
    "  when: 1700000000",
    "- cmd: printf 'a\\\\nb'\\necho done",
    "  when: 1700000009",
    "  paths:",
    "    - /tmp",
    "",
  ].join("\n");
  assert.deepEqual(parseFish(enc(file)), [
    { cmd: "echo hello", started_at: 1700000000000, duration_ms: null },
    { cmd: "printf 'a\\nb'\necho done", started_at: 1700000009000, duration_ms: null },
  ]);
});
