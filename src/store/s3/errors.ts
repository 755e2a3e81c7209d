/**
 * S3 failures as categorised store errors. The category and retryability are decided
 * here, once, from the error code in the body (or the status when there is no body, as
 * for HEAD), and the retry decorator trusts them.
 *
 * @module
 */

import type { ErrorCategory } from "../../errors.ts";
import { StoreError } from "../errors.ts";
import { parseErrorBody } from "./xml.ts";

interface Rule {
  category: ErrorCategory;
  retryable: boolean;
  hint?: string;
}

const BY_CODE: Record<string, Rule> = {
  AccessDenied: {
    category: "auth",
    retryable: false,
    hint: "check the credentials' permissions on the bucket",
  },
  AllAccessDisabled: { category: "auth", retryable: false },
  AccountProblem: { category: "auth", retryable: false },
  InvalidAccessKeyId: {
    category: "auth",
    retryable: false,
    hint: "check AWS_ACCESS_KEY_ID or the profile's aws_access_key_id",
  },
  SignatureDoesNotMatch: {
    category: "auth",
    retryable: false,
    hint: "check the secret access key (and the region)",
  },
  ExpiredToken: {
    category: "auth",
    retryable: false,
    hint: "the session credentials expired: refresh them",
  },
  TokenRefreshRequired: {
    category: "auth",
    retryable: false,
    hint: "refresh the session credentials",
  },
  InvalidToken: { category: "auth", retryable: false, hint: "check AWS_SESSION_TOKEN" },
  NoSuchKey: { category: "not_found", retryable: false },
  NoSuchUpload: { category: "not_found", retryable: false },
  NoSuchBucket: {
    category: "not_found",
    retryable: false,
    hint: "create the bucket, or check its name, the endpoint and the region",
  },
  SlowDown: { category: "throttled", retryable: true },
  Throttling: { category: "throttled", retryable: true },
  ThrottlingException: { category: "throttled", retryable: true },
  RequestLimitExceeded: { category: "throttled", retryable: true },
  TooManyRequests: { category: "throttled", retryable: true },
  ServiceUnavailable: { category: "throttled", retryable: true },
  RequestTimeout: { category: "timeout", retryable: true },
  RequestTimeTooSkewed: {
    category: "auth",
    retryable: false,
    hint: "this machine's clock is far off; fix it (NTP) and run again",
  },
  InternalError: { category: "unknown", retryable: true },
  BadDigest: { category: "network", retryable: true },
  XAmzContentSHA256Mismatch: { category: "network", retryable: true },
  IncompleteBody: { category: "network", retryable: true },
  PreconditionFailed: { category: "precondition", retryable: false },
  ConditionalRequestConflict: { category: "precondition", retryable: true },
  EntityTooLarge: { category: "too_large", retryable: false },
  KeyTooLongError: { category: "invalid_input", retryable: false },
  InvalidBucketName: { category: "invalid_input", retryable: false, hint: "check the bucket name" },
  AuthorizationHeaderMalformed: {
    category: "invalid_input",
    retryable: false,
    hint: "the region is probably wrong: set region= in the store URI",
  },
  PermanentRedirect: {
    category: "invalid_input",
    retryable: false,
    hint: "the bucket is in another region: set region= in the store URI",
  },
  NotImplemented: { category: "invalid_input", retryable: false },
  QuotaExceeded: { category: "no_space", retryable: false },
  XMinioStorageFull: { category: "no_space", retryable: false },
  XMinioAdminBucketQuotaExceeded: { category: "no_space", retryable: false },
};

function byStatus(status: number): Rule {
  if (status === 401 || status === 403) return { category: "auth", retryable: false };
  if (status === 404) return { category: "not_found", retryable: false };
  if (status === 408) return { category: "timeout", retryable: true };
  if (status === 409 || status === 412) return { category: "precondition", retryable: false };
  if (status === 413) return { category: "too_large", retryable: false };
  if (status === 429 || status === 503) return { category: "throttled", retryable: true };
  if (status === 507) return { category: "no_space", retryable: false };
  if (status >= 500) return { category: "unknown", retryable: true };
  if (status === 301 || status === 307 || status === 400) {
    return { category: "invalid_input", retryable: false };
  }
  return { category: "unknown", retryable: false };
}

/** A store error that also carries the S3 error code. */
export class S3Error extends StoreError {
  /** The S3 error code (`SlowDown`, `NoSuchKey`, …), or `""` when there was no body. */
  readonly code: string;

  constructor(
    category: ErrorCategory,
    message: string,
    opts: ConstructorParameters<typeof StoreError>[2] & { code: string },
  ) {
    super(category, message, opts);
    this.name = "S3Error";
    this.code = opts.code;
  }
}

/**
 * The error an unsuccessful S3 response stands for. The body is read (bounded) unless
 * the request was a HEAD.
 *
 * @param res The response.
 * @param ctx What was attempted, on which store and key.
 * @returns The categorised error.
 */
export async function errorFromResponse(
  res: Response,
  ctx: { action: string; store: string; key?: string | undefined; method: string },
): Promise<S3Error> {
  let body = "";
  if (ctx.method !== "HEAD") {
    try {
      body = (await res.text()).slice(0, 64 * 1024);
    } catch {
      body = "";
    }
  } else {
    await res.body?.cancel().catch(() => {});
  }
  return errorFromBody(res.status, body, ctx);
}

/** The error an S3 error body (or bare status) stands for. */
export function errorFromBody(
  status: number,
  body: string,
  ctx: { action: string; store: string; key?: string | undefined },
): S3Error {
  const parsed = parseErrorBody(body);
  const code = parsed?.code ?? "";
  const rule = BY_CODE[code] ?? byStatus(status);
  const detail = parsed === null
    ? `HTTP ${status}`
    : `${code || `HTTP ${status}`}${parsed.message ? `: ${parsed.message}` : ""}`;
  return new S3Error(rule.category, `Cannot ${ctx.action}: ${detail}`, {
    store: ctx.store,
    ...(ctx.key === undefined ? {} : { key: ctx.key }),
    status,
    code,
    retryable: rule.retryable,
    ...(rule.hint === undefined ? {} : { hint: rule.hint }),
  });
}

/**
 * The error a failed `fetch` (no response) stands for: a timeout when the per-request
 * timer fired, the caller's abort as is, otherwise a retryable network error.
 */
export function errorFromFetch(
  err: unknown,
  ctx: {
    action: string;
    store: string;
    key?: string | undefined;
    timedOut: boolean;
    callerSignal?: AbortSignal | undefined;
  },
): Error {
  if (ctx.callerSignal?.aborted) {
    const reason: unknown = ctx.callerSignal.reason;
    return reason instanceof Error
      ? reason
      : new DOMException("The operation was aborted", "AbortError");
  }
  const key = ctx.key === undefined ? {} : { key: ctx.key };
  if (ctx.timedOut) {
    return new StoreError("timeout", `Cannot ${ctx.action}: the store did not answer in time`, {
      store: ctx.store,
      ...key,
      cause: err,
      retryable: true,
    });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new StoreError("network", `Cannot ${ctx.action}: ${detail.split("\n")[0]}`, {
    store: ctx.store,
    ...key,
    cause: err,
    retryable: true,
    hint: "check the endpoint and the network",
  });
}
