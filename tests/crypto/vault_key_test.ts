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

Deno.test("a key slot opens with its passphrase and names a wrong one as auth", async () => {
  const key = await VaultKey.generate();
  const { bytes } = await createKeySlot(key, vault, "correct horse battery", { iterations: 2_000 });
  const opened = await openKeySlot(bytes, vault, "correct horse battery");
  assert.equal(opened.keyId, key.keyId);
  await assert.rejects(
    openKeySlot(bytes, vault, "wrong horse battery"),
    (e: HxError) => e.category === "auth" && /passphrase is wrong/.test(e.message),
  );
  const rawHex = (await key.exportString(vault)).split("_")[2]!;
  assert.ok(!new TextDecoder().decode(bytes).includes(rawHex.slice(0, 16)));
});

Deno.test("a key slot refuses KDF parameters outside its bounds", async () => {
  const key = await VaultKey.generate();
  const { bytes } = await createKeySlot(key, vault, "correct horse battery", { iterations: 2_000 });
  const text = new TextDecoder().decode(bytes).replace(
    '"iterations":2000',
    '"iterations":999999999',
  );
  const header = new DataView(bytes.buffer).getUint32(0);
  const tampered = new Uint8Array([
    ...bytes.subarray(0, 4 + header),
    ...new TextEncoder().encode(text.slice(4 + header)),
  ]);
  await assert.rejects(
    openKeySlot(tampered, vault, "correct horse battery"),
    (e: HxError) => e.category === "corrupt",
  );
});
