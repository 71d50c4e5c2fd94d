// The timeout layer: every backend call gets a deadline, so a server that accepts a connection but
// never answers cannot hang a command. A listing gets the deadline per page, not for the whole walk.

import { StorageError } from '../errors.js';
import type { StorageBackend } from '../backends/types.js';
import { wrapBackend } from './wrap.js';

export function withDeadline<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageError('Timeout', `${describe()} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export function timeoutLayer(backend: StorageBackend, timeoutMs: number): StorageBackend {
  return wrapBackend(backend, {
    call: (op, key, run) => withDeadline(run(), timeoutMs, () => `${op} ${key ?? ''}`.trim()),
    page: (prefix, next) => withDeadline(next(), timeoutMs, () => `list ${prefix}`),
  });
}
