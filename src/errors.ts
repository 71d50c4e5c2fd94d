// The one error class of flux-storage: a closed set of codes, a retryable flag, the native error
// kept as `cause`, and a message that names the pool, backend and key it concerns.

export const ERROR_CODES = [
  'NotFound',
  'InvalidKey',
  'InvalidArgument',
  'ConfigInvalid',
  'Unavailable',
  'Timeout',
  'RateLimited',
  'PermissionDenied',
  'Unsupported',
  'QuotaExceeded',
  'Corrupt',
  'Interrupted',
  'Internal',
] as const;

export type StorageErrorCode = (typeof ERROR_CODES)[number];

export interface StorageErrorContext {
  /** The pool the operation ran against, when there is one. */
  pool?: string;
  /** The backend type (local, s3, oss, redis). */
  backend?: string;
  /** The key (or prefix) the operation concerned. */
  key?: string;
  /** Whether the same call may succeed if tried again. Defaults by code. */
  retryable?: boolean;
  /** The native error. */
  cause?: unknown;
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<StorageErrorCode> = new Set(['Unavailable', 'Timeout', 'RateLimited']);

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;
  readonly retryable: boolean;
  readonly pool: string | undefined;
  readonly backend: string | undefined;
  readonly key: string | undefined;
  /** The message without the pool/backend/key context. */
  readonly detail: string;

  constructor(code: StorageErrorCode, detail: string, context: StorageErrorContext = {}) {
    super(formatMessage(detail, context), context.cause === undefined ? undefined : { cause: context.cause });
    this.code = code;
    this.detail = detail;
    this.retryable = context.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.pool = context.pool;
    this.backend = context.backend;
    this.key = context.key;
  }

  /** The same error with more context (for example the pool name, added by the pool layer). */
  withContext(context: Omit<StorageErrorContext, 'cause' | 'retryable'>): StorageError {
    return new StorageError(this.code, this.detail, {
      pool: context.pool ?? this.pool,
      backend: context.backend ?? this.backend,
      key: context.key ?? this.key,
      retryable: this.retryable,
      cause: this.cause,
    });
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.pool === undefined ? {} : { pool: this.pool }),
      ...(this.backend === undefined ? {} : { backend: this.backend }),
      ...(this.key === undefined ? {} : { key: this.key }),
    };
  }
}

function formatMessage(detail: string, context: StorageErrorContext): string {
  const where: string[] = [];
  if (context.pool !== undefined) {
    where.push(context.backend === undefined ? `pool "${context.pool}"` : `pool "${context.pool}" (${context.backend})`);
  } else if (context.backend !== undefined) {
    where.push(`${context.backend} backend`);
  }
  if (context.key !== undefined) where.push(`key "${context.key}"`);
  return where.length === 0 ? detail : `${where.join(', ')}: ${detail}`;
}

export function isStorageError(error: unknown, code?: StorageErrorCode): error is StorageError {
  return error instanceof StorageError && (code === undefined || error.code === code);
}

/** Any thrown value as a StorageError; errors that are not ours become Internal with the cause kept. */
export function toStorageError(error: unknown, context: StorageErrorContext = {}): StorageError {
  if (error instanceof StorageError) return error.withContext(context);
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError('Internal', message, { ...context, cause: error });
}
