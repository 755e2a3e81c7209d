/**
 * Where each kind of object lives on the store, and strict parsers for keys found by
 * listing (a hostile or stray key is never mistaken for an object).
 *
 * @module
 */

import { SHA256_RE, UUID_RE } from "../_ids.ts";

/** `vaults/<vault_id>/` */
export function vaultPrefix(vaultId: string): string {
  return `vaults/${vaultId}/`;
}

/** The public vault descriptor. */
export function descriptorKey(vaultId: string): string {
  return `${vaultPrefix(vaultId)}vault.hxvault`;
}

/** Prefix of the passphrase key slots. */
export function keySlotsPrefix(vaultId: string): string {
  return `${vaultPrefix(vaultId)}keys/`;
}

/** One passphrase key slot. */
export function keySlotKey(vaultId: string, slotId: string): string {
  return `${keySlotsPrefix(vaultId)}${slotId}.hxkey`;
}

/** Prefix of every object of the vault (segments, blobs, tombstones, manifests). */
export function objectsPrefix(vaultId: string): string {
  return `${vaultPrefix(vaultId)}objects/`;
}

/** One segment of one node. */
export function segmentKey(vaultId: string, nodeId: string, segmentId: string): string {
  return `${objectsPrefix(vaultId)}segments/${nodeId}/${segmentId}.hxseg`;
}

/** One blob, fanned out by the first two bytes of its id. */
export function blobKey(vaultId: string, blobHash: string): string {
  return `${objectsPrefix(vaultId)}blobs/${blobHash.slice(0, 2)}/${
    blobHash.slice(2, 4)
  }/${blobHash}.hxblob`;
}

/** One tombstone. */
export function tombstoneKey(vaultId: string, tombstoneId: string): string {
  return `${objectsPrefix(vaultId)}tombstones/${tombstoneId}.hxtomb`;
}

/** Prefix of all manifests: the one LIST a pull makes. */
export function manifestsPrefix(vaultId: string): string {
  return `${objectsPrefix(vaultId)}manifests/`;
}

/** One node's manifest. */
export function manifestKey(vaultId: string, nodeId: string): string {
  return `${manifestsPrefix(vaultId)}${nodeId}.hxman`;
}

/** Prefix of all segments (used only by `--scan` repair and `verify`). */
export function segmentsPrefix(vaultId: string): string {
  return `${objectsPrefix(vaultId)}segments/`;
}

/**
 * The node id of a manifest key, or `null` if the key is not exactly
 * `…/manifests/<uuid>.hxman` (conflict copies, temp files and hostile names are not).
 */
export function nodeOfManifestKey(vaultId: string, key: string): string | null {
  const prefix = manifestsPrefix(vaultId);
  if (!key.startsWith(prefix)) return null;
  const name = key.slice(prefix.length);
  if (!name.endsWith(".hxman")) return null;
  const node = name.slice(0, -".hxman".length);
  return UUID_RE.test(node) ? node : null;
}

/** What a key found by listing the objects prefix is, or `null` for anything else. */
export type ParsedObjectKey =
  | { kind: "segment"; nodeId: string; segmentId: string }
  | { kind: "blob"; blobHash: string }
  | { kind: "tombstone"; tombstoneId: string }
  | { kind: "manifest"; nodeId: string };

/** Parses any object key of the vault strictly. */
export function parseObjectKey(vaultId: string, key: string): ParsedObjectKey | null {
  const prefix = objectsPrefix(vaultId);
  if (!key.startsWith(prefix)) return null;
  const parts = key.slice(prefix.length).split("/");
  const u = UUID_RE.source.slice(1, -1);
  const h = SHA256_RE.source.slice(1, -1);
  const whole = (re: string) => new RegExp(`^(${re})\\.(hxseg|hxblob|hxtomb|hxman)$`);
  if (parts[0] === "segments" && parts.length === 3 && UUID_RE.test(parts[1]!)) {
    const m = whole(u).exec(parts[2]!);
    if (m?.[2] === "hxseg") return { kind: "segment", nodeId: parts[1]!, segmentId: m[1]! };
  }
  if (parts[0] === "blobs" && parts.length === 4) {
    const m = whole(h).exec(parts[3]!);
    if (m?.[2] === "hxblob" && parts[1] === m[1]!.slice(0, 2) && parts[2] === m[1]!.slice(2, 4)) {
      return { kind: "blob", blobHash: m[1]! };
    }
  }
  if (parts[0] === "tombstones" && parts.length === 2) {
    const m = whole(u).exec(parts[1]!);
    if (m?.[2] === "hxtomb") return { kind: "tombstone", tombstoneId: m[1]! };
  }
  if (parts[0] === "manifests" && parts.length === 2) {
    const node = nodeOfManifestKey(vaultId, key);
    if (node !== null) return { kind: "manifest", nodeId: node };
  }
  return null;
}
