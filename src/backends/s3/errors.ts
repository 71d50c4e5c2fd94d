// Maps AWS SDK (and Node network) errors to StorageError codes for the S3 backend, and keeps
// credentials out of every message. What a code means is decided by the shared HTTP classifier.

import { StorageError, type StorageErrorCode } from '../../errors.js';
import { redactSecrets } from '../../redact.js';
import { classifyHttpError } from '../http-errors.js';

/** What an SDK error (or a Node one, or one of the Errors entries of DeleteObjects) carries. */
interface NativeErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  errno?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
  errors?: unknown;
}

function field(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The codes an error carries, most specific first: the S3 Code, Node's errno code, then the name
 * (the SDK renames ECONNRESET/EPIPE to TimeoutError, so the errno code must win). Causes and the
 * first error of an AggregateError (a failed multi-address connect) are looked into as well.
 */
function nativeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let e = error;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const shape = e as NativeErrorShape;
    for (const value of [shape.Code, shape.code, shape.name]) {
      const code = field(value);
      if (code !== undefined && code !== 'Error' && code !== 'AggregateError' && !codes.includes(code)) codes.push(code);
    }
    e = shape.cause ?? (Array.isArray(shape.errors) ? (shape.errors[0] as unknown) : undefined);
  }
  return codes;
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as NativeErrorShape).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

export interface S3ErrorContext {
  /** The key or prefix the operation concerned. */
  key?: string | undefined;
  bucket: string;
  /** Values that must never appear in a message (access key id, secret, session token). */
  secrets: readonly string[];
}

export function mapS3Error(error: unknown, context: S3ErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const codes = nativeCodes(error);
  const status = httpStatus(error);
  let code: StorageErrorCode = classifyHttpError({ codes, status, sdkShaped: error });
  let retryable: boolean | undefined;
  let detail = describe(error, codes, status);
  // A missing bucket is a broken pool, not a missing object: "absent" must never be reported for it.
  if (codes.includes('NoSuchBucket')) {
    code = 'Unavailable';
    retryable = false;
    detail = `the bucket "${context.bucket}" does not exist (${detail})`;
  }
  return new StorageError(code, redactSecrets(detail, context.secrets), { backend: 's3', key: context.key, cause: error, retryable });
}

function describe(error: unknown, codes: readonly string[], status: number | undefined): string {
  const message = error instanceof Error ? error.message : typeof error === 'object' && error !== null ? field((error as NativeErrorShape).message) : String(error);
  const label = [codes[0], status === undefined ? undefined : `HTTP ${status}`].filter((part) => part !== undefined).join(', ');
  const text = message === undefined || message === '' || message === 'UnknownError' || message === codes[0] ? undefined : message;
  if (text === undefined) return label === '' ? 'unknown S3 error' : label;
  return label === '' ? text : `${text} (${label})`;
}
