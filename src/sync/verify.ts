/**
 * `hx sync verify`: reads every object of the vault in the store and reports each one that
 * does not decrypt, validate, or match the hash its manifest declares, and every object a
 * manifest declares that is missing. It changes nothing.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { sha256Hex } from "../_encoding.ts";
import { openObject } from "../crypto/envelope.ts";
import { openStream } from "../crypto/stream_envelope.ts";
import { categoryOf, type ErrorCategory, IntegrityError, messageOf } from "../errors.ts";
import { decodeFrame } from "../object/frame.ts";
import {
  descriptorKey,
  manifestsPrefix,
  parseObjectKey,
  segmentKey,
  vaultPrefix,
} from "../object/keys.ts";
import { parseManifest, parseSegment } from "../object/payloads.ts";
import type { ObjectInfo } from "../store/types.ts";
import type { SyncContext } from "./context.ts";
import { eventKeys } from "../vault/events.ts";
import { checkKey, readDescriptor } from "./descriptor.ts";
import {
  MAX_MANIFEST_BYTES,
  MAX_MANIFEST_PLAIN,
  MAX_SEGMENT_BYTES,
  MAX_SEGMENT_PLAIN,
} from "./limits.ts";

/** One object that failed verification. */
export interface VerifyProblem {
  /** The object's key on the store. */
  key: string;
  /** What kind of object it is (or `unknown`). */
  kind: string;
  /** Why it failed, by category. */
  category: ErrorCategory;
  /** The precise reason of an integrity failure. */
  reason: string | null;
  /** The failure, in one line. */
  message: string;
}

/** What verification found. */
export interface VerifyReport {
  /** Objects read. */
  objects: number;
  /** Objects read by kind. */
  by_kind: Record<string, number>;
  /** Bytes read. */
  bytes: number;
  /** Every object that failed, or is declared but missing. */
  problems: VerifyProblem[];
}

/**
 * Verifies every object of the vault.
 *
 * @param ctx The sync session.
 * @param opts Progress through the objects, and an abort signal.
 * @returns The report; `problems` is empty for a healthy vault.
 */
export async function verifyStore(
  ctx: SyncContext,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<VerifyReport> {
  const report: VerifyReport = { objects: 0, by_kind: {}, bytes: 0, problems: [] };
  const signal = opts.signal === undefined ? {} : { signal: opts.signal };
  const problem = (key: string, kind: string, err: unknown) =>
    report.problems.push({
      key,
      kind,
      category: categoryOf(err),
      reason: err instanceof IntegrityError ? err.reason : null,
      message: messageOf(err),
    });
  const count = (kind: string, bytes: number) => {
    report.objects++;
    report.bytes += bytes;
    report.by_kind[kind] = (report.by_kind[kind] ?? 0) + 1;
  };
  const get = async (key: string, max: number) => {
    const got = await ctx.store.get(key, { maxBytes: max, ...signal });
    return got.data;
  };

  try {
    const descriptor = await readDescriptor(ctx.store, ctx.vaultId);
    if (ctx.key !== null) await checkKey(descriptor, ctx.key);
    count("vault", 0);
  } catch (err) {
    problem(descriptorKey(ctx.vaultId), "vault", err);
  }

  const listed: ObjectInfo[] = await Array.fromAsync(
    ctx.store.list(vaultPrefix(ctx.vaultId), signal),
  );
  const present = new Set(listed.map((i) => i.key));
  // Manifests first: they declare the hashes the other objects must have.
  const declared = new Map<string, { sha256: string; node: string; events: number }>();
  const manifests = listed.filter((i) => i.key.startsWith(manifestsPrefix(ctx.vaultId)));
  const others = listed.filter((i) => !i.key.startsWith(manifestsPrefix(ctx.vaultId)));
  const total = listed.length;
  let done = 0;
  for (const info of [...manifests, ...others]) {
    opts.onProgress?.(++done, total);
    const key = info.key;
    if (key === descriptorKey(ctx.vaultId)) continue;
    if (key.startsWith(`${vaultPrefix(ctx.vaultId)}keys/`)) {
      try {
        const { header } = decodeFrame(await get(key, 64 * 1024));
        if (header.object_type !== "key_slot" || header.vault_id !== ctx.vaultId) {
          throw new IntegrityError(
            "wrong_kind",
            "Cannot read key slot: not a key slot of this vault",
          );
        }
        count("key_slot", info.size);
      } catch (err) {
        problem(key, "key_slot", err);
      }
      continue;
    }
    const parsed = parseObjectKey(ctx.vaultId, key);
    if (parsed === null) {
      problem(
        key,
        "unknown",
        new IntegrityError("bad_header", "Cannot verify: not the key of any hx object"),
      );
      continue;
    }
    try {
      if (parsed.kind === "manifest") {
        const { payload } = await openObject(await get(key, MAX_MANIFEST_BYTES), {
          key: ctx.key,
          expect: { object_type: "manifest", vault_id: ctx.vaultId, node_id: parsed.nodeId },
          maxPlainBytes: MAX_MANIFEST_PLAIN,
        });
        const { manifest: m, refused } = parseManifest(
          payload,
          ctx.vaultId,
          parsed.nodeId,
          ctx.vault.now(),
        );
        for (const s of m.segments) {
          declared.set(segmentKey(ctx.vaultId, m.node_id, s.segment_id), {
            sha256: s.sha256,
            node: m.node_id,
            events: s.events,
          });
        }
        for (const { error } of refused) problem(key, "tombstone", error);
      } else if (parsed.kind === "segment") {
        const bytes = await get(key, MAX_SEGMENT_BYTES);
        const want = declared.get(key);
        if (want !== undefined && (await sha256Hex(bytes)) !== want.sha256) {
          throw new IntegrityError(
            "hash_mismatch",
            "Cannot verify: its SHA-256 differs from what its manifest declares",
          );
        }
        const { payload } = await openObject(bytes, {
          key: ctx.key,
          expect: {
            object_type: "segment",
            vault_id: ctx.vaultId,
            node_id: parsed.nodeId,
            segment_id: parsed.segmentId,
          },
          maxPlainBytes: MAX_SEGMENT_PLAIN,
        });
        const records = parseSegment(payload, parsed.nodeId);
        if (want !== undefined && records.events.length !== want.events) {
          throw new IntegrityError(
            "bad_payload",
            `Cannot verify: it holds ${records.events.length} events, its manifest declares ${want.events}`,
          );
        }
      } else if (parsed.kind === "blob") {
        await verifyBlob(ctx, key, parsed.blobHash, signal);
      } else {
        throw new IntegrityError("wrong_kind", "Cannot verify: format 2 has no tombstone objects");
      }
      count(parsed.kind, info.size);
    } catch (err) {
      problem(key, parsed.kind, err);
    }
  }
  for (const [key, { node }] of declared) {
    if (present.has(key)) continue;
    report.problems.push({
      key,
      kind: "segment",
      category: "not_found",
      reason: null,
      message:
        `Cannot verify: the manifest of node ${node} declares it, but the store does not have it`,
    });
  }
  return report;
}

async function verifyBlob(
  ctx: SyncContext,
  key: string,
  blobHash: string,
  signal: { signal?: AbortSignal },
) {
  const { stream } = await ctx.store.getStream(key, signal);
  const { plaintext } = await openStream(stream, {
    key: ctx.key,
    expect: { object_type: "blob", vault_id: ctx.vaultId, blob_hash: blobHash },
    maxPlainBytes: Number.MAX_SAFE_INTEGER,
  });
  const hash = createHash("sha256");
  for await (const chunk of plaintext) hash.update(chunk);
  const sha = hash.digest("hex");
  const id = ctx.key === null ? sha : await ctx.key.blobId(sha);
  if (id !== blobHash) {
    throw new IntegrityError(
      "hash_mismatch",
      "Cannot verify blob: its content does not hash to its id",
    );
  }
}

/**
 * A digest of the set of live event keys `(node, session, seq)`: two devices with the same
 * history have the same digest. Keyed by the vault key's digest sub-key in encrypted vaults,
 * so it reveals nothing when pasted somewhere.
 *
 * @param ctx The sync session (its key), or the index alone for an unencrypted vault.
 * @returns The digest and how many events it covers.
 */
export async function historyDigest(
  ctx: Pick<SyncContext, "vault" | "key">,
): Promise<{ digest: string; events: number }> {
  const hash = createHash("sha256");
  let events = 0;
  for (const row of eventKeys(ctx.vault.db)) {
    hash.update(`${row.node}/${row.session}/${row.seq}\n`);
    events++;
  }
  const plain = hash.digest("hex");
  return { digest: ctx.key === null ? plain : await ctx.key.digest(plain), events };
}
