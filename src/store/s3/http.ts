/**
 * A small HTTP/1.1 client on `Deno.connect` (and `Deno.startTls`), for the S3 backend.
 *
 * Why not `fetch`: `fetch` sends any streamed body chunked (S3 refuses chunked uploads
 * without its own signing scheme), copies every request body once more, offers no connect
 * timeout, and reports a refused connection, a TLS mismatch and a reset alike. Here request
 * bodies are written from the caller's buffers with a `Content-Length`, response bodies are
 * read into the caller's buffers, connections are kept alive and reused, every read and
 * write has an idle timeout, connecting has its own, and failures say what happened.
 *
 * @module
 */

const CRLF = new TextEncoder().encode("\r\n\r\n");
const MAX_HEAD = 64 * 1024;
const POOL_IDLE_MS = 15_000;
const MAX_IDLE_PER_ORIGIN = 16;

/** What went wrong below HTTP. */
export type HttpFailureKind =
  | "refused"
  | "dns"
  | "tls"
  | "timeout"
  | "connect_timeout"
  | "reset"
  | "protocol";

/** A request failed below HTTP: no (complete) answer arrived. */
export class HttpFailure extends Error {
  /** What went wrong. */
  readonly kind: HttpFailureKind;

  /**
   * @param kind What went wrong.
   * @param message One line for the user.
   * @param options The underlying error.
   */
  constructor(kind: HttpFailureKind, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HttpFailure";
    this.kind = kind;
  }
}

/** One request. The body, if any, is sent with a `Content-Length`. */
export interface HttpRequest {
  method: string;
  url: URL;
  /** Header names in lower case; `host` and `content-length` are added. */
  headers: Record<string, string>;
  body?: Uint8Array;
}

/** Per-request options. */
export interface HttpRequestOptions {
  /** Aborts the request; the connection is closed. */
  signal?: AbortSignal | undefined;
  /** Longest wait for the connection (TCP and TLS), in ms. */
  connectTimeoutMs: number;
  /** Longest wait for any read or write to make progress, in ms. */
  idleTimeoutMs: number;
  /** Told about bytes of the request body as they are written. */
  onBodyProgress?: (written: number) => void;
}

/** Options of {@linkcode HttpClient}. */
export interface HttpClientOptions {
  /** Extra PEM root certificates for TLS. */
  caCerts?: string[];
}

class Connection {
  readonly origin: string;
  readonly conn: Deno.Conn;
  buf = new Uint8Array(64 * 1024);
  start = 0;
  end = 0;
  lastUsed = 0;
  reused = false;
  #closed = false;
  #timedOut = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(origin: string, conn: Deno.Conn) {
    this.origin = origin;
    this.conn = conn;
  }

  get buffered(): number {
    return this.end - this.start;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  /** Runs one read or write, closing the connection if it makes no progress in time. */
  async #timed<T>(op: Promise<T>, opts: HttpRequestOptions, what: string): Promise<T> {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      this.close();
    }, opts.idleTimeoutMs);
    try {
      return await op;
    } catch (err) {
      if (this.#timedOut) {
        throw new HttpFailure(
          "timeout",
          `no progress for ${opts.idleTimeoutMs / 1000} s while ${what}`,
          {
            cause: err,
          },
        );
      }
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      throw new HttpFailure("reset", `the connection broke while ${what}`, { cause: err });
    } finally {
      clearTimeout(this.#timer);
    }
  }

  async write(data: Uint8Array, opts: HttpRequestOptions, progress?: (n: number) => void) {
    let at = 0;
    while (at < data.byteLength) {
      const n = await this.#timed(this.conn.write(data.subarray(at)), opts, "sending");
      at += n;
      progress?.(at);
    }
  }

  /** Reads more bytes into the buffer (compacting it first); `false` at end of stream. */
  async fill(opts: HttpRequestOptions): Promise<boolean> {
    if (this.start > 0 && this.start === this.end) this.start = this.end = 0;
    if (this.end === this.buf.byteLength) {
      if (this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      } else {
        const bigger = new Uint8Array(this.buf.byteLength * 2);
        bigger.set(this.buf);
        this.buf = bigger;
      }
    }
    const n = await this.#timed(this.conn.read(this.buf.subarray(this.end)), opts, "reading");
    if (n === null) return false;
    this.end += n;
    return true;
  }

  /** Reads up to `into.byteLength` bytes: buffered ones first, then straight from the socket. */
  async readInto(into: Uint8Array, opts: HttpRequestOptions): Promise<number | null> {
    if (this.buffered > 0) {
      const n = Math.min(into.byteLength, this.buffered);
      into.set(this.buf.subarray(this.start, this.start + n));
      this.start += n;
      return n;
    }
    return await this.#timed(this.conn.read(into), opts, "reading");
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : new DOMException("The operation was aborted", "AbortError");
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number, to: number): number {
  outer: for (let i = from; i <= to - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** How the body of a response is delimited. */
type Framing =
  | { kind: "none" }
  | { kind: "length"; remaining: number }
  | { kind: "chunked"; remaining: number; done: boolean }
  | { kind: "close" };

/**
 * An answer. Its body must be read to the end, discarded, or the response closed: only then
 * is the connection free for the next request.
 */
export class HttpResponse {
  /** The status code. */
  readonly status: number;
  /** The headers. */
  readonly headers: Headers;
  /** The body length when the answer declares one. */
  readonly contentLength: number | null;
  readonly #connection: Connection;
  readonly #framing: Framing;
  readonly #keepAlive: boolean;
  readonly #opts: HttpRequestOptions;
  readonly #release: (c: Connection, reusable: boolean) => void;
  #finished = false;

  constructor(
    init: { status: number; headers: Headers; framing: Framing; keepAlive: boolean },
    connection: Connection,
    opts: HttpRequestOptions,
    release: (c: Connection, reusable: boolean) => void,
  ) {
    this.status = init.status;
    this.headers = init.headers;
    this.#framing = init.framing;
    this.#keepAlive = init.keepAlive;
    this.#connection = connection;
    this.#opts = opts;
    this.#release = release;
    this.contentLength = init.framing.kind === "length" ? init.framing.remaining : null;
    if (
      init.framing.kind === "none" ||
      (init.framing.kind === "length" && init.framing.remaining === 0)
    ) {
      this.#finish(true);
    }
  }

  #finish(reusable: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#release(this.#connection, reusable && this.#keepAlive);
  }

  /**
   * Reads the next piece of the body into `into`.
   *
   * @param into Where to put the bytes.
   * @returns How many bytes were read, or `null` at the end of the body.
   */
  async read(into: Uint8Array): Promise<number | null> {
    if (this.#finished) return null;
    const c = this.#connection;
    const f = this.#framing;
    try {
      if (f.kind === "length") {
        if (f.remaining === 0) return this.#end();
        const n = await c.readInto(
          into.subarray(0, Math.min(into.byteLength, f.remaining)),
          this.#opts,
        );
        if (n === null) {
          throw new HttpFailure("reset", `the answer ended ${f.remaining} bytes early`);
        }
        f.remaining -= n;
        if (f.remaining === 0) this.#finish(true);
        return n;
      }
      if (f.kind === "chunked") {
        while (f.remaining === 0) {
          if (f.done) return this.#end();
          await this.#nextChunk(f);
        }
        const n = await c.readInto(
          into.subarray(0, Math.min(into.byteLength, f.remaining)),
          this.#opts,
        );
        if (n === null) throw new HttpFailure("reset", "the answer ended inside a chunk");
        f.remaining -= n;
        if (f.remaining === 0) await this.#chunkEnd();
        return n;
      }
      if (f.kind === "close") {
        const n = await c.readInto(into, this.#opts);
        if (n === null) return this.#end(false);
        return n;
      }
      return this.#end();
    } catch (err) {
      this.#finish(false);
      throw err;
    }
  }

  #end(reusable = true): null {
    this.#finish(reusable);
    return null;
  }

  async #line(): Promise<string> {
    const c = this.#connection;
    while (true) {
      const at = c.buf.subarray(c.start, c.end).indexOf(10);
      if (at >= 0) {
        const line = new TextDecoder().decode(c.buf.subarray(c.start, c.start + at)).replace(
          /\r$/,
          "",
        );
        c.start += at + 1;
        return line;
      }
      if (c.buffered > 4096) throw new HttpFailure("protocol", "a chunk header is too long");
      if (!(await c.fill(this.#opts))) {
        throw new HttpFailure("reset", "the answer ended inside a chunk header");
      }
    }
  }

  async #nextChunk(f: { remaining: number; done: boolean }): Promise<void> {
    const size = parseInt((await this.#line()).split(";")[0]!.trim(), 16);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new HttpFailure("protocol", "the answer has a malformed chunk size");
    }
    if (size === 0) {
      while ((await this.#line()) !== ""); // trailers
      f.done = true;
      return;
    }
    f.remaining = size;
  }

  async #chunkEnd(): Promise<void> {
    if ((await this.#line()) !== "") {
      throw new HttpFailure("protocol", "a chunk is not followed by CRLF");
    }
  }

  /**
   * The whole body, refusing more than `max` bytes.
   *
   * @param max The largest body accepted.
   * @returns The body.
   * @throws {RangeError} When the body is larger than `max` (the connection is closed).
   */
  async bytes(max: number): Promise<Uint8Array> {
    if (this.contentLength !== null) {
      if (this.contentLength > max) {
        this.close();
        throw new RangeError(`the answer is larger than ${max} bytes`);
      }
      const out = new Uint8Array(this.contentLength);
      let at = 0;
      while (at < out.byteLength) {
        const n = await this.read(out.subarray(at));
        if (n === null) break;
        at += n;
      }
      return out;
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    while (true) {
      const piece = new Uint8Array(64 * 1024);
      const n = await this.read(piece);
      if (n === null) break;
      total += n;
      if (total > max) {
        this.close();
        throw new RangeError(`the answer is larger than ${max} bytes`);
      }
      parts.push(piece.subarray(0, n));
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  /** The body as text, at most `max` bytes of it. */
  async text(max = 1024 * 1024): Promise<string> {
    return new TextDecoder().decode(await this.bytes(max));
  }

  /** Reads and drops the rest of a small body (keeping the connection), or closes a large one. */
  async discard(): Promise<void> {
    if (this.#finished) return;
    if (this.contentLength !== null && this.contentLength > 256 * 1024) return this.close();
    try {
      const sink = new Uint8Array(16 * 1024);
      let total = 0;
      while (true) {
        const n = await this.read(sink);
        if (n === null) return;
        total += n;
        if (total > 256 * 1024) return this.close();
      }
    } catch {
      this.close();
    }
  }

  /** The body as a stream (one fresh buffer per piece). Cancelling it closes the connection. */
  stream(chunkSize = 256 * 1024): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const piece = new Uint8Array(chunkSize);
        const n = await this.read(piece);
        if (n === null) controller.close();
        else controller.enqueue(piece.subarray(0, n));
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
  }

  /** Abandons the rest of the body and the connection. */
  close(): void {
    if (this.#finished) return;
    this.#connection.close();
    this.#finish(false);
  }
}

/**
 * Keeps connections per origin and sends requests on them.
 *
 * @example
 * ```ts ignore
 * const client = new HttpClient();
 * const res = await client.request(
 *   { method: "GET", url: new URL("http://127.0.0.1:9000/"), headers: {} },
 *   { connectTimeoutMs: 5000, idleTimeoutMs: 15000 },
 * );
 * console.log(res.status, await res.text());
 * client.close();
 * ```
 */
export class HttpClient {
  readonly #idle = new Map<string, Connection[]>();
  readonly #all = new Set<Connection>();
  readonly #caCerts: string[] | undefined;

  /** @param opts Extra root certificates. */
  constructor(opts: HttpClientOptions = {}) {
    this.#caCerts = opts.caCerts;
  }

  /**
   * Sends a request and reads the head of its answer. A connection taken from the pool that
   * turns out to be closed by the server is replaced once, transparently.
   *
   * @param req The request.
   * @param opts Signal, timeouts and upload progress.
   * @returns The answer; read or discard its body.
   * @throws {HttpFailure} When no answer arrived (refused, timeout, reset, TLS, DNS).
   */
  async request(req: HttpRequest, opts: HttpRequestOptions): Promise<HttpResponse> {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    for (let fresh = false;; fresh = true) {
      const c = fresh ? await this.#connect(req.url, opts) : await this.#acquire(req.url, opts);
      const onAbort = () => c.close();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      let got = 0;
      try {
        await this.#send(c, req, opts);
        const head = await this.#readHead(c, req, opts, () => got++);
        return new HttpResponse(head, c, opts, (conn, reusable) => {
          opts.signal?.removeEventListener("abort", onAbort);
          this.#release(conn, reusable);
        });
      } catch (err) {
        opts.signal?.removeEventListener("abort", onAbort);
        c.close();
        this.#all.delete(c);
        if (opts.signal?.aborted) throw abortReason(opts.signal);
        // A kept-alive connection the server had closed: one more try on a new one.
        if (c.reused && got === 0 && err instanceof HttpFailure && err.kind === "reset" && !fresh) {
          continue;
        }
        throw err;
      }
    }
  }

  async #acquire(url: URL, opts: HttpRequestOptions): Promise<Connection> {
    const origin = `${url.protocol}//${url.host}`;
    const idle = this.#idle.get(origin) ?? [];
    while (idle.length > 0) {
      const c = idle.pop()!;
      if (Date.now() - c.lastUsed < POOL_IDLE_MS && !c.closed) {
        c.reused = true;
        return c;
      }
      c.close();
      this.#all.delete(c);
    }
    return await this.#connect(url, opts);
  }

  #release(c: Connection, reusable: boolean): void {
    if (!reusable || c.closed || c.buffered > 0) {
      c.close();
      this.#all.delete(c);
      return;
    }
    c.lastUsed = Date.now();
    const idle = this.#idle.get(c.origin) ?? [];
    if (idle.length >= MAX_IDLE_PER_ORIGIN) {
      c.close();
      this.#all.delete(c);
      return;
    }
    idle.push(c);
    this.#idle.set(c.origin, idle);
  }

  async #connect(url: URL, opts: HttpRequestOptions): Promise<Connection> {
    const tls = url.protocol === "https:";
    const hostname = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port || (tls ? 443 : 80));
    const where = `${hostname}:${port}`;
    const timeout = AbortSignal.timeout(opts.connectTimeoutMs);
    const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]);
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ hostname, port, signal });
    } catch (err) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (timeout.aborted) {
        throw new HttpFailure(
          "connect_timeout",
          `no connection to ${where} within ${opts.connectTimeoutMs / 1000} s`,
          {
            cause: err,
          },
        );
      }
      if (err instanceof Deno.errors.ConnectionRefused) {
        throw new HttpFailure(
          "refused",
          `${where} refused the connection (is the server running on that port?)`,
          {
            cause: err,
          },
        );
      }
      const text = err instanceof Error ? err.message : String(err);
      if (/lookup|resolve|dns|name or service|nodename/i.test(text)) {
        throw new HttpFailure("dns", `cannot resolve the host name ${hostname}`, { cause: err });
      }
      throw new HttpFailure("reset", `cannot connect to ${where}: ${text.split("\n")[0]}`, {
        cause: err,
      });
    }
    if (tls) {
      let secured: Deno.TlsConn;
      try {
        secured = await Deno.startTls(conn as Deno.TcpConn, {
          hostname,
          ...(this.#caCerts === undefined ? {} : { caCerts: this.#caCerts }),
        });
        const handshake = secured.handshake();
        const timer = new Promise<never>((_, reject) => {
          const onTimeout = () => reject(new Error("TLS handshake timed out"));
          timeout.addEventListener("abort", onTimeout, { once: true });
          handshake.finally(() => timeout.removeEventListener("abort", onTimeout)).catch(() => {});
        });
        await Promise.race([handshake, timer]);
      } catch (err) {
        try {
          conn.close();
        } catch { /* closed */ }
        const text = err instanceof Error ? err.message : String(err);
        throw new HttpFailure(
          "tls",
          `the TLS handshake with ${where} failed (${
            text.split("\n")[0]
          }); if the server speaks plain HTTP, use an http:// endpoint`,
          { cause: err },
        );
      }
      conn = secured;
    }
    const c = new Connection(`${url.protocol}//${url.host}`, conn);
    this.#all.add(c);
    return c;
  }

  async #send(c: Connection, req: HttpRequest, opts: HttpRequestOptions): Promise<void> {
    const lines = [
      `${req.method} ${req.url.pathname}${req.url.search} HTTP/1.1`,
      `host: ${req.url.host}`,
    ];
    for (const [name, value] of Object.entries(req.headers)) {
      if (name === "host" || name === "content-length") continue;
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
        throw new HttpFailure("protocol", `header ${name} holds a line break`);
      }
      lines.push(`${name}: ${value}`);
    }
    const body = req.body;
    if (body !== undefined || req.method === "PUT" || req.method === "POST") {
      lines.push(`content-length: ${body?.byteLength ?? 0}`);
    }
    const head = new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n");
    if (body !== undefined && body.byteLength > 0 && body.byteLength <= 64 * 1024) {
      const joined = new Uint8Array(head.byteLength + body.byteLength);
      joined.set(head);
      joined.set(body, head.byteLength);
      await c.write(joined, opts);
      opts.onBodyProgress?.(body.byteLength);
      return;
    }
    await c.write(head, opts);
    if (body !== undefined && body.byteLength > 0) {
      await c.write(body, opts, opts.onBodyProgress);
    }
  }

  async #readHead(
    c: Connection,
    req: HttpRequest,
    opts: HttpRequestOptions,
    onBytes: () => void,
  ): Promise<{ status: number; headers: Headers; framing: Framing; keepAlive: boolean }> {
    while (true) {
      let end: number;
      let scanned = 0; // bytes after c.start already searched (fill may move c.start)
      while ((end = indexOf(c.buf, CRLF, c.start + Math.max(0, scanned - 3), c.end)) < 0) {
        scanned = c.buffered;
        if (c.buffered > MAX_HEAD) {
          throw new HttpFailure("protocol", "the answer's head is too long");
        }
        if (!(await c.fill(opts))) {
          throw new HttpFailure("reset", "the server closed the connection without answering");
        }
        onBytes();
        if (c.buffered > 0 && c.buf[c.start] !== 0x48 /* H */) {
          const first = c.buf[c.start]!;
          throw new HttpFailure(
            "protocol",
            first === 0x15 || first === 0x16
              ? "the server answered in TLS: use an https:// endpoint"
              : "the server's answer is not HTTP",
          );
        }
      }
      const head = new TextDecoder().decode(c.buf.subarray(c.start, end));
      c.start = end + 4;
      const [statusLine = "", ...headerLines] = head.split("\r\n");
      const m = /^HTTP\/1\.([01]) (\d{3})/.exec(statusLine);
      if (m === null) throw new HttpFailure("protocol", "the server's answer is not HTTP/1.x");
      const status = Number(m[2]);
      const headers = new Headers();
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      if (status >= 100 && status < 200) continue; // interim answer
      const connection = headers.get("connection")?.toLowerCase() ?? "";
      const keepAlive = m[1] === "1"
        ? !connection.includes("close")
        : connection.includes("keep-alive");
      let framing: Framing;
      const length = headers.get("content-length");
      if (req.method === "HEAD" || status === 204 || status === 304) {
        framing = { kind: "none" };
      } else if (/chunked/i.test(headers.get("transfer-encoding") ?? "")) {
        framing = { kind: "chunked", remaining: 0, done: false };
      } else if (length !== null) {
        const n = Number(length);
        if (!Number.isSafeInteger(n) || n < 0) {
          throw new HttpFailure("protocol", "the answer has a bad Content-Length");
        }
        framing = { kind: "length", remaining: n };
      } else {
        framing = { kind: "close" };
      }
      return { status, headers, framing, keepAlive: keepAlive && framing.kind !== "close" };
    }
  }

  /** Closes every connection. */
  close(): void {
    for (const c of this.#all) c.close();
    this.#all.clear();
    this.#idle.clear();
  }
}
