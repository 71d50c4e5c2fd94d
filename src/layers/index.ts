// The order of the layers around a backend, fixed here and nowhere else, outermost first:
//   scope   → ties every call to the owner's signal (Ctrl-C), besides the call's own
//   retry   → retries retryable failures with backoff; never once the caller's signal fired
//   limit   → at most capabilities.maxInFlight calls at once, queued before the deadline starts
//   timeout → one deadline and one AbortController per attempt; settles only after the attempt did
// So each attempt gets its own deadline, counted from when it got its slot. Metrics and health are
// kept by the StoragePool, outside all of them.
//
// The time of one call is bounded by the pool's settings: (1 + retries) × timeoutMs for the
// attempts, plus at most maxBackoffMs() of backoff (100 ms × (2^retries − 1): 300 ms by default),
// plus the wait for a slot where the backend limits calls in flight. With the defaults
// (timeoutMs 15000, retries 2) a call against a silent server gives up after about 45.3 s.

import type { StorageBackend } from '../backends/types.js';
import { limitLayer } from './limit.js';
import { retryLayer } from './retry.js';
import { scopeLayer } from './scope.js';
import { timeoutLayer } from './timeout.js';

export interface LayerOptions {
  /** Deadline of one attempt of a backend call (and of one listing page). */
  timeoutMs: number;
  /** Retries of retryable failures, for backends that do not retry by themselves. */
  retries: number;
  /** Every call is aborted when this fires (the owner's: a CLI's Ctrl-C), besides its own signal. */
  signal?: AbortSignal | undefined;
}

/** First backoff delay of the retry layer; each next one doubles, with full jitter. */
export const RETRY_BASE_DELAY_MS = 100;

export function applyLayers(backend: StorageBackend, options: LayerOptions): StorageBackend {
  const attempts = timeoutLayer(backend, options.timeoutMs);
  const retried = retryLayer(limitLayer(attempts), { retries: options.retries, baseDelayMs: RETRY_BASE_DELAY_MS });
  return scopeLayer(retried, options.signal);
}

export { maxBackoffMs, retrying } from './retry.js';
export { ABORT_GRACE_MS, mayStillBeRunning, withDeadline } from './timeout.js';
