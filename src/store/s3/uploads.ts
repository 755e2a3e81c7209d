/**
 * Finding and aborting unfinished multipart uploads, so that a killed push strands no
 * parts on the server. ListMultipartUploads is paged by key and upload-id markers. Some
 * servers (MinIO) list uploads only for an exact key, not for a prefix: the caller names
 * the exact keys it may have left unfinished, and those are listed one by one.
 *
 * @module
 */

import { StoreError } from "../errors.ts";
import type { CallOptions } from "../types.ts";
import type { S3Transport } from "./transport.ts";
import { type ListedUpload, parseUploads } from "./xml.ts";

async function* listUploads(
  t: S3Transport,
  prefix: string,
  signal: AbortSignal | undefined,
): AsyncIterable<ListedUpload> {
  let marker: { keyMarker: string; uploadIdMarker: string } | undefined;
  do {
    const { text } = await t.text({
      method: "GET",
      query: {
        uploads: "",
        prefix: t.prefix + prefix,
        "encoding-type": "url",
        "key-marker": marker?.keyMarker,
        "upload-id-marker": marker?.uploadIdMarker || undefined,
      },
      action: "list unfinished uploads",
      kind: "list",
      signal,
    });
    let page;
    try {
      page = parseUploads(text);
    } catch (err) {
      throw new StoreError("unknown", `Cannot list unfinished uploads: ${(err as Error).message}`, {
        store: t.name,
        retryable: true,
      });
    }
    for (const u of page.uploads) {
      if (u.key.startsWith(t.prefix + prefix)) yield { ...u, key: u.key.slice(t.prefix.length) };
    }
    marker = page.next;
  } while (marker !== undefined);
}

/**
 * Aborts the uploads under `prefix` started more than `olderThanMs` ago, and every upload
 * of the exact `keys`.
 *
 * @param t The transport.
 * @param prefix A key prefix (without the store's own prefix).
 * @param opts The age bound, exact keys and signal.
 * @returns How many uploads were aborted.
 */
export async function abortStaleUploads(
  t: S3Transport,
  prefix: string,
  opts: { olderThanMs: number; keys?: readonly string[] } & CallOptions,
): Promise<number> {
  const cutoff = Date.now() - opts.olderThanMs;
  const doomed = new Map<string, ListedUpload>();
  for await (const u of listUploads(t, prefix, opts.signal)) {
    if (u.initiated !== undefined && u.initiated.getTime() < cutoff) doomed.set(u.uploadId, u);
  }
  for (const key of opts.keys ?? []) {
    for await (const u of listUploads(t, key, opts.signal)) {
      if (u.key === key) doomed.set(u.uploadId, u);
    }
  }
  for (const u of doomed.values()) {
    await t.empty({
      method: "DELETE",
      key: u.key,
      query: { uploadId: u.uploadId },
      accept: [404],
      action: `abort the unfinished upload of ${u.key}`,
      kind: "abort",
      signal: opts.signal,
    });
  }
  return doomed.size;
}
