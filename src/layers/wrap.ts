// The one place that knows how to wrap every method of a backend, so that each layer (timeout,
// retry, metrics) states only what it does around a call and around a listing page.

import type { ObjectInfo, StorageBackend } from '../backends/types.js';

export type Operation = 'write' | 'read' | 'delete' | 'deleteMany' | 'exists' | 'stat' | 'usage' | 'list';

export interface Around {
  /** Around each call but list; `key` is the key, or undefined for usage and deleteMany. */
  call<T>(op: Operation, key: string | undefined, run: () => Promise<T>): Promise<T>;
  /** Around the fetch of each listing entry batch; pageIndex counts from 0. */
  page(prefix: string, next: () => Promise<IteratorResult<ObjectInfo>>, pageIndex: number): Promise<IteratorResult<ObjectInfo>>;
}

export function wrapBackend(inner: StorageBackend, around: Around): StorageBackend {
  return {
    type: inner.type,
    capabilities: inner.capabilities,
    write: (key, data, options) => around.call('write', key, () => inner.write(key, data, options)),
    read: (key, options) => around.call('read', key, () => inner.read(key, options)),
    delete: (key) => around.call('delete', key, () => inner.delete(key)),
    deleteMany: (keys) => around.call('deleteMany', undefined, () => inner.deleteMany(keys)),
    exists: (key) => around.call('exists', key, () => inner.exists(key)),
    stat: (key) => around.call('stat', key, () => inner.stat(key)),
    usage: () => around.call('usage', undefined, () => inner.usage()),
    close: () => inner.close(),
    list: (prefix) => ({
      [Symbol.asyncIterator]() {
        const iterator = inner.list(prefix)[Symbol.asyncIterator]();
        let index = 0;
        return {
          next: () => around.page(prefix, () => iterator.next(), index++),
          return: async (value?: unknown) => (await iterator.return?.(value)) ?? { done: true, value: undefined },
        };
      },
    }),
  };
}
