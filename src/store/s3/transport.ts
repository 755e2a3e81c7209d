/**
 * Signing and sending S3 requests: one request in, one answer (or one categorised error)
 * out. SigV4 by aws4fetch's signer (the payload's SHA-256 signed, so a body damaged in
 * transit is refused by the server), sent by hx's HTTP/1.1 client, counted on the
 * observer, with the clock corrected once when the server says it is skewed.
 *
 * @module
 */

// A full npm: specifier, not a bare one: hx is imported by path or URL from projects that do
// not have hx's deno.json, where a bare specifier would not resolve.
// deno-lint-ignore no-import-prefix
import { AwsV4Signer } from "npm:aws4fetch@1.0.20";
import { createHash } from "node:crypto";
import { NotFoundError, StoreError } from "../errors.ts";
import type { RequestKind, RequestObserver } from "../types.ts";
import type { S3Config, S3Credentials } from "./config.ts";
import { errorFromBody, errorFromFailure, S3Error } from "./errors.ts";
import { HttpClient, HttpFailure, type HttpResponse } from "./http.ts";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** Percent-encodes one key segment or query value (RFC 3986; `+` as `%2B`). */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function encodeKeyPath(key: string): string {
  return key.split("/").map(encodeSegment).join("/");
}

/** One S3 request. */
export interface S3Request {
  /** HTTP method. */
  method: string;
  /** The object key (without the store's prefix); absent for bucket-level requests. */
  key?: string | undefined;
  /** Query parameters; `undefined` values are left out, `""` gives `name=`. */
  query?: Record<string, string | undefined>;
  /** Extra headers (lower case). */
  headers?: Record<string, string>;
  /** The body, sent with its length and signed by its SHA-256. */
  body?: Uint8Array;
  /** What is attempted, for messages: "read K", "upload part 3 of K". */
  action: string;
  /** How the request is counted. */
  kind: RequestKind;
  /** Statuses other than 2xx that are answers, not errors (304 for GET, 404 for HEAD). */
  accept?: number[];
  /** Aborts the request. */
  signal?: AbortSignal | undefined;
  /** Told about bytes of the body as they are written. */
  onBodyProgress?: (written: number) => void;
}

/** Options of {@linkcode S3Transport}. */
export interface S3TransportOptions {
  config: S3Config;
  credentials: S3Credentials;
  region: string;
  /** Told about every request. */
  observer?: RequestObserver | undefined;
  /** This machine's clock, for signing (ms). Default `Date.now`. */
  now?: () => number;
}

/**
 * Sends signed requests to one bucket.
 *
 * @example
 * ```ts ignore
 * const t = new S3Transport({ config, credentials, region: "us-east-1" });
 * const res = await t.send({ method: "HEAD", key: "k", action: "stat k", kind: "head", accept: [404] });
 * await res.discard();
 * ```
 */
export class S3Transport {
  /** The store's printable name. */
  readonly name: string;
  readonly #config: S3Config;
  readonly #credentials: S3Credentials;
  readonly #region: string;
  readonly #observer: RequestObserver | undefined;
  readonly #now: () => number;
  readonly #origin: string;
  readonly #basePath: string;
  /** Signing keys by date, shared across requests (aws4fetch's cache). */
  readonly #signingKeys = new Map<string, ArrayBuffer>();
  readonly #http = new HttpClient();
  #clockOffsetMs = 0;

  /**
   * @param name The store's printable name.
   * @param opts Config, credentials, region, observer and clock.
   */
  constructor(name: string, opts: S3TransportOptions) {
    const c = opts.config;
    this.name = name;
    this.#config = c;
    this.#credentials = opts.credentials;
    this.#region = opts.region;
    this.#observer = opts.observer;
    this.#now = opts.now ?? Date.now;
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
  }

  /** The key prefix of the store inside the bucket. */
  get prefix(): string {
    return this.#config.prefix;
  }

  /** Counts bytes of object data on the observer. */
  countBytes(direction: "read" | "written", n: number): void {
    this.#observer?.bytes(direction, n);
  }

  #url(key: string | undefined, params?: Record<string, string | undefined>): URL {
    const path = key === undefined
      ? (this.#basePath || "/")
      : `${this.#basePath}/${encodeKeyPath(this.#config.prefix + key)}`;
    const q = params === undefined ? "" : Object.entries(params)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`)
      .join("&");
    return new URL(`${this.#origin}${path}${q === "" ? "" : `?${q}`}`);
  }

  /**
   * Signs and sends a request. A 2xx answer (or an accepted status) is returned with its
   * body unread; anything else becomes a categorised error.
   *
   * @param req The request.
   * @returns The answer: read, discard or close its body.
   * @throws {StoreError} Categorised: S3 error codes, timeouts, refused connections, TLS.
   */
  async send(req: S3Request): Promise<HttpResponse> {
    const url = this.#url(req.key, req.query);
    // Hashed here, not by WebCrypto: that copies the body (a part of 8 MiB) first.
    const hash = req.body === undefined
      ? EMPTY_SHA256
      : createHash("sha256").update(req.body).digest("hex");
    for (let attempt = 0;; attempt++) {
      const datetime = new Date(this.#now() + this.#clockOffsetMs).toISOString().replace(
        /[:-]|\.\d{3}/g,
        "",
      );
      const signed = await new AwsV4Signer({
        method: req.method,
        url: url.href,
        headers: { ...req.headers, "x-amz-content-sha256": hash },
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
      const headers: Record<string, string> = {};
      signed.headers.forEach((value, name) => (headers[name] = value));
      this.#observer?.request(req.kind);
      let res: HttpResponse;
      try {
        res = await this.#http.request(
          {
            method: req.method,
            url,
            headers,
            ...(req.body === undefined ? {} : { body: req.body }),
          },
          {
            signal: req.signal,
            connectTimeoutMs: this.#config.connectTimeoutMs,
            idleTimeoutMs: this.#config.timeoutMs,
            ...(req.onBodyProgress === undefined ? {} : { onBodyProgress: req.onBodyProgress }),
          },
        );
      } catch (err) {
        throw this.failure(err, req);
      }
      if ((res.status >= 200 && res.status < 300) || req.accept?.includes(res.status)) return res;
      const body = req.method === "HEAD" ? "" : await res.text(64 * 1024).catch(() => "");
      const err = errorFromBody(res.status, body, {
        action: req.action,
        store: this.name,
        key: req.key,
      });
      const date = res.headers.get("date");
      if (err.code === "RequestTimeTooSkewed" && attempt === 0 && date !== null) {
        // Sign again with the server's idea of the time, once.
        this.#clockOffsetMs = Date.parse(date) - this.#now();
        continue;
      }
      if (
        req.key !== undefined && err.category === "not_found" &&
        (err.code === "NoSuchKey" || err.code === "")
      ) {
        throw new NotFoundError(req.key, { store: this.name, cause: err });
      }
      throw err;
    }
  }

  /**
   * Sends a request and returns its body as text (bounded).
   *
   * @param req The request.
   * @param maxBytes The largest answer accepted.
   * @returns The answer and its body.
   */
  async text(
    req: S3Request,
    maxBytes = 16 * 1024 * 1024,
  ): Promise<{ res: HttpResponse; text: string }> {
    const res = await this.send(req);
    try {
      return { res, text: await res.text(maxBytes) };
    } catch (err) {
      throw this.failure(err, req);
    }
  }

  /**
   * Sends a request whose answer has no body worth reading.
   *
   * @param req The request.
   * @returns The answer (its body discarded).
   */
  async empty(req: S3Request): Promise<HttpResponse> {
    const res = await this.send(req);
    await res.discard();
    return res;
  }

  /**
   * The store error a failure below HTTP (or while reading an answer) stands for; the
   * caller's own abort is returned as it is.
   *
   * @param err What was thrown.
   * @param req The request it happened in.
   * @returns The error to throw.
   */
  failure(
    err: unknown,
    req: { action: string; key?: string | undefined; signal?: AbortSignal | undefined },
  ): Error {
    if (err instanceof StoreError) return err;
    if (req.signal?.aborted) {
      const reason: unknown = req.signal.reason;
      return reason instanceof Error
        ? reason
        : new DOMException("The operation was aborted", "AbortError");
    }
    if (err instanceof HttpFailure) return errorFromFailure(err, { ...req, store: this.name });
    if (err instanceof RangeError) {
      return new S3Error("too_large", `Cannot ${req.action}: ${err.message}`, {
        store: this.name,
        ...(req.key === undefined ? {} : { key: req.key }),
        code: "",
      });
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  /** Closes every connection. */
  close(): void {
    this.#http.close();
  }
}
