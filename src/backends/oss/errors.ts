// Maps ali-oss errors to StorageError codes. ali-oss reports three kinds: an OSS error document
// (`code` such as NoSuchKey, an HTTP `status`), a body-less HEAD answer (status only, or the
// x-oss-err header decoded into a code), and urllib failures (status -1 network, -2 timeout).

import { StorageError, type StorageErrorCode } from '../../errors.js';
import { redactSecrets } from '../../redact.js';

/** The fields of an ali-oss error this mapping reads; everything else stays on `cause`. */
interface OssErrorFields {
  status: number | undefined;
  code: string | undefined;
  name: string | undefined;
  message: string;
}

const PERMISSION_CODES = new Set([
  'AccessDenied',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'InvalidSecurityToken',
  'SecurityTokenExpired',
  'RequestTimeTooSkewed',
  'AccessForbidden',
  'UserDisable',
]);
const RATE_LIMIT_CODES = new Set(['SlowDown', 'ServerBusy', 'QpsLimitExceeded', 'RequestRateLimitExceeded', 'TooManyRequests']);
const TIMEOUT_NAMES = new Set(['ResponseTimeoutError', 'ConnectionTimeoutError', 'RequestTimeoutError']);
const CORRUPT_CODES = new Set(['InvalidDigest', 'BadDigest', 'IncompleteBody']);
const INVALID_ARGUMENT_CODES = new Set(['InvalidArgument', 'EntityTooLarge', 'MalformedXML']);

function fieldsOf(error: unknown): OssErrorFields {
  const record = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  return {
    status: typeof record.status === 'number' ? record.status : undefined,
    code: typeof record.code === 'string' ? record.code : undefined,
    name: typeof record.name === 'string' ? record.name : undefined,
    message: error instanceof Error ? error.message : String(error),
  };
}

function classify(f: OssErrorFields): { code: StorageErrorCode; retryable?: boolean } {
  if (f.status === -2 || (f.name !== undefined && TIMEOUT_NAMES.has(f.name))) return { code: 'Timeout' };
  if (f.status === -1) return { code: 'Unavailable' };
  if (f.code === 'NoSuchKey') return { code: 'NotFound' };
  // A missing bucket is a broken pool, not a missing object: exists() must not answer false for it.
  if (f.code === 'NoSuchBucket') return { code: 'Unavailable', retryable: false };
  if (f.code !== undefined && PERMISSION_CODES.has(f.code)) return { code: 'PermissionDenied' };
  if (f.code !== undefined && RATE_LIMIT_CODES.has(f.code)) return { code: 'RateLimited' };
  if (f.code !== undefined && CORRUPT_CODES.has(f.code)) return { code: 'Corrupt', retryable: true };
  if (f.code !== undefined && INVALID_ARGUMENT_CODES.has(f.code)) return { code: 'InvalidArgument' };
  if (f.code === 'InvalidObjectName') return { code: 'InvalidKey' };
  if (f.code === 'QuotaExceeded' || f.status === 507) return { code: 'QuotaExceeded' };
  if (f.status === 404) return { code: 'NotFound' };
  if (f.status === 401 || f.status === 403) return { code: 'PermissionDenied' };
  if (f.status === 429 || f.status === 503) return { code: 'RateLimited' };
  if (f.status !== undefined && f.status >= 500) return { code: 'Unavailable' };
  return { code: 'Internal' };
}

/**
 * The first line of a native message with the given secrets and any URL credentials blanked:
 * urllib appends response headers on later lines, and nothing here may leak a secret.
 */
export function scrubMessage(message: string, secrets: readonly (string | undefined)[]): string {
  const line = redactSecrets(message.split('\n')[0] ?? '', secrets);
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

/** An ali-oss error as a StorageError; `action` says what was being done (`head`, `list`...). */
export function mapOssError(
  error: unknown,
  context: { action: string; key: string | undefined; secrets: readonly (string | undefined)[] },
): StorageError {
  if (error instanceof StorageError) return error;
  const f = fieldsOf(error);
  const { code, retryable } = classify(f);
  const what = [f.code ?? f.name, f.status !== undefined && f.status > 0 ? `HTTP ${f.status}` : undefined]
    .filter((part) => part !== undefined)
    .join(', ');
  const detail = `OSS ${context.action} failed${what === '' ? '' : ` (${what})`}: ${scrubMessage(f.message, context.secrets)}`;
  return new StorageError(code, detail, { backend: 'oss', key: context.key, cause: error, retryable });
}
