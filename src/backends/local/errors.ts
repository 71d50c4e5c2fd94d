// Maps Node filesystem errors to StorageError codes for the local backend.

import { StorageError, type StorageErrorCode } from '../../errors.js';

const CODES: Record<string, StorageErrorCode> = {
  ENOENT: 'NotFound',
  EACCES: 'PermissionDenied',
  EPERM: 'PermissionDenied',
  EROFS: 'PermissionDenied',
  ENOSPC: 'QuotaExceeded',
  EDQUOT: 'QuotaExceeded',
  // Larger than one file may be here: a property of the request (as S3/OSS EntityTooLarge), not a full disk.
  EFBIG: 'InvalidArgument',
  EMFILE: 'Unavailable',
  ENFILE: 'Unavailable',
  EAGAIN: 'Unavailable',
  EBUSY: 'Unavailable',
  EIO: 'Unavailable',
  ENOTDIR: 'Unavailable',
  EEXIST: 'Unavailable',
  EISDIR: 'Unavailable',
};

export function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

export function mapLocalError(error: unknown, key: string | undefined): StorageError {
  if (error instanceof StorageError) return error;
  const errno = errnoCode(error) ?? '';
  const code = CODES[errno] ?? 'Internal';
  const detail = error instanceof Error ? error.message : String(error);
  return new StorageError(code, detail, { backend: 'local', key, cause: error });
}
