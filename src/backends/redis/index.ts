// The Redis backend: each object is a hash (bytes, size, modified) and each folder keeps a sorted
// set of its objects and one of its sub-folders, updated by Lua scripts in the same atomic step as
// the object (see scripts.ts). Listing reads only those indexes, never the whole keyspace, and
// objects that expire by TTL drop out of them lazily.
//
// Abort: ioredis cannot withdraw a command, so an aborted call rejects at once and its command is
// left to finish or to fail by commandTimeout. Commands of one connection run in order, so a
// command left behind still runs before any later write of the same key: a late write never lands
// after a newer one. A write's bytes are copied when the command would wait in ioredis's offline
// queue, so a caller's buffer is never read after the call settled.

import { StorageError } from '../../errors.js';
import { raceAbort, throwIfAborted } from '../abort.js';
import { asBuffer } from '../buffer.js';
import { assertValidKey, assertValidPrefix, compareKeys, partitionKeys, RESERVED_PREFIX } from '../../keys.js';
import type { BackendCapabilities, BackendContext, BackendUsage, CallOptions, DeleteManyResult, ObjectInfo, StorageBackend, WriteOptions, WriteReceipt } from '../types.js';
import { RedisConnection } from './client.js';
import { mapRedisError } from './errors.js';
import type { RedisOptions } from './options.js';
import { DELETE_SCRIPT, LIST_PAGE_SCRIPT, WRITE_SCRIPT } from './scripts.js';

/** Keys one delete script takes; a bigger batch becomes several calls. */
const MAX_BATCH_DELETE = 10_000;
/** Index entries read per listing round trip. */
const LIST_PAGE_SIZE = 1000;

export class RedisBackend implements StorageBackend {
  readonly type = 'redis';
  readonly capabilities: BackendCapabilities = {
    batchDelete: true,
    maxBatchDelete: MAX_BATCH_DELETE,
    ttl: true,
    usage: true,
    md5: false,
    checksWriteMd5: false,
    nativeRetry: false,
    orderedList: true,
  };
  private readonly options: RedisOptions;
  private readonly connection: RedisConnection;
  private readonly ttlMs: number;

  constructor(options: RedisOptions, context: Pick<BackendContext, 'timeoutMs'> = {}) {
    this.options = options;
    this.connection = new RedisConnection(options, context.timeoutMs);
    this.ttlMs = (options.ttlSeconds ?? 0) * 1000;
  }

  async write(key: string, data: Uint8Array, options: WriteOptions = {}): Promise<WriteReceipt> {
    assertValidKey(key);
    const { signal } = options;
    await this.run(key, signal, () => {
      // ioredis serialises (copies) a command's arguments when it sends it; one waiting for the
      // connection keeps a reference, which would read the caller's buffer after an abort.
      const bytes = this.connection.ready ? asBuffer(data) : Buffer.from(data);
      return this.connection.runScript(WRITE_SCRIPT, [this.options.keyPrefix, key, this.ttlMs, bytes], signal);
    });
    return {};
  }

  async read(key: string, options: CallOptions = {}): Promise<Buffer> {
    assertValidKey(key);
    const data = await this.run(key, options.signal, () => this.connection.redis.hgetBuffer(this.objectKey(key), 'd'));
    if (data === null) throw this.notFound(key);
    return data;
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    assertValidKey(key);
    const { signal } = options;
    await this.run(key, signal, () => this.connection.runScript(DELETE_SCRIPT, [this.options.keyPrefix, key], signal));
  }

  async deleteMany(keys: readonly string[], options: CallOptions = {}): Promise<DeleteManyResult> {
    const { signal } = options;
    const { valid, failed } = partitionKeys(keys);
    const result: DeleteManyResult = { deleted: [], failed };
    for (let i = 0; i < valid.length; i += MAX_BATCH_DELETE) {
      const batch = valid.slice(i, i + MAX_BATCH_DELETE);
      try {
        await this.run(undefined, signal, () => this.connection.runScript(DELETE_SCRIPT, [this.options.keyPrefix, ...batch], signal));
        result.deleted.push(...batch);
      } catch (error) {
        // The caller gave up: the call as a whole fails, rather than report every batch left.
        throwIfAborted(signal, { backend: this.type });
        for (const key of batch) result.failed.push({ key, error: error as Error });
      }
    }
    return result;
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    yield* this.listFolder(prefix, options.signal);
  }

  async exists(key: string, options: CallOptions = {}): Promise<boolean> {
    assertValidKey(key);
    return (await this.run(key, options.signal, () => this.connection.redis.exists(this.objectKey(key)))) === 1;
  }

  async stat(key: string, options: CallOptions = {}): Promise<ObjectInfo> {
    assertValidKey(key);
    const [size, modified] = await this.run(key, options.signal, () => this.connection.redis.hmget(this.objectKey(key), 's', 'm'));
    if (size == null || modified == null) throw this.notFound(key);
    return { key, size: Number(size), modified: new Date(Number(modified)) };
  }

  /**
   * used_memory and maxmemory of the whole server (other pools sharing it included); a server
   * without maxmemory has no total to report.
   */
  async usage(options: CallOptions = {}): Promise<BackendUsage> {
    const info = await this.run(undefined, options.signal, () => this.connection.redis.info('memory'));
    const field = (name: string): number | null => {
      const match = new RegExp(`^${name}:(\\d+)\\s*$`, 'm').exec(info);
      return match?.[1] === undefined ? null : Number(match[1]);
    };
    const maxmemory = field('maxmemory');
    return { usedBytes: field('used_memory'), totalBytes: maxmemory === null || maxmemory === 0 ? null : maxmemory };
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /**
   * Depth first in key order (capabilities.orderedList): a folder's objects merged with its
   * sub-folders, each sorted as its name and "/". Memory holds one page of objects and the
   * sub-folder names of each level, never the listing.
   */
  private async *listFolder(folder: string, signal: AbortSignal | undefined): AsyncGenerator<ObjectInfo> {
    const children: string[] = [];
    const childIndex = this.childKey(folder);
    for (let cursor = '-'; cursor !== ''; ) {
      const names = await this.run(folder, signal, () => this.connection.redis.zrangebylex(childIndex, cursor, '+', 'LIMIT', 0, LIST_PAGE_SIZE));
      for (const name of names) if (`${folder}${name}/` !== RESERVED_PREFIX) children.push(`${name}/`);
      const last = names[names.length - 1];
      cursor = names.length < LIST_PAGE_SIZE || last === undefined ? '' : `(${last}`;
    }
    children.sort(compareKeys);
    let next = 0;
    for (let cursor = '-'; cursor !== ''; ) {
      const page = (await this.run(folder, signal, () =>
        this.connection.runScript(LIST_PAGE_SCRIPT, [this.options.keyPrefix, folder, cursor, LIST_PAGE_SIZE], signal),
      )) as string[];
      const after = page[0] ?? '';
      for (let i = 1; i + 2 < page.length; i += 3) {
        const name = page[i]!;
        for (; next < children.length && compareKeys(children[next]!, name) < 0; next++) yield* this.listFolder(folder + children[next], signal);
        yield { key: folder + name, size: Number(page[i + 1]), modified: new Date(Number(page[i + 2])) };
      }
      cursor = after === '' ? '' : `(${after}`;
    }
    for (; next < children.length; next++) yield* this.listFolder(folder + children[next], signal);
  }

  private objectKey(key: string): string {
    return `${this.options.keyPrefix}o:${key}`;
  }

  private childKey(folder: string): string {
    return `${this.options.keyPrefix}f:${folder}`;
  }

  private notFound(key: string): StorageError {
    return new StorageError('NotFound', 'no such object', { backend: this.type, key });
  }

  /**
   * Runs one call against the server, mapping whatever it throws; rejects at once when `signal`
   * fires (the command itself is left to finish: see the top of this file).
   */
  private async run<T>(key: string | undefined, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    const context = { backend: this.type, key };
    throwIfAborted(signal, context);
    try {
      return await raceAbort(call(), signal, context);
    } catch (error) {
      if (signal?.aborted === true) throwIfAborted(signal, context);
      throw mapRedisError(error, key, this.connection.errorContext());
    }
  }
}

export function createRedisBackend(options: RedisOptions, context: BackendContext): StorageBackend {
  return new RedisBackend(options, context);
}
