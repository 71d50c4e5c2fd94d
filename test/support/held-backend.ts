// A backend whose calls the test holds open and settles (the layers' tests, test/unit/layers*.test.ts):
// it stands for a server that answers when the test says so, or never.

import type { BackendCapabilities, CallOptions, ObjectInfo, StorageBackend } from '../../src/backends/types.js';

export interface Attempt {
  key: string;
  signal: AbortSignal | undefined;
  startedAt: number;
  settledAt: number | undefined;
  settle(error?: Error): void;
}

/**
 * A backend whose calls the test holds open and settles: each call is an Attempt, which settles
 * `settleDelayMs` after its signal fires (a backend that honours abort, a little late) or never
 * when `ignoreAbort` is set.
 */
export class HeldBackend implements StorageBackend {
  readonly type = 'held';
  readonly capabilities: BackendCapabilities;
  readonly attempts: Attempt[] = [];
  /** The signal each list() was given, in call order. */
  readonly listSignals: (AbortSignal | undefined)[] = [];
  closed = 0;
  constructor(
    private readonly behaviour: {
      settleDelayMs?: number;
      ignoreAbort?: boolean;
      failWith?: () => Error;
      maxInFlight?: number;
      nativeRetry?: boolean;
      /** Entries of a listing, each page a held attempt (`<prefix>page`, `<prefix>page2`, ...); 1 by default. */
      pages?: number;
      /** The listing's iterator has no return(), as a backend's may lack. */
      bareIterator?: boolean;
    } = {},
  ) {
    this.capabilities = {
      batchDelete: false,
      maxBatchDelete: 1,
      ttl: false,
      usage: false,
      md5: false,
      checksWriteMd5: false,
      nativeRetry: behaviour.nativeRetry ?? false,
      orderedList: false,
      maxInFlight: behaviour.maxInFlight,
      streamRead: true,
    };
  }

  private hold<T>(key: string, options: CallOptions | undefined, value: T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const failure = this.behaviour.failWith;
      const attempt: Attempt = {
        key,
        signal: options?.signal,
        startedAt: performance.now(),
        settledAt: undefined,
        settle: (error) => {
          if (attempt.settledAt !== undefined) return;
          attempt.settledAt = performance.now();
          if (error === undefined) resolve(value);
          else reject(error);
        },
      };
      this.attempts.push(attempt);
      if (failure !== undefined) {
        attempt.settle(failure());
        return;
      }
      if (this.behaviour.ignoreAbort === true) return;
      options?.signal?.addEventListener('abort', () => {
        setTimeout(() => attempt.settle(options.signal!.reason as Error), this.behaviour.settleDelayMs ?? 0);
      });
    });
  }

  write(key: string, _data: Uint8Array, options?: CallOptions) {
    return this.hold(key, options, {});
  }
  read(key: string, options?: CallOptions) {
    return this.hold(key, options, Buffer.from('x'));
  }
  delete(key: string, options?: CallOptions) {
    return this.hold(key, options, undefined);
  }
  deleteMany(keys: readonly string[], options?: CallOptions) {
    return this.hold('*', options, { deleted: [...keys], failed: [] });
  }
  exists(key: string, options?: CallOptions) {
    return this.hold(key, options, true);
  }
  stat(key: string, options?: CallOptions) {
    return this.hold(key, options, { key, size: 1, modified: new Date() });
  }
  usage(options?: CallOptions) {
    return this.hold('usage', options, { usedBytes: null, totalBytes: null });
  }
  list(prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo> {
    const self = this;
    this.listSignals.push(options?.signal);
    const pages = this.behaviour.pages ?? 1;
    const entries = (async function* () {
      for (let page = 1; page <= pages; page++) {
        yield await self.hold(`${prefix}page${page === 1 ? '' : page}`, options, { key: `${prefix}${page === 1 ? 'a' : page}.ts`, size: 1, modified: new Date() });
      }
    })();
    if (this.behaviour.bareIterator !== true) return entries;
    return { [Symbol.asyncIterator]: () => ({ next: () => entries.next() }) };
  }
  /** Two chunks, each a held attempt of its own (`<key>#0`, `<key>#1`). */
  readStream(key: string, options?: CallOptions): AsyncIterable<Uint8Array> {
    const self = this;
    return (async function* () {
      yield await self.hold(`${key}#0`, options, Buffer.from('a'));
      yield await self.hold(`${key}#1`, options, Buffer.from('b'));
    })();
  }
  async close() {
    this.closed++;
  }
}

