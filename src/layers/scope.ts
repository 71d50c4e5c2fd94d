// The scope layer: ties every call of a pool to one signal of its owner (the CLI's, fired by
// Ctrl-C, SIGTERM or SIGHUP), in addition to the call's own signal, so nothing a command started
// outlives its interruption.

import { setMaxListeners } from 'node:events';
import type { StorageBackend } from '../backends/types.js';
import { wrapBackend } from './wrap.js';

function either(scope: AbortSignal, own: AbortSignal | undefined): AbortSignal {
  return own === undefined ? scope : AbortSignal.any([scope, own]);
}

export function scopeLayer(backend: StorageBackend, scope: AbortSignal | undefined): StorageBackend {
  if (scope === undefined) return backend;
  // Every call in flight listens to the scope (16 at once in a migrate): not a leak, and Node's
  // warning past 10 listeners would reach the stderr of every cron run.
  setMaxListeners(0, scope);
  return wrapBackend(backend, {
    call: (_op, _key, signal, run) => run(either(scope, signal)),
    listing: (_kind, _key, signal) => ({ signal: either(scope, signal), page: (next) => next(), end: () => undefined }),
  });
}
