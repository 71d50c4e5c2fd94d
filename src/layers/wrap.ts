// The one place that knows how to wrap every method of a backend, so that each layer (scope,
// retry, limit, timeout) states only what it does around a call and around a listing.

import type { CallOptions, ObjectInfo, StorageBackend } from '../backends/types.js';

export type Operation = 'write' | 'read' | 'delete' | 'deleteMany' | 'exists' | 'stat' | 'usage' | 'list';

/** What a layer does around one listing. */
export interface ListingAround {
  /** The signal the inner listing is given (it covers the whole walk). */
  signal: AbortSignal | undefined;
  /** Around the fetch of each listing entry; pageIndex counts from 0. */
  page(next: () => Promise<IteratorResult<ObjectInfo>>, pageIndex: number): Promise<IteratorResult<ObjectInfo>>;
  /** The listing ended (done, failed or given up by its reader). */
  end(): void;
}

export interface Around {
  /**
   * Around each call but list; `key` is the key, or undefined for usage and deleteMany. `signal`
   * is the caller's; `run` calls the inner backend with the signal the layer passes on.
   */
  call<T>(op: Operation, key: string | undefined, signal: AbortSignal | undefined, run: (signal: AbortSignal | undefined) => Promise<T>): Promise<T>;
  /** Around one listing, from the caller's signal. */
  listing(prefix: string, signal: AbortSignal | undefined): ListingAround;
}

/** A listing layer that only passes the caller's signal on. */
export function passListing(signal: AbortSignal | undefined): ListingAround {
  return { signal, page: (next) => next(), end: () => undefined };
}

function withSignal<O extends CallOptions>(options: O | undefined, signal: AbortSignal | undefined): O | undefined {
  if (signal === options?.signal) return options;
  return { ...options, signal } as O;
}

export function wrapBackend(inner: StorageBackend, around: Around): StorageBackend {
  return {
    type: inner.type,
    capabilities: inner.capabilities,
    write: (key, data, options) => around.call('write', key, options?.signal, (signal) => inner.write(key, data, withSignal(options, signal))),
    read: (key, options) => around.call('read', key, options?.signal, (signal) => inner.read(key, withSignal(options, signal))),
    delete: (key, options) => around.call('delete', key, options?.signal, (signal) => inner.delete(key, withSignal(options, signal))),
    deleteMany: (keys, options) => around.call('deleteMany', undefined, options?.signal, (signal) => inner.deleteMany(keys, withSignal(options, signal))),
    exists: (key, options) => around.call('exists', key, options?.signal, (signal) => inner.exists(key, withSignal(options, signal))),
    stat: (key, options) => around.call('stat', key, options?.signal, (signal) => inner.stat(key, withSignal(options, signal))),
    usage: (options) => around.call('usage', undefined, options?.signal, (signal) => inner.usage(withSignal(options, signal))),
    close: () => inner.close(),
    list: (prefix, options) => ({
      [Symbol.asyncIterator]() {
        const listing = around.listing(prefix, options?.signal);
        const iterator = inner.list(prefix, withSignal(options, listing.signal))[Symbol.asyncIterator]();
        let index = 0;
        let ended = false;
        const end = (): void => {
          if (ended) return;
          ended = true;
          listing.end();
        };
        return {
          next: async () => {
            try {
              const result = await listing.page(() => iterator.next(), index++);
              if (result.done === true) end();
              return result;
            } catch (error) {
              end();
              throw error;
            }
          },
          return: async (value?: unknown) => {
            end();
            return (await iterator.return?.(value)) ?? { done: true, value: undefined };
          },
        };
      },
    }),
  };
}
