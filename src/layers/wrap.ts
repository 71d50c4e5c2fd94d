// The one place that knows how to wrap every method of a backend, so that each layer (scope,
// retry, limit, timeout) states only what it does around a call and around a sequence: a listing
// (pages of entries) or a streamed read (chunks of bytes).

import type { CallOptions, ObjectInfo, StorageBackend } from '../backends/types.js';

export type Operation = 'write' | 'read' | 'delete' | 'deleteMany' | 'exists' | 'stat' | 'usage' | 'list';

/** A listing yields entries page by page; a streamed read yields chunks and holds its request throughout. */
export type SequenceKind = 'list' | 'readStream';

/** What a layer does around one listing or streamed read. */
export interface ListingAround {
  /** The signal the inner sequence is given (it covers the whole walk or read). */
  signal: AbortSignal | undefined;
  /** Around the fetch of each item (entry or chunk); pageIndex counts from 0. */
  page<T>(next: () => Promise<IteratorResult<T>>, pageIndex: number): Promise<IteratorResult<T>>;
  /** The sequence ended (done, failed or given up by its reader). */
  end(): void;
}

export interface Around {
  /**
   * Around each call but list; `key` is the key, or undefined for usage and deleteMany. `signal`
   * is the caller's; `run` calls the inner backend with the signal the layer passes on.
   */
  call<T>(op: Operation, key: string | undefined, signal: AbortSignal | undefined, run: (signal: AbortSignal | undefined) => Promise<T>): Promise<T>;
  /** Around one listing or streamed read of `key` (a prefix for a listing), from the caller's signal. */
  listing(kind: SequenceKind, key: string, signal: AbortSignal | undefined): ListingAround;
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
  // A backend that lists by pages is wrapped per page; its list() is then those pages, flattened.
  const listPages =
    inner.listPages === undefined
      ? undefined
      : (prefix: string, options?: CallOptions): AsyncIterable<ObjectInfo[]> => wrapSequence(around, 'list', prefix, options, (o) => inner.listPages!(prefix, o));
  return {
    ...(listPages === undefined ? {} : { listPages }),
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
    list: (prefix, options) =>
      listPages === undefined ? wrapSequence(around, 'list', prefix, options, (o) => inner.list(prefix, o)) : flatten(listPages(prefix, options)),
    readStream: (key, options) => wrapSequence(around, 'readStream', key, options, (o) => inner.readStream(key, o)),
  };
}

async function* flatten<T>(pages: AsyncIterable<T[]>): AsyncIterable<T> {
  for await (const page of pages) yield* page;
}

function wrapSequence<T, O extends CallOptions>(around: Around, kind: SequenceKind, key: string, options: O | undefined, open: (options: O | undefined) => AsyncIterable<T>): AsyncIterable<T> {
  return {
      [Symbol.asyncIterator]() {
        const listing = around.listing(kind, key, options?.signal);
        const iterator = open(withSignal(options, listing.signal))[Symbol.asyncIterator]();
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
  };
}
