// The order of the layers around a backend, fixed here and nowhere else: retry outside timeout, so
// each attempt gets its own deadline. Metrics and health are kept by the StoragePool, outside both.

import type { StorageBackend } from '../backends/types.js';
import { retryLayer } from './retry.js';
import { timeoutLayer } from './timeout.js';

export interface LayerOptions {
  /** Deadline of one backend call (and of one listing page). */
  timeoutMs: number;
  /** Retries of retryable failures, for backends that do not retry by themselves. */
  retries: number;
}

export function applyLayers(backend: StorageBackend, options: LayerOptions): StorageBackend {
  return retryLayer(timeoutLayer(backend, options.timeoutMs), { retries: options.retries, baseDelayMs: 100 });
}

export { retrying } from './retry.js';
export { withDeadline } from './timeout.js';
