// What every backend does with a call's AbortSignal (CallOptions.signal): the error an aborted call
// rejects with, and a race for clients that cannot be told to stop (ioredis, ali-oss).

import { isStorageError, StorageError, type StorageErrorContext } from '../errors.js';

/**
 * The error of a call aborted by `signal`: its reason when that is a StorageError (the timeout
 * layer aborts with a Timeout), Interrupted otherwise (the caller gave up).
 */
export function abortError(signal: AbortSignal, context: Omit<StorageErrorContext, 'cause' | 'retryable'> = {}): StorageError {
  const reason: unknown = signal.reason;
  if (isStorageError(reason)) return reason.withContext(context);
  return new StorageError('Interrupted', 'interrupted', { ...context, cause: reason });
}

/** Throws the abort error when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, context?: Omit<StorageErrorContext, 'cause' | 'retryable'>): void {
  if (signal?.aborted === true) throw abortError(signal, context);
}

/**
 * `promise`, or the abort error as soon as `signal` fires (after `onAbort`, which gives the
 * request up: destroys its socket). The promise is still awaited in the background, so its late
 * failure is never unhandled.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  context?: Omit<StorageErrorContext, 'cause' | 'retryable'>,
  onAbort?: () => void,
): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort?.();
      reject(abortError(signal, context));
    };
    if (signal.aborted) {
      abort();
    } else {
      signal.addEventListener('abort', abort, { once: true });
    }
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}
