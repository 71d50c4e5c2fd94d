// The timeout layer: every attempt of a backend call gets a deadline, so a server that accepts a
// connection but never answers cannot hang a command. A listing gets the deadline per page.
//
// The contract (what callers above rely on):
// - Each attempt runs under its own AbortController, linked to the caller's signal. When the
//   deadline fires the attempt is aborted (reason: a Timeout StorageError); when the caller's
//   signal fires it is aborted too, and the call rejects with Interrupted (or with the signal's
//   reason when that is a StorageError).
// - The layer's promise settles only AFTER the inner call settled, aborted or not: a caller may
//   then reuse a buffer it lent (a write's data, a read's `into`), and the retry layer above never
//   starts another attempt while the abandoned one might still land, so a late write can never
//   land after a newer write of the same key.
// - Backends honour abort promptly, so that wait is short. It is bounded all the same, by
//   ABORT_GRACE_MS: an attempt that has not settled by then is left behind, and the call rejects
//   with a non-retryable error for which mayStillBeRunning() is true (its lent buffer must not be
//   reused). One call thus takes at most its deadline + ABORT_GRACE_MS per attempt.

import { isStorageError, StorageError } from '../errors.js';
import type { StorageBackend } from '../backends/types.js';
import type { ListingAround } from './wrap.js';
import { wrapBackend } from './wrap.js';

/** How long an aborted attempt may take to settle before the layer stops waiting for it. */
export const ABORT_GRACE_MS = 2000;

/** The cause of an error whose attempt did not stop within ABORT_GRACE_MS after it was aborted. */
class AttemptStillRunning extends Error {
  override readonly name = 'AttemptStillRunning';
}

/**
 * True when the attempt behind `error` was given up but had not settled: what it was lent may
 * still be in use, and what it wrote may still land.
 */
export function mayStillBeRunning(error: unknown): boolean {
  return isStorageError(error) && error.cause instanceof AttemptStillRunning;
}

/** The error a call rejects with when its caller's signal fired. */
export function interruptedBy(signal: AbortSignal, what: string): StorageError {
  const reason: unknown = signal.reason;
  return isStorageError(reason) ? reason : new StorageError('Interrupted', `${what} was interrupted`, { cause: reason });
}

/**
 * Runs one attempt under a deadline of `ms`, aborting it (and then waiting for it to settle) when
 * the deadline or the caller's signal fires. See the contract at the top of this file.
 */
export function withDeadline<T>(
  ms: number,
  describe: () => string,
  callerSignal: AbortSignal | undefined,
  run: (signal: AbortSignal) => Promise<T>,
  controller: AbortController = new AbortController(),
): Promise<T> {
  if (callerSignal?.aborted === true) return Promise.reject(interruptedBy(callerSignal, describe()));
  return new Promise<T>((resolve, reject) => {
    let givenUp: StorageError | undefined;
    let grace: NodeJS.Timeout | undefined;
    const giveUp = (error: StorageError): void => {
      if (givenUp !== undefined) return;
      givenUp = error;
      clearTimeout(deadline);
      if (!controller.signal.aborted) controller.abort(error);
      grace = setTimeout(() => {
        const detail = `${error.detail}, and did not stop within ${ABORT_GRACE_MS} ms of being aborted`;
        reject(new StorageError(error.code, detail, { retryable: false, cause: new AttemptStillRunning(detail) }));
      }, ABORT_GRACE_MS);
      grace.unref();
    };
    const onCallerAbort = (): void => giveUp(interruptedBy(callerSignal!, describe()));
    const deadline = setTimeout(() => giveUp(new StorageError('Timeout', `${describe()} did not answer within ${ms} ms`)), ms);
    deadline.unref();
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    const settled = (): void => {
      clearTimeout(deadline);
      clearTimeout(grace);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    };
    let inner: Promise<T>;
    try {
      inner = run(controller.signal);
    } catch (error) {
      inner = Promise.reject(error);
    }
    inner.then(
      (value) => {
        settled();
        if (givenUp === undefined) resolve(value);
        else reject(givenUp);
      },
      (error: unknown) => {
        settled();
        reject(givenUp ?? error);
      },
    );
  });
}

/**
 * A listing's pages each under the deadline. One controller covers the walk (the inner listing
 * holds one signal); a page that misses its deadline aborts the listing, which is then over.
 */
function listingUnderDeadline(ms: number, what: string, callerSignal: AbortSignal | undefined): ListingAround {
  const controller = new AbortController();
  const forward = (): void => controller.abort(interruptedBy(callerSignal!, what));
  if (callerSignal?.aborted === true) forward();
  else callerSignal?.addEventListener('abort', forward, { once: true });
  return {
    signal: controller.signal,
    page: (next) => withDeadline(ms, () => what, callerSignal, () => next(), controller),
    end: () => callerSignal?.removeEventListener('abort', forward),
  };
}

export function timeoutLayer(backend: StorageBackend, timeoutMs: number): StorageBackend {
  return wrapBackend(backend, {
    call: (op, key, signal, run) => withDeadline(timeoutMs, () => `${op} ${key ?? ''}`.trim(), signal, run),
    listing: (kind, key, signal) => listingUnderDeadline(timeoutMs, `${kind === 'list' ? 'list' : 'read'} ${key}`, signal),
  });
}
