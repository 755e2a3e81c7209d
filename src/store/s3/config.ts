/**
 * S3 store URIs: `s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true&profile=P`, and
 * the shorthand `s3+http://HOST:PORT/BUCKET/PREFIX` (path-style, for MinIO and friends).
 *
 * @module
 */

import { StoreError } from "../errors.ts";

/** Credentials for signing requests. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Whether put-if-absent sends `If-None-Match: *` (`on`: the server enforces it, as AWS,
 * MinIO and R2 do) or checks with HEAD first (`off`, the default, which every server
 * supports; hx's conditional writes tolerate the race: they are content-addressed or
 * checked by the retry).
 */
export type ConditionalPutMode = "on" | "off";

/** A parsed S3 store URI. */
export interface S3Config {
  bucket: string;
  /** Key prefix inside the bucket: `""` or ending with `/`. */
  prefix: string;
  /** The endpoint URL (`http(s)://host[:port]`), or `null` for AWS. */
  endpoint: string | null;
  /** The region, or `null` to take it from the environment or profile. */
  region: string | null;
  /** Path-style addressing; `null` means path-style for custom endpoints, virtual-hosted for AWS. */
  pathStyle: boolean | null;
  /** The credentials profile to read, if named in the URI. */
  profile: string | null;
  /** Credentials given in the URI (`s3://KEY:SECRET@bucket`), if any. */
  credentials: S3Credentials | null;
  conditionalPut: ConditionalPutMode;
  /** Size of multipart parts, in bytes. */
  partSize: number;
  /** Objects larger than this go up as multipart, in bytes. */
  multipartThreshold: number;
  /** Parts uploaded at once. */
  concurrency: number;
  /** Longest wait for a read or write of a request to make progress, in ms. */
  timeoutMs: number;
  /** Longest wait for a connection (TCP and TLS), in ms. */
  connectTimeoutMs: number;
}

const MiB = 1024 * 1024;
const PARAMS = new Set([
  "endpoint",
  "region",
  "path_style",
  "profile",
  "conditional_put",
  "part_size_mib",
  "multipart_threshold_mib",
  "concurrency",
  "timeout_s",
  "connect_timeout_s",
]);

function decode(uri: string, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    bad(
      uri,
      `the ${what} "${part}" has a '%' that is not followed by two hex digits (write %25 for a literal '%')`,
    );
  }
}

function bad(uri: string, why: string): never {
  throw new StoreError("invalid_input", `Cannot use store "${redactS3Uri(uri)}": ${why}`);
}

function number(
  uri: string,
  name: string,
  value: string | null,
  min: number,
  max: number,
  fallback: number,
) {
  if (value === null) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    bad(uri, `${name} must be between ${min} and ${max}`);
  }
  return n;
}

/**
 * Parses an S3 store URI.
 *
 * @param uri `s3://…` or `s3+http(s)://…`.
 * @returns The config.
 * @throws {StoreError} `invalid_input` for a malformed URI or unknown parameter.
 */
export function parseS3Uri(uri: string): S3Config {
  // The URL parser would resolve "a/../b" to "b" silently; refuse such paths as written.
  const rawPath = uri.replace(/^[^:]+:\/\/[^/?#]*/, "").split(/[?#]/)[0] ?? "";
  if (rawPath.split("/").some((s) => s === "." || s === "..")) {
    bad(uri, "the prefix has a '.' or '..' segment");
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    bad(uri, "it is not a valid URI (s3://BUCKET/PREFIX?endpoint=URL&region=R)");
  }
  let bucket: string;
  let path: string;
  let endpoint: string | null = null;
  let pathStyle: boolean | null = null;
  if (url.protocol === "s3:") {
    bucket = decode(uri, url.hostname, "bucket");
    path = url.pathname;
  } else if (url.protocol === "s3+http:" || url.protocol === "s3+https:") {
    endpoint = `${url.protocol.slice(3)}//${url.host}`;
    pathStyle = true;
    const parts = url.pathname.replace(/^\/+/, "").split("/");
    bucket = decode(uri, parts.shift() ?? "", "bucket");
    path = parts.join("/");
  } else {
    bad(uri, "the scheme must be s3:, s3+http: or s3+https:");
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/.test(bucket)) {
    bad(
      uri,
      bucket === ""
        ? "the bucket name is missing (s3://BUCKET/PREFIX)"
        : `"${bucket}" is not a valid bucket name (3 to 63 characters: lower-case letters, digits, '.' and '-')`,
    );
  }
  let prefix = decode(uri, path, "prefix").replace(/^\/+/, "");
  if (prefix !== "" && !prefix.endsWith("/")) prefix += "/";
  if (prefix.split("/").slice(0, -1).some((s) => s === "" || s === "." || s === "..")) {
    bad(uri, "the prefix has an empty, '.' or '..' segment");
  }
  for (const name of url.searchParams.keys()) {
    if (!PARAMS.has(name)) {
      bad(uri, `unknown parameter "${name}" (known: ${[...PARAMS].join(", ")})`);
    }
  }
  const q = url.searchParams;
  const endpointParam = q.get("endpoint");
  if (endpointParam !== null) {
    let e: URL;
    try {
      e = new URL(endpointParam);
    } catch {
      bad(uri, "endpoint must be a URL like http://127.0.0.1:9000");
    }
    if (e.protocol !== "http:" && e.protocol !== "https:") {
      bad(uri, "endpoint must be http:// or https://");
    }
    endpoint = `${e.protocol}//${e.host}${e.pathname.replace(/\/+$/, "")}`;
  }
  const style = q.get("path_style");
  if (style !== null) {
    if (style !== "true" && style !== "false") bad(uri, "path_style must be true or false");
    pathStyle = style === "true";
  }
  const mode = q.get("conditional_put") ?? "off";
  const modes: Record<string, ConditionalPutMode> = {
    auto: "off",
    true: "on",
    on: "on",
    false: "off",
    off: "off",
  };
  if (!(mode in modes)) bad(uri, "conditional_put must be auto, true or false");
  const credentials = url.username === "" ? null : {
    accessKeyId: decode(uri, url.username, "access key"),
    secretAccessKey: decode(uri, url.password, "secret key"),
  };
  if (credentials !== null && credentials.secretAccessKey === "") {
    bad(uri, "credentials in the URI need both parts: s3://ACCESS_KEY:SECRET@bucket");
  }
  return {
    bucket,
    prefix,
    endpoint,
    region: q.get("region"),
    pathStyle,
    profile: q.get("profile"),
    credentials,
    conditionalPut: modes[mode]!,
    // Parts are sent from hx's own buffers (no copy), so each part in flight costs its size.
    partSize: number(uri, "part_size_mib", q.get("part_size_mib"), 5, 512, 8) * MiB,
    multipartThreshold:
      number(uri, "multipart_threshold_mib", q.get("multipart_threshold_mib"), 5, 5120, 16) * MiB,
    concurrency: number(uri, "concurrency", q.get("concurrency"), 1, 64, 4),
    timeoutMs: number(uri, "timeout_s", q.get("timeout_s"), 1, 3600, 15) * 1000,
    connectTimeoutMs: number(uri, "connect_timeout_s", q.get("connect_timeout_s"), 1, 600, 5) *
      1000,
  };
}

/**
 * A printable form of an S3 config, without credentials.
 *
 * @param config The config.
 * @returns `s3://bucket/prefix?endpoint=…` (never a secret).
 */
export function formatS3Config(config: S3Config): string {
  const params: string[] = [];
  if (config.endpoint !== null) params.push(`endpoint=${config.endpoint}`);
  if (config.region !== null) params.push(`region=${config.region}`);
  if (config.pathStyle !== null) params.push(`path_style=${config.pathStyle}`);
  if (config.profile !== null) params.push(`profile=${config.profile}`);
  const creds = config.credentials === null ? "" : "***@";
  return `s3://${creds}${config.bucket}/${config.prefix}${
    params.length > 0 ? `?${params.join("&")}` : ""
  }`;
}

/** An S3 URI with credentials hidden, even when it does not parse. */
export function redactS3Uri(uri: string): string {
  return uri.replace(/^(s3(?:\+https?)?:\/\/)[^@/?#]*@/i, "$1***@").replace(
    /(endpoint=https?(?:%3A|:)(?:%2F|\/){2})[^@&/]*@/i,
    "$1***@",
  );
}

/**
 * A store URI with S3 parameters given apart (the CLI's `--endpoint`, `--region` and
 * `--path-style`) folded into its query.
 *
 * @param uri The store URI.
 * @param params The parameters given; absent ones are left out.
 * @returns The URI with them.
 * @throws {StoreError} `invalid_input` when parameters are given for a store that is not S3.
 */
export function withS3Params(
  uri: string,
  params: {
    endpoint?: string | undefined;
    region?: string | undefined;
    pathStyle?: boolean | undefined;
  },
): string {
  const extra: [string, string][] = [];
  if (params.endpoint !== undefined) extra.push(["endpoint", params.endpoint]);
  if (params.region !== undefined) extra.push(["region", params.region]);
  if (params.pathStyle) extra.push(["path_style", "true"]);
  if (extra.length === 0) return uri;
  if (!/^s3(\+https?)?:/i.test(uri)) {
    throw new StoreError(
      "invalid_input",
      "Cannot use --endpoint, --region or --path-style: they only apply to s3:// stores",
    );
  }
  const query = extra.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
  return `${uri}${uri.includes("?") ? "&" : "?"}${query}`;
}
