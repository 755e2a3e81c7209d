import assert from "node:assert/strict";
import { VaultKey } from "../../src/crypto/vault_key.ts";
import { createKeySlot, openKeySlot } from "../../src/crypto/key_slot.ts";
import type { HxError } from "../../src/errors.ts";

const vault = "0190f000-0000-7000-8000-000000000001";

Deno.test("a key export string round trips and keeps the fingerprint", async () => {
  const key = await VaultKey.generate();
  const text = await key.exportString(vault);
  assert.match(text, /^hxk1_[0-9a-f]{32}_[0-9a-f]{64}_[0-9a-f]{8}$/);
  const again = await VaultKey.fromExportString(`  ${text}\n`);
  assert.equal(again.vaultId, vault);
  assert.equal(again.key.keyId, key.keyId);
  assert.equal(await again.key.keyCheck(vault), await key.keyCheck(vault));
});

Deno.test("a mistyped key export string is refused by its checksum", async () => {
  const text = await (await VaultKey.generate()).exportString(vault);
  const i = 50;
  const typo = text.slice(0, i) + (text[i] === "a" ? "b" : "a") + text.slice(i + 1);
  await assert.rejects(
    VaultKey.fromExportString(typo),
    (e: HxError) => e.category === "invalid_input" && /checksum/.test(e.message),
  );
  await assert.rejects(
    VaultKey.fromExportString("not-a-key"),
    (e: HxError) => e.category === "invalid_input",
  );
});

Deno.test("the key fingerprint and key check reveal nothing of the raw key", async () => {
  const key = await VaultKey.generate();
  const raw = (await key.exportString(vault)).split("_")[2]!;
  assert.ok(!raw.includes(key.keyId));
  assert.ok(!(await key.keyCheck(vault)).includes(raw.slice(0, 16)));
  assert.notEqual(
    await key.keyCheck(vault),
    await key.keyCheck("0190f000-0000-7000-8000-000000000002"),
  );
});

const FAST_SCRYPT = { name: "scrypt", N: 2 ** 10, r: 8, p: 1 } as const;
const PBKDF2 = { name: "PBKDF2", hash: "SHA-256", iterations: 2_000 } as const;

Deno.test("a key slot opens with its passphrase and names a wrong one as auth", async () => {
  const key = await VaultKey.generate();
  const { bytes } = await createKeySlot(key, vault, "correct horse battery", { kdf: FAST_SCRYPT });
  const opened = await openKeySlot(bytes, vault, "correct horse battery");
  assert.equal(opened.keyId, key.keyId);
  await assert.rejects(
    openKeySlot(bytes, vault, "wrong horse battery"),
    (e: HxError) => e.category === "auth" && /passphrase is wrong/.test(e.message),
  );
  const rawHex = (await key.exportString(vault)).split("_")[2]!;
  assert.ok(!new TextDecoder().decode(bytes).includes(rawHex.slice(0, 16)));
});

Deno.test("new key slots use scrypt; slots made with PBKDF2 still open", async () => {
  const key = await VaultKey.generate();
  const made = await createKeySlot(key, vault, "correct horse battery");
  assert.match(new TextDecoder().decode(made.bytes), /"name":"scrypt","N":131072,"r":8,"p":1/);
  assert.equal((await openKeySlot(made.bytes, vault, "correct horse battery")).keyId, key.keyId);
  const old = await createKeySlot(key, vault, "correct horse battery", { kdf: PBKDF2 });
  assert.equal((await openKeySlot(old.bytes, vault, "correct horse battery")).keyId, key.keyId);
});

/** A slot whose KDF parameters were edited in the store (the header and body are separate). */
function edited(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const header = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
  const body = new TextDecoder().decode(bytes.subarray(4 + header));
  assert.ok(body.includes(from));
  return new Uint8Array([
    ...bytes.subarray(0, 4 + header),
    ...new TextEncoder().encode(body.replace(from, to)),
  ]);
}

Deno.test("a key slot refuses KDF parameters that would cost minutes or gigabytes, before deriving", async () => {
  const key = await VaultKey.generate();
  const pbkdf2 = (await createKeySlot(key, vault, "correct horse battery", { kdf: PBKDF2 })).bytes;
  const scrypt =
    (await createKeySlot(key, vault, "correct horse battery", { kdf: FAST_SCRYPT })).bytes;
  const hostile = [
    edited(pbkdf2, '"iterations":2000', '"iterations":20000000'),
    edited(scrypt, '"N":1024', '"N":16777216'), // 16 GiB of scrypt memory
    edited(scrypt, '"p":1', '"p":64'),
  ];
  for (const slot of hostile) {
    // refused as malformed (corrupt): had the KDF run, the edited slot would fail to decrypt (auth)
    await assert.rejects(
      openKeySlot(slot, vault, "correct horse battery"),
      (e: HxError) => e.category === "corrupt",
    );
  }
});
