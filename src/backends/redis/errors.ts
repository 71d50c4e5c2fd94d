// Maps ioredis and Redis server errors to StorageError codes for the Redis backend, and keeps the
// password of the connection URL out of every message.

import { StorageError, type StorageErrorCode } from '../../errors.js';
import { redactSecrets } from '../../redact.js';

/** What the mapper knows about the connection beyond the error itself. */
export interface RedisErrorContext {
  /** host:port (never the URL: it may hold a password). */
  readonly address: string;
  /** Strings to scrub from messages (the password, raw and percent-decoded). */
  readonly secrets: readonly string[];
  /** The last error the connection itself reported, which explains a "max retries" or "closed". */
  readonly lastConnectionError: Error | undefined;
}

const NETWORK_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** Server reply prefixes (the first word of a Redis error) → code. */
const REPLY_CODES: Record<string, StorageErrorCode> = {
  NOAUTH: 'PermissionDenied',
  WRONGPASS: 'PermissionDenied',
  NOPERM: 'PermissionDenied',
  OOM: 'QuotaExceeded',
  LOADING: 'Unavailable',
  BUSY: 'Unavailable',
  MASTERDOWN: 'Unavailable',
  TRYAGAIN: 'Unavailable',
  READONLY: 'Unavailable',
  CLUSTERDOWN: 'Unavailable',
};

/** Messages ioredis itself produces when it has no usable connection (the last four: a cluster's). */
const CONNECTION_LOST = [
  /^Connection is closed/,
  /^Stream isn't writeable/,
  /^Reached the max retries per request limit/,
  /^Too many Cluster redirections/,
  /^Failed to refresh slots cache/,
  /^None of startup nodes is available/,
  /^Cluster isn't ready/,
];

function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The code for one native error, or undefined when it says nothing specific. */
function codeOf(error: unknown): StorageErrorCode | undefined {
  const message = messageOf(error);
  const word = /^[A-Z]+/.exec(message)?.[0];
  if (word !== undefined && REPLY_CODES[word] !== undefined) return REPLY_CODES[word];
  // Errors raised inside a script keep the server's wording after "ERR Error running script ...".
  if (/\bOOM command not allowed\b/.test(message)) return 'QuotaExceeded';
  if (/\b(NOAUTH|WRONGPASS|NOPERM)\b/.test(message)) return 'PermissionDenied';
  // A value over proto-max-bulk-len: too large for one object here (as S3/OSS EntityTooLarge).
  if (/\b(invalid bulk length|string exceeds maximum allowed size)\b/.test(message)) return 'InvalidArgument';
  if (message === 'Command timed out') return 'Timeout';
  const native = errno(error);
  if (native === 'ETIMEDOUT') return 'Timeout';
  if (native !== undefined && NETWORK_ERRNOS.has(native)) return 'Unavailable';
  return undefined;
}

export function mapRedisError(error: unknown, key: string | undefined, context: RedisErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  let code = codeOf(error);
  let detail = messageOf(error);
  if (code === undefined && CONNECTION_LOST.some((pattern) => pattern.test(detail))) {
    // ioredis reports "max retries" or "closed" for every failure to connect; the reason is in the
    // connection's own last error (refused, wrong password...), so that decides the code.
    const reason = context.lastConnectionError;
    const reasonCode = reason === undefined ? undefined : codeOf(reason);
    code = reasonCode === 'PermissionDenied' ? 'PermissionDenied' : 'Unavailable';
    detail = `cannot use redis at ${context.address}: ${reason === undefined ? detail : messageOf(reason)}`;
  } else if (code === 'Unavailable' || code === 'Timeout') {
    detail = `redis at ${context.address}: ${detail}`;
  }
  return new StorageError(code ?? 'Internal', redactSecrets(detail, context.secrets), { backend: 'redis', key, cause: error });
}
