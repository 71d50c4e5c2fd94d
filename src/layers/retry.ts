// The retry layer: retries errors marked retryable (Unavailable, Timeout, RateLimited) with
// exponential backoff and jitter. Every backend operation is idempotent (whole-object writes), so
// each call but list may be retried. Backends whose SDK retries by itself (capabilities.nativeRetry)
// skip this layer. Nothing is retried once the caller's signal fired, and a backoff sleep ends the
// moment it fires (the call then rejects with Interrupted).

import { isStorageError } from '../errors.js';
import type { StorageBackend } from '../backends/types.js';
import { interruptedBy } from './timeout.js';
import { passListing, wrapBackend } from './wrap.js';

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  /** First delay; each next one doubles, with full jitter. */
  baseDelayMs: number;
}

/** The longest all backoff sleeps of one call can take together: base × (2^retries − 1). */
export function maxBackoffMs(policy: RetryPolicy): number {
  return policy.baseDelayMs * (2 ** policy.retries - 1);
}

export async function retrying<T>(policy: RetryPolicy, run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (aborted(signal)) throw interruptedBy(signal!, 'the call');
    try {
      return await run();
    } catch (error) {
      if (aborted(signal) || attempt >= policy.retries || !isStorageError(error) || !error.retryable) throw error;
      await sleep(Math.random() * policy.baseDelayMs * 2 ** attempt, signal);
    }
  }
}

/** A function, not `signal?.aborted`, so the check after an await is not narrowed away. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Waits `ms`, or rejects with Interrupted as soon as `signal` fires. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(interruptedBy(signal!, 'the call'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function retryLayer(backend: StorageBackend, policy: RetryPolicy): StorageBackend {
  if (policy.retries === 0 || backend.capabilities.nativeRetry) return backend;
  return wrapBackend(backend, {
    call: (_op, _key, signal, run) => retrying(policy, () => run(signal), signal),
    // A failed listing or streamed read is not retried here: the iterator is spent, and a retry part
    // way through would repeat entries or bytes. Callers see the failure and decide (cleanup then
    // deletes nothing; serve ends the response).
    listing: (_kind, _key, signal) => passListing(signal),
  });
}
