/**
 * A store on any S3-compatible service (AWS S3, MinIO, R2, B2, Wasabi), written on
 * `fetch`: requests are signed with SigV4 by aws4fetch (its own retries off: the retry
 * decorator and the multipart uploader retry, knowing which bodies can be replayed) and
 * XML is read with fast-xml-parser.
 *
 * @module
 */

import { AwsV4Signer } from "aws4fetch";
import { sha256Hex } from "../../_encoding.ts";
import { concat, limitStream, readAbortable } from "../_bytes.ts";
import { NotFoundError, PreconditionError, StoreError, TooLargeError } from "../errors.ts";
import { validateKey, validatePrefix } from "../keys.ts";
import type {
  CallOptions,
  GetOptions,
  GetResult,
  GetStreamOptions,
  ObjectInfo,
  PutOptions,
  PutResult,
  StoreCapabilities,
  StreamResult,
  SyncStore,
} from "../types.ts";
import type { StoreEnvironment } from "../uri.ts";
import { formatS3Config, type S3Config, type S3Credentials } from "./config.ts";
import { resolveS3Auth } from "./credentials.ts";
import { errorFromBody, errorFromFetch, errorFromResponse, S3Error } from "./errors.ts";
import { type MultipartIO, uploadMultipart } from "./multipart.ts";
import {
  completeBody,
  parseCompleteResult,
  parseErrorBody,
  parseListPage,
  parseUploadId,
  parseUploads,
} from "./xml.ts";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** Options of {@linkcode S3Store}. */
export interface S3StoreOptions {
  config: S3Config;
  credentials: S3Credentials;
  region: string;
  /** The `fetch` to use (tests inject fault-injecting ones). Default: global `fetch`. */
  fetch?: typeof fetch;
  /** This machine's clock, for signing (ms). Default `Date.now`. */
  now?: () => number;
}

function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function encodeKeyPath(key: string): string {
  return key.split("/").map(encodeSegment).join("/");
}

function query(params: Record<string, string | undefined>): string {
  return Object.entries(params)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`)
    .join("&");
}

/** A timer that aborts a request when nothing happened for `ms`; re-armed on progress. */
class Deadline {
  readonly controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ms: number;
  fired = false;

  constructor(ms: number) {
    this.#ms = ms;
    this.rearm();
  }

  rearm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort(new DOMException("The store did not answer in time", "TimeoutError"));
    }, this.#ms);
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

interface SendOptions {
  key?: string | undefined;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal | undefined;
  /** Statuses other than 2xx that are answers, not errors (304 for GET, 404 for HEAD). */
  accept?: number[];
  action: string;
}

/**
 * A {@linkcode SyncStore} on an S3 bucket (and an optional key prefix).
 *
 * @example Open through a URI (credentials from the environment or ~/.aws)
 * ```ts ignore
 * import { openStore } from "../open.ts";
 * const store = await openStore("s3://my-bucket/hx?region=eu-west-1");
 * ```
 */
export class S3Store implements SyncStore {
  /** The URI without secrets. */
  readonly name: string;
  readonly #config: S3Config;
  readonly #credentials: S3Credentials;
  readonly #region: string;
  /** Signing keys by date, shared across requests (aws4fetch's cache). */
  readonly #signingKeys = new Map<string, ArrayBuffer>();
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #origin: string;
  readonly #basePath: string;
  #clockOffsetMs = 0;
  #conditional: boolean | null;
  #probe: Promise<boolean> | null = null;

  /** @param opts Parsed config, resolved credentials and region, and `fetch`. */
  constructor(opts: S3StoreOptions) {
    const c = opts.config;
    this.#config = c;
    this.name = formatS3Config(c);
    this.#fetch = opts.fetch ?? fetch;
    this.#now = opts.now ?? Date.now;
    this.#credentials = opts.credentials;
    this.#region = opts.region;
    const endpoint = new URL(c.endpoint ?? `https://s3.${opts.region}.amazonaws.com`);
    const endpointPath = endpoint.pathname.replace(/\/+$/, "");
    const pathStyle = c.pathStyle ?? c.endpoint !== null;
    if (pathStyle) {
      this.#origin = `${endpoint.protocol}//${endpoint.host}`;
      this.#basePath = `${endpointPath}/${encodeSegment(c.bucket)}`;
    } else {
      this.#origin = `${endpoint.protocol}//${c.bucket}.${endpoint.host}`;
      this.#basePath = endpointPath;
    }
    this.#conditional = c.conditionalPut === "on"
      ? true
      : c.conditionalPut === "off"
      ? false
      : null;
  }

  /** Native put-if-absent is known only after the first probe (`conditional_put=auto`). */
  get capabilities(): StoreCapabilities {
    return {
      atomicReplace: true,
      conditionalPut: this.#conditional === true,
      conditionalGet: true,
      maxConcurrency: 32,
    };
  }

  #url(key: string | undefined, params?: Record<string, string | undefined>): string {
    const path = key === undefined
      ? (this.#basePath || "/")
      : `${this.#basePath}/${encodeKeyPath(this.#config.prefix + key)}`;
    const q = params === undefined ? "" : query(params);
    return `${this.#origin}${path}${q === "" ? "" : `?${q}`}`;
  }

  /** Signs and sends one request; non-accepted statuses become categorised errors. */
  async #send(method: string, opts: SendOptions): Promise<{ res: Response; deadline: Deadline }> {
    const url = this.#url(opts.key, opts.query);
    const hash = opts.body === undefined ? EMPTY_SHA256 : await sha256Hex(opts.body);
    // Parts and large bodies get time in proportion to their size on top of the base.
    const timeout = this.#config.timeoutMs + Math.ceil((opts.body?.byteLength ?? 0) / 65_536) * 100;
    for (let attempt = 0;; attempt++) {
      const deadline = new Deadline(timeout);
      const signal = opts.signal === undefined
        ? deadline.controller.signal
        : AbortSignal.any([opts.signal, deadline.controller.signal]);
      const datetime = new Date(this.#now() + this.#clockOffsetMs).toISOString().replace(
        /[:-]|\.\d{3}/g,
        "",
      );
      // Signed with the signer alone (no Request around the body: a large part is not
      // copied once more), then sent with our fetch.
      const signed = await new AwsV4Signer({
        method,
        url,
        headers: { ...opts.headers, "x-amz-content-sha256": hash },
        accessKeyId: this.#credentials.accessKeyId,
        secretAccessKey: this.#credentials.secretAccessKey,
        ...(this.#credentials.sessionToken === undefined
          ? {}
          : { sessionToken: this.#credentials.sessionToken }),
        service: "s3",
        region: this.#region,
        cache: this.#signingKeys,
        datetime,
      }).sign();
      let res: Response;
      try {
        res = await this.#fetch(signed.url, {
          method,
          headers: signed.headers,
          ...(opts.body === undefined ? {} : { body: opts.body as BodyInit }),
          signal,
        });
      } catch (err) {
        deadline.clear();
        throw errorFromFetch(err, {
          action: opts.action,
          store: this.name,
          key: opts.key,
          timedOut: deadline.fired,
          callerSignal: opts.signal,
        });
      }
      if ((res.status >= 200 && res.status < 300) || opts.accept?.includes(res.status)) {
        return { res, deadline };
      }
      deadline.clear();
      const err = await errorFromResponse(res, {
        action: opts.action,
        store: this.name,
        key: opts.key,
        method,
      });
      const date = res.headers.get("date");
      if (err.code === "RequestTimeTooSkewed" && attempt === 0 && date !== null) {
        // Sign again with the server's idea of the time, once.
        this.#clockOffsetMs = Date.parse(date) - this.#now();
        continue;
      }
      if (
        opts.key !== undefined && err.category === "not_found" &&
        (err.code === "NoSuchKey" || err.code === "")
      ) {
        throw new NotFoundError(opts.key, { store: this.name, cause: err });
      }
      throw err;
    }
  }

  /** Reads a response body whole, re-arming the idle timer as bytes arrive. */
  async #readBody(
    res: Response,
    deadline: Deadline,
    key: string | undefined,
    maxBytes?: number,
  ): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (res.body === null) return new Uint8Array();
    const reader = res.body.getReader();
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        deadline.rearm();
        total += value.byteLength;
        if (maxBytes !== undefined && total > maxBytes) {
          throw new TooLargeError(key ?? "", maxBytes, { store: this.name });
        }
        chunks.push(value);
      }
    } catch (err) {
      await reader.cancel().catch(() => {});
      if (err instanceof StoreError) throw err;
      throw errorFromFetch(err, {
        action: `read ${key ?? "the answer"}`,
        store: this.name,
        key,
        timedOut: deadline.fired,
      });
    } finally {
      deadline.clear();
    }
    return concat(chunks, total);
  }

  #checkLength(res: Response, got: number, key: string): void {
    const declared = res.headers.get("content-length");
    if (declared !== null && Number(declared) !== got) {
      throw new StoreError(
        "network",
        `Cannot read ${key}: the answer ended after ${got} of ${declared} bytes`,
        {
          store: this.name,
          key,
          retryable: true,
        },
      );
    }
  }

  /** Lists with ListObjectsV2, following continuation tokens. */
  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const full = this.#config.prefix + prefix;
    let token: string | undefined;
    do {
      const { res, deadline } = await this.#send("GET", {
        query: {
          "list-type": "2",
          prefix: full,
          "encoding-type": "url",
          "max-keys": "1000",
          "continuation-token": token,
        },
        signal: opts.signal,
        action: `list ${prefix || "/"}`,
      });
      const body = new TextDecoder().decode(
        await this.#readBody(res, deadline, undefined, 64 * 1024 * 1024),
      );
      let page;
      try {
        page = parseListPage(body);
      } catch (err) {
        throw new StoreError("unknown", `Cannot list ${prefix || "/"}: ${(err as Error).message}`, {
          store: this.name,
          cause: err,
          retryable: true,
        });
      }
      for (const o of page.objects) {
        if (!o.key.startsWith(full)) continue;
        const key = o.key.slice(this.#config.prefix.length);
        try {
          validateKey(key);
        } catch {
          continue; // a key no store call could address (e.g. with ".." segments)
        }
        const info: ObjectInfo = { key, size: o.size };
        if (o.etag !== undefined) info.etag = o.etag;
        if (o.lastModified !== undefined) info.lastModified = o.lastModified;
        yield info;
      }
      token = page.nextToken;
    } while (token !== undefined);
  }

  async get(key: string, opts: GetOptions = {}): Promise<GetResult | "not-modified"> {
    validateKey(key);
    const { res, deadline } = await this.#send("GET", {
      key,
      headers: opts.ifNoneMatch === undefined ? {} : { "if-none-match": opts.ifNoneMatch },
      signal: opts.signal,
      accept: [304],
      action: `read ${key}`,
    });
    if (res.status === 304) {
      deadline.clear();
      await res.body?.cancel().catch(() => {});
      return "not-modified";
    }
    const declared = Number(res.headers.get("content-length") ?? "NaN");
    if (opts.maxBytes !== undefined && declared > opts.maxBytes) {
      deadline.clear();
      await res.body?.cancel().catch(() => {});
      throw new TooLargeError(key, opts.maxBytes, { store: this.name });
    }
    const data = await this.#readBody(res, deadline, key, opts.maxBytes);
    this.#checkLength(res, data.byteLength, key);
    const etag = res.headers.get("etag");
    return etag === null ? { data } : { data, etag };
  }

  async getStream(key: string, opts: GetStreamOptions = {}): Promise<StreamResult> {
    validateKey(key);
    const { res, deadline } = await this.#send("GET", {
      key,
      signal: opts.signal,
      action: `read ${key}`,
    });
    const size = Number(res.headers.get("content-length") ?? "0");
    if (opts.maxBytes !== undefined && size > opts.maxBytes) {
      deadline.clear();
      await res.body?.cancel().catch(() => {});
      throw new TooLargeError(key, opts.maxBytes, { store: this.name });
    }
    const store = this.name;
    let got = 0;
    const checked = (res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }))
      .pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            deadline.rearm();
            got += chunk.byteLength;
            controller.enqueue(chunk);
          },
          flush(controller) {
            deadline.clear();
            if (got !== size) {
              controller.error(
                new StoreError(
                  "network",
                  `Cannot read ${key}: the answer ended after ${got} of ${size} bytes`,
                  {
                    store,
                    key,
                    retryable: true,
                  },
                ),
              );
            }
          },
        }),
      );
    // Errors of the underlying body (reset, timeout) surface as retryable network errors.
    let stream: ReadableStream<Uint8Array> = mapErrors(
      checked,
      (err) =>
        err instanceof StoreError
          ? err
          : errorFromFetch(err, { action: `read ${key}`, store, key, timedOut: deadline.fired }),
    );
    if (opts.maxBytes !== undefined) {
      stream = limitStream(stream, { key, store, maxBytes: opts.maxBytes });
    }
    const info: ObjectInfo = { key, size };
    const etag = res.headers.get("etag");
    if (etag !== null) info.etag = etag;
    return { stream, info };
  }

  async putAtomic(
    key: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    opts: PutOptions = {},
  ): Promise<PutResult> {
    validateKey(key);
    const native = opts.ifAbsent ? await this.#supportsConditionalPut() : false;
    if (opts.ifAbsent && !native && (await this.stat(key, opts)) !== null) {
      throw new PreconditionError(key, { store: this.name });
    }
    const threshold = this.#config.multipartThreshold;
    if (data instanceof Uint8Array && data.byteLength <= threshold) {
      return await this.#putSingle(key, data, opts, native);
    }
    // A stream of unknown size is read up to the threshold first: a small one still goes up
    // in one PUT. A stream known to be large goes straight to multipart.
    let head: Uint8Array[] = [];
    let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
    if (data instanceof Uint8Array) {
      head = [data];
    } else {
      reader = data.getReader();
      let size = 0;
      while (size <= threshold && !(opts.size !== undefined && opts.size > threshold)) {
        const { done, value } = await readAbortable(reader, opts.signal, this.name);
        if (done) {
          reader = null;
          break;
        }
        head.push(value);
        size += value.byteLength;
      }
      if (reader === null) return await this.#putSingle(key, concat(head, size), opts, native);
    }
    return await uploadMultipart(this.#multipartIO(key), head, reader, {
      partSize: this.#config.partSize,
      concurrency: this.#config.concurrency,
      signal: opts.signal,
      size: opts.size ?? (data instanceof Uint8Array ? data.byteLength : undefined),
      onProgress: opts.onProgress,
      store: this.name,
    });
  }

  async #putSingle(
    key: string,
    body: Uint8Array,
    opts: PutOptions,
    ifNoneMatch: boolean,
  ): Promise<PutResult> {
    const { res, deadline } = await this.#send("PUT", {
      key,
      body,
      headers: {
        "content-type": "application/octet-stream",
        ...(opts.ifAbsent && ifNoneMatch ? { "if-none-match": "*" } : {}),
      },
      signal: opts.signal,
      action: `put ${key}`,
    });
    deadline.clear();
    await res.body?.cancel().catch(() => {});
    opts.onProgress?.(body.byteLength, body.byteLength);
    const etag = res.headers.get("etag");
    return etag === null ? {} : { etag };
  }

  #multipartIO(key: string): MultipartIO {
    const upload = async (
      method: string,
      params: Record<string, string>,
      action: string,
      body?: Uint8Array,
      signal?: AbortSignal,
    ) => {
      const { res, deadline } = await this.#send(method, {
        key,
        query: params,
        ...(body === undefined ? {} : { body }),
        signal,
        action,
      });
      return { res, text: new TextDecoder().decode(await this.#readBody(res, deadline, key)) };
    };
    return {
      create: async (signal) => {
        const { text } = await upload(
          "POST",
          { uploads: "" },
          `start uploading ${key}`,
          undefined,
          signal,
        );
        try {
          return parseUploadId(text);
        } catch (err) {
          throw new StoreError("unknown", (err as Error).message, {
            store: this.name,
            key,
            retryable: true,
          });
        }
      },
      uploadPart: async (uploadId, partNumber, body, signal) => {
        const { res } = await upload(
          "PUT",
          { partNumber: String(partNumber), uploadId },
          `upload part ${partNumber} of ${key}`,
          body,
          signal,
        );
        const etag = res.headers.get("etag");
        if (etag === null) {
          throw new StoreError(
            "unknown",
            `Cannot upload part ${partNumber} of ${key}: no ETag in the answer`,
            {
              store: this.name,
              key,
              retryable: true,
            },
          );
        }
        return etag;
      },
      complete: async (uploadId, parts, signal) => {
        const body = new TextEncoder().encode(completeBody(parts));
        const { text } = await upload(
          "POST",
          { uploadId },
          `complete the upload of ${key}`,
          body,
          signal,
        );
        const result = parseCompleteResult(text);
        if (result !== null) return result.etag === undefined ? {} : { etag: result.etag };
        // 200 with an <Error> body (or garbage): the upload is not complete.
        const failed = errorFromBody(500, text, {
          action: `complete the upload of ${key}`,
          store: this.name,
          key,
        });
        const permanent = [
          "InvalidPart",
          "InvalidPartOrder",
          "EntityTooSmall",
          "NoSuchUpload",
          "AccessDenied",
        ];
        throw permanent.includes(failed.code) || parseErrorBody(text) === null && text.trim() !== ""
          ? failed
          : new S3Error(failed.category, failed.message, {
            store: this.name,
            key,
            code: failed.code,
            retryable: true,
            status: 200,
          });
      },
      abort: async (uploadId) => {
        try {
          const { res, deadline } = await this.#send("DELETE", {
            key,
            query: { uploadId },
            accept: [404],
            action: `abort the upload of ${key}`,
          });
          deadline.clear();
          await res.body?.cancel().catch(() => {});
        } catch (err) {
          if (!(err instanceof S3Error && err.code === "NoSuchUpload")) throw err;
        }
      },
      stat: () => this.stat(key),
    };
  }

  /** Probes once whether the server enforces `If-None-Match: *` on PUT. */
  #supportsConditionalPut(): Promise<boolean> {
    if (this.#conditional !== null) return Promise.resolve(this.#conditional);
    this.#probe ??= (async () => {
      const key = `.hx-probe/${crypto.randomUUID()}`;
      const body = new Uint8Array([1]);
      try {
        await this.#putSingle(key, body, { ifAbsent: true }, true);
        try {
          await this.#putSingle(key, body, { ifAbsent: true }, true);
          this.#conditional = false; // the second write went through: the header is ignored
        } catch (err) {
          if (!(err instanceof StoreError) || err.category === "precondition") {
            this.#conditional = true;
          } else if (err.category === "invalid_input") this.#conditional = false; // NotImplemented
          else throw err;
        }
      } finally {
        await this.delete(key).catch(() => {});
        this.#probe = null;
      }
      return this.#conditional!;
    })();
    return this.#probe;
  }

  async stat(key: string, opts: CallOptions = {}): Promise<ObjectInfo | null> {
    validateKey(key);
    const { res, deadline } = await this.#send("HEAD", {
      key,
      signal: opts.signal,
      accept: [404],
      action: `stat ${key}`,
    });
    deadline.clear();
    await res.body?.cancel().catch(() => {});
    if (res.status === 404) return null;
    const info: ObjectInfo = { key, size: Number(res.headers.get("content-length") ?? "0") };
    const etag = res.headers.get("etag");
    if (etag !== null) info.etag = etag;
    const modified = res.headers.get("last-modified");
    if (modified !== null) info.lastModified = new Date(modified);
    return info;
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    validateKey(key);
    const { res, deadline } = await this.#send("DELETE", {
      key,
      signal: opts.signal,
      accept: [404],
      action: `delete ${key}`,
    });
    deadline.clear();
    await res.body?.cancel().catch(() => {});
  }

  /**
   * Multipart uploads in progress under `prefix` (for tests and cleanup).
   *
   * @param prefix A key prefix.
   * @returns Their keys and upload ids.
   */
  async listUploads(prefix = ""): Promise<{ key: string; uploadId: string }[]> {
    const { res, deadline } = await this.#send("GET", {
      query: { uploads: "", prefix: this.#config.prefix + prefix },
      action: "list multipart uploads",
    });
    const text = new TextDecoder().decode(await this.#readBody(res, deadline, undefined));
    return parseUploads(text).map((u) => ({ ...u, key: u.key.slice(this.#config.prefix.length) }));
  }

  /**
   * Creates the bucket (for tests and first-time setup on MinIO).
   *
   * @returns When the bucket exists.
   */
  async createBucket(): Promise<void> {
    try {
      const { res, deadline } = await this.#send("PUT", {
        action: `create bucket ${this.#config.bucket}`,
      });
      deadline.clear();
      await res.body?.cancel().catch(() => {});
    } catch (err) {
      if (
        err instanceof S3Error &&
        ["BucketAlreadyOwnedByYou", "BucketAlreadyExists"].includes(err.code)
      ) return;
      throw err;
    }
  }
}

function mapErrors(
  stream: ReadableStream<Uint8Array>,
  map: (err: unknown) => unknown,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(map(err));
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/**
 * Opens an S3 store: resolves credentials and region (URI, environment, profile) first.
 *
 * @param config The parsed URI.
 * @param env Environment, home directory and `fetch`.
 * @returns The store.
 */
export async function openS3Store(config: S3Config, env: StoreEnvironment = {}): Promise<S3Store> {
  const { credentials, region } = await resolveS3Auth(config, env);
  return new S3Store({
    config,
    credentials,
    region,
    ...(env.fetch === undefined ? {} : { fetch: env.fetch }),
  });
}
