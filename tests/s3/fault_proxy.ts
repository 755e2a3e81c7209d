// Test helper: a loopback HTTP proxy between an S3 client and a real S3 server that
// injects faults on schedule: 503 SlowDown, connection resets, responses cut mid-body or
// lost whole after the request landed, a 200 CompleteMultipartUpload carrying an <Error>,
// and stalls. It works on raw TCP so
// that the request reaches the server byte for byte (SigV4 signs the Host header).

export type Fault =
  | "slowdown"
  | "reset"
  | "cut"
  | "complete-error"
  | "stall"
  | "internal"
  | "skewed"
  | "lost";

export interface ProxiedRequest {
  method: string;
  target: string;
  /** 0-based index of this request through the proxy. */
  n: number;
}

export interface FaultProxy {
  endpoint: string;
  /** Chooses a fault (or none) for each request. */
  plan: (req: ProxiedRequest) => Fault | null;
  stats: { requests: number; faults: Record<string, number>; log: string[] };
  close(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.length) at += await conn.write(data.subarray(at));
}

/** Reads one request (head and Content-Length body) from a connection. */
async function readRequest(conn: Deno.Conn): Promise<{ head: string; body: Uint8Array } | null> {
  let buf: Uint8Array = new Uint8Array();
  const chunk = new Uint8Array(64 * 1024);
  const sep = enc.encode("\r\n\r\n");
  let end = -1;
  while ((end = indexOf(buf, sep)) < 0) {
    const n = await conn.read(chunk);
    if (n === null) return null;
    buf = concat(buf, chunk.subarray(0, n));
  }
  const head = dec.decode(buf.subarray(0, end));
  const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
  let body = buf.subarray(end + 4);
  while (body.length < length) {
    const n = await conn.read(chunk);
    if (n === null) return null;
    body = concat(body, chunk.subarray(0, n));
  }
  return { head, body };
}

async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const chunk = new Uint8Array(256 * 1024);
  while (true) {
    const n = await conn.read(chunk).catch(() => null);
    if (n === null) break;
    parts.push(chunk.slice(0, n));
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function canned(status: string, body: string): Uint8Array {
  const bytes = enc.encode(body);
  return concat(
    enc.encode(
      `HTTP/1.1 ${status}\r\nContent-Type: application/xml\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
    ),
    bytes,
  );
}

export function startFaultProxy(
  upstream: string,
  plan: FaultProxy["plan"] = () => null,
  opts: { delayPartsMs?: number } = {},
): FaultProxy {
  const up = new URL(upstream);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns = new Set<Deno.Conn>();
  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${port}`,
    plan,
    stats: { requests: 0, faults: {}, log: [] },
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await serving.catch(() => {});
    },
  };

  const handle = async (conn: Deno.Conn) => {
    conns.add(conn);
    try {
      const req = await readRequest(conn);
      if (req === null) return;
      const [method = "", target = ""] = req.head.split(" ");
      const fault = proxy.plan({ method, target, n: proxy.stats.requests++ });
      proxy.stats.log.push(`${method} ${target}${fault === null ? "" : ` [${fault}]`}`);
      if (fault !== null) proxy.stats.faults[fault] = (proxy.stats.faults[fault] ?? 0) + 1;
      if (fault === "reset") return; // close without a word
      if (fault === "slowdown") {
        await writeAll(
          conn,
          canned(
            "503 Slow Down",
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
          ),
        );
        return;
      }
      if (fault === "internal") {
        await writeAll(
          conn,
          canned(
            "500 Internal Server Error",
            "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>",
          ),
        );
        return;
      }
      if (fault === "complete-error") {
        await writeAll(
          conn,
          canned(
            "200 OK",
            "<Error><Code>InternalError</Code><Message>Complete failed after headers.</Message></Error>",
          ),
        );
        return;
      }
      if (fault === "skewed") {
        const body = enc.encode(
          "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error>",
        );
        await writeAll(
          conn,
          concat(
            enc.encode(
              `HTTP/1.1 403 Forbidden\r\nDate: ${
                new Date().toUTCString()
              }\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
            ),
            body,
          ),
        );
        return;
      }
      if (fault === "stall") {
        await new Promise((r) => setTimeout(r, 3000));
        return;
      }
      if (opts.delayPartsMs !== undefined && target.includes("partNumber=")) {
        await new Promise((r) => setTimeout(r, opts.delayPartsMs)); // a slow link, for parts
      }
      // Forward byte for byte, asking the server to close after answering.
      const head = req.head.split("\r\n").filter((l) => !/^connection:/i.test(l)).join("\r\n") +
        "\r\nConnection: close\r\n\r\n";
      const server = await Deno.connect({ hostname: up.hostname, port: Number(up.port) });
      try {
        await writeAll(server, concat(enc.encode(head), req.body));
        const response = await readToEnd(server);
        if (fault === "lost") return; // it landed; the answer never arrives
        if (fault === "cut") {
          const bodyAt = indexOf(response, enc.encode("\r\n\r\n")) + 4;
          const bodyLength = response.length - bodyAt;
          // cut mid-body (or right after the head for an empty body)
          await writeAll(conn, response.subarray(0, bodyAt + Math.floor(bodyLength / 2)));
          return;
        }
        await writeAll(conn, response);
      } finally {
        server.close();
      }
    } catch {
      // the client went away
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };

  const serving = (async () => {
    for await (const conn of listener) handle(conn);
  })();
  return proxy;
}
