// Maps ali-oss errors to StorageError codes. ali-oss reports three kinds: an OSS error document
// (`code` such as NoSuchKey, an HTTP `status`), a body-less HEAD answer (status only, or the
// x-oss-err header decoded into a code), and urllib failures (status -1 network, -2 timeout).

import { StorageError, type StorageErrorCode } from '../../errors.js';
import { redactSecrets } from '../../redact.js';
import { classifyHttpError } from '../http-errors.js';

/** The fields of an ali-oss error this mapping reads; everything else stays on `cause`. */
interface OssErrorFields {
  status: number | undefined;
  code: string | undefined;
  name: string | undefined;
  message: string;
}

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
  // urllib's own failures: -2 a timeout, -1 a network error (no answer came; its code or name may say more).
  if (f.status === -2) return { code: 'Timeout' };
  // A missing bucket is a broken pool, not a missing object: exists() must not answer false for it.
  if (f.code === 'NoSuchBucket') return { code: 'Unavailable', retryable: false };
  const status = f.status !== undefined && f.status > 0 ? f.status : undefined;
  const codes = [f.code, f.name].filter((c): c is string => c !== undefined);
  // The AWS SDK's shape, for the shared classifier's use of the SDK's own rules.
  const sdkShaped = { name: f.code ?? f.name ?? 'Error', code: f.code, message: f.message, $metadata: { httpStatusCode: status } };
  const code = classifyHttpError({ codes, status, sdkShaped });
  return { code: code === 'Internal' && f.status === -1 ? 'Unavailable' : code };
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
