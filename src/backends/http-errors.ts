// The one classifier of HTTP object-store errors (S3, OSS): the error codes the two protocols
// share (OSS answers S3's codes), then the AWS SDK's own classification
// (@smithy/service-error-classification: throttling, transient network and 5xx errors), then the
// HTTP status. Each backend's errors.ts extracts the codes and status from its SDK's error shape and
// writes the message; the meaning of a code is decided here, once, so that the same condition
// gets the same code whichever store reported it.

import type * as Classification from '@smithy/service-error-classification';
import { StorageError, type StorageErrorCode } from '../errors.js';
import { requireCommonJs } from '../commonjs.js';

/** Service error codes (S3 and OSS spell them alike) → our codes. Checked before anything else. */
const SERVICE_CODES: Record<string, StorageErrorCode> = {
  NoSuchKey: 'NotFound',
  NotFound: 'NotFound',
  AccessDenied: 'PermissionDenied',
  AccessForbidden: 'PermissionDenied',
  AllAccessDisabled: 'PermissionDenied',
  InvalidAccessKeyId: 'PermissionDenied',
  SignatureDoesNotMatch: 'PermissionDenied',
  ExpiredToken: 'PermissionDenied',
  InvalidToken: 'PermissionDenied',
  InvalidSecurityToken: 'PermissionDenied',
  SecurityTokenExpired: 'PermissionDenied',
  TokenRefreshRequired: 'PermissionDenied',
  RequestTimeTooSkewed: 'PermissionDenied',
  AccountProblem: 'PermissionDenied',
  UserDisable: 'PermissionDenied',
  CredentialsProviderError: 'PermissionDenied',
  // The body did not match its Content-MD5 (or payload hash): what arrived is not what was sent.
  BadDigest: 'Corrupt',
  InvalidDigest: 'Corrupt',
  XAmzContentSHA256Mismatch: 'Corrupt',
  IncompleteBody: 'Corrupt',
  // Too large for one object of this store: a property of the request, not a full store (which
  // would count against the pool's health); another pool may take it.
  EntityTooLarge: 'InvalidArgument',
  EntityTooSmall: 'InvalidArgument',
  InvalidArgument: 'InvalidArgument',
  MalformedXML: 'InvalidArgument',
  InvalidObjectName: 'InvalidKey',
  KeyTooLongError: 'InvalidKey',
  QuotaExceeded: 'QuotaExceeded',
  InsufficientStorage: 'QuotaExceeded',
  // Throttling codes of OSS that the SDK's list does not know (S3's SlowDown family it does).
  ServerBusy: 'RateLimited',
  QpsLimitExceeded: 'RateLimited',
  RequestRateLimitExceeded: 'RateLimited',
  TooManyRequests: 'RateLimited',
  ServiceUnavailable: 'RateLimited',
  // Timeouts: the SDK's names, Node's, and ali-oss's (urllib).
  TimeoutError: 'Timeout',
  RequestTimeout: 'Timeout',
  RequestTimeoutException: 'Timeout',
  ETIMEDOUT: 'Timeout',
  ESOCKETTIMEDOUT: 'Timeout',
  ResponseTimeoutError: 'Timeout',
  ConnectionTimeoutError: 'Timeout',
  RequestTimeoutError: 'Timeout',
  InternalError: 'Unavailable',
  ENOMEM: 'QuotaExceeded',
};

/**
 * Connection failures: Unavailable. Looked for among the codes in order, because the SDK renames a
 * reset connection TimeoutError (its name) while the errno code (ECONNRESET) says what happened.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** What a backend's errors.ts extracted from its SDK's error. */
export interface HttpErrorFacts {
  /** Codes the error carries, most specific first (service Code, Node errno code, error name). */
  codes: readonly string[];
  /** The HTTP status, when an answer came. */
  status: number | undefined;
  /**
   * The error in the AWS SDK's shape (`name`, `code`, `$metadata.httpStatusCode`, `$retryable`,
   * `cause`) for the SDK's classifier: the SDK's own error, or one built from another SDK's.
   */
  sdkShaped: unknown;
}

let classification: typeof Classification | undefined;

/** The SDK's classifier, loaded on the first error (not at start-up: most commands never need it). */
function sdk(): typeof Classification {
  return (classification ??= requireCommonJs<typeof Classification>('@smithy/service-error-classification'));
}

/** The StorageError code for an HTTP store's error; retryable follows from the code's default. */
export function classifyHttpError(facts: HttpErrorFacts): StorageErrorCode {
  for (const code of facts.codes) {
    const known = SERVICE_CODES[code];
    if (known !== undefined) return known;
    if (NETWORK_CODES.has(code)) return 'Unavailable';
  }
  const shaped = facts.sdkShaped;
  if (typeof shaped === 'object' && shaped !== null) {
    const { isThrottlingError, isTransientError, isServerError } = sdk();
    const error = shaped as Parameters<typeof isThrottlingError>[0];
    if (isThrottlingError(error)) return 'RateLimited';
    if (isTransientError(error) || isServerError(error)) return facts.status === 503 ? 'RateLimited' : 'Unavailable';
  }
  return codeForStatus(facts.status) ?? 'Internal';
}

function codeForStatus(status: number | undefined): StorageErrorCode | undefined {
  if (status === undefined) return undefined;
  if (status === 404) return 'NotFound';
  if (status === 401 || status === 403) return 'PermissionDenied';
  if (status === 408) return 'Timeout';
  if (status === 413) return 'InvalidArgument';
  if (status === 429 || status === 503) return 'RateLimited';
  if (status === 507) return 'QuotaExceeded';
  if (status >= 500) return 'Unavailable';
  return undefined;
}

/**
 * A listing page that says more follows but gives no (new) continuation token: the listing cannot
 * go on and must not pass for complete. Unavailable (the store misbehaves, against the pool's
 * health), not retryable: asking again gets the same page.
 */
export function truncatedListing(backend: string, prefix: string): StorageError {
  return new StorageError('Unavailable', 'the listing was cut short: a truncated page came without a new continuation token', {
    backend,
    key: prefix,
    retryable: false,
  });
}
