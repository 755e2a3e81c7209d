/**
 * S3 failures as categorised store errors. The category and retryability are decided
 * here, once, from the error code in the body (or the status when there is no body, as
 * for HEAD), and the retry decorator trusts them.
 *
 * @module
 */

import { type ErrorCategory, StoreError, type StoreErrorOptions } from "../errors.ts";
import type { HttpFailure } from "./http.ts";
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
  InvalidPart: { category: "unknown", retryable: false },
  InvalidPartOrder: { category: "unknown", retryable: false },
  EntityTooSmall: { category: "invalid_input", retryable: false },
  InvalidRange: { category: "invalid_input", retryable: false },
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

  /**
   * @param category The category.
   * @param message "Cannot <action>: <code>: <message>".
   * @param opts Store, key, status, retryability and the S3 code.
   */
  constructor(
    category: ErrorCategory,
    message: string,
    opts: StoreErrorOptions & { code: string },
  ) {
    super(category, message, opts);
    this.name = "S3Error";
    this.code = opts.code;
  }
}

/**
 * The error an S3 error body (or a bare status, as for HEAD) stands for.
 *
 * @param status The HTTP status.
 * @param body The answer's body (may be empty or not XML).
 * @param ctx What was attempted, on which store and key.
 * @returns The categorised error.
 */
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
 * The error a failure below HTTP stands for: no answer arrived. Timeouts, resets and
 * unreachable hosts are retryable; a TLS or protocol mismatch is not (retrying cannot
 * change what the endpoint speaks).
 *
 * @param failure What the HTTP client reported.
 * @param ctx What was attempted, on which store and key.
 * @returns The categorised error.
 */
export function errorFromFailure(
  failure: HttpFailure,
  ctx: { action: string; store: string; key?: string | undefined },
): StoreError {
  const base = {
    store: ctx.store,
    ...(ctx.key === undefined ? {} : { key: ctx.key }),
    cause: failure,
  };
  const message = `Cannot ${ctx.action}: ${failure.message}`;
  switch (failure.kind) {
    case "timeout":
    case "connect_timeout":
      return new StoreError("timeout", message, { ...base, retryable: true });
    case "refused":
      return new StoreError("network", message, {
        ...base,
        retryable: true,
        hint: "check the endpoint's host and port, and that the server runs",
      });
    case "dns":
      return new StoreError("network", message, {
        ...base,
        retryable: true,
        hint: "check the endpoint's host name",
      });
    case "tls":
      return new StoreError("network", message, {
        ...base,
        retryable: false,
        hint: "if the server speaks plain HTTP, use an http:// endpoint",
      });
    case "protocol":
      return new StoreError("network", message, {
        ...base,
        retryable: false,
        hint: "check whether the endpoint is http:// or https://",
      });
    case "reset":
      return new StoreError("network", message, { ...base, retryable: true });
  }
}
