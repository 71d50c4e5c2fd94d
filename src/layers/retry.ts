// The retry layer: retries errors marked retryable (Unavailable, Timeout, RateLimited) with
// exponential backoff and jitter. Every backend operation is idempotent (whole-object writes), so
// each call but list may be retried. Backends whose SDK retries by itself (capabilities.nativeRetry) skip this layer.

import { isStorageError } from '../errors.js';
import type { StorageBackend } from '../backends/types.js';
import { wrapBackend } from './wrap.js';

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  /** First delay; each next one doubles, with full jitter. */
  baseDelayMs: number;
}

export async function retrying<T>(policy: RetryPolicy, run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= policy.retries || !isStorageError(error) || !error.retryable) throw error;
      const delay = Math.random() * policy.baseDelayMs * 2 ** attempt;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export function retryLayer(backend: StorageBackend, policy: RetryPolicy): StorageBackend {
  if (policy.retries === 0 || backend.capabilities.nativeRetry) return backend;
  return wrapBackend(backend, {
    call: (_op, _key, run) => retrying(policy, run),
    // A failed listing is not retried here: the iterator is spent, and a retry part way through would
    // repeat entries. Callers see the failure and decide (cleanup then deletes nothing).
    page: (_prefix, next) => next(),
  });
}
