// The Redis backend: each object is a hash (bytes, size, modified) and each folder keeps a sorted
// set of its objects and one of its sub-folders, updated by Lua scripts in the same atomic step as
// the object (see scripts.ts). Listing reads only those indexes, never the whole keyspace, and
// objects that expire by TTL drop out of them lazily.

import { StorageError } from '../../errors.js';
import { asBuffer } from '../buffer.js';
import { assertValidKey, assertValidPrefix, partitionKeys, RESERVED_PREFIX } from '../../keys.js';
import type { BackendCapabilities, BackendContext, BackendUsage, DeleteManyResult, ObjectInfo, StorageBackend, WriteReceipt } from '../types.js';
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
  };
  private readonly options: RedisOptions;
  private readonly connection: RedisConnection;
  private readonly ttlMs: number;

  constructor(options: RedisOptions) {
    this.options = options;
    this.connection = new RedisConnection(options);
    this.ttlMs = (options.ttlSeconds ?? 0) * 1000;
  }

  async write(key: string, data: Uint8Array): Promise<WriteReceipt> {
    assertValidKey(key);
    const bytes = asBuffer(data);
    await this.run(key, () => this.connection.runScript(WRITE_SCRIPT, [this.options.keyPrefix, key, this.ttlMs, bytes]));
    return {};
  }

  async read(key: string): Promise<Buffer> {
    assertValidKey(key);
    const data = await this.run(key, () => this.connection.redis.hgetBuffer(this.objectKey(key), 'd'));
    if (data === null) throw this.notFound(key);
    return data;
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.run(key, () => this.connection.runScript(DELETE_SCRIPT, [this.options.keyPrefix, key]));
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteManyResult> {
    const { valid, failed } = partitionKeys(keys);
    const result: DeleteManyResult = { deleted: [], failed };
    for (let i = 0; i < valid.length; i += MAX_BATCH_DELETE) {
      const batch = valid.slice(i, i + MAX_BATCH_DELETE);
      try {
        await this.run(undefined, () => this.connection.runScript(DELETE_SCRIPT, [this.options.keyPrefix, ...batch]));
        result.deleted.push(...batch);
      } catch (error) {
        for (const key of batch) result.failed.push({ key, error: error as Error });
      }
    }
    return result;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    yield* this.listFolder(prefix);
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key);
    return (await this.run(key, () => this.connection.redis.exists(this.objectKey(key)))) === 1;
  }

  async stat(key: string): Promise<ObjectInfo> {
    assertValidKey(key);
    const [size, modified] = await this.run(key, () => this.connection.redis.hmget(this.objectKey(key), 's', 'm'));
    if (size == null || modified == null) throw this.notFound(key);
    return { key, size: Number(size), modified: new Date(Number(modified)) };
  }

  /**
   * used_memory and maxmemory of the whole server (other pools sharing it included); a server
   * without maxmemory has no total to report.
   */
  async usage(): Promise<BackendUsage> {
    const info = await this.run(undefined, () => this.connection.redis.info('memory'));
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

  /** Depth first, one folder at a time, so memory holds one page per level, never the listing. */
  private async *listFolder(folder: string): AsyncGenerator<ObjectInfo> {
    for (let cursor = '-'; cursor !== ''; ) {
      const page = (await this.run(folder, () =>
        this.connection.runScript(LIST_PAGE_SCRIPT, [this.options.keyPrefix, folder, cursor, LIST_PAGE_SIZE]),
      )) as string[];
      const next = page[0] ?? '';
      for (let i = 1; i + 2 < page.length; i += 3) {
        yield { key: folder + page[i], size: Number(page[i + 1]), modified: new Date(Number(page[i + 2])) };
      }
      cursor = next === '' ? '' : `(${next}`;
    }
    const children = this.childKey(folder);
    for (let cursor = '-'; cursor !== ''; ) {
      const names = await this.run(folder, () => this.connection.redis.zrangebylex(children, cursor, '+', 'LIMIT', 0, LIST_PAGE_SIZE));
      for (const name of names) {
        const child = `${folder}${name}/`;
        if (child !== RESERVED_PREFIX) yield* this.listFolder(child);
      }
      const last = names[names.length - 1];
      cursor = names.length < LIST_PAGE_SIZE || last === undefined ? '' : `(${last}`;
    }
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

  /** Runs one call against the server, mapping whatever it throws. */
  private async run<T>(key: string | undefined, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw mapRedisError(error, key, this.connection.errorContext());
    }
  }
}

export function createRedisBackend(options: RedisOptions, _context: BackendContext): StorageBackend {
  return new RedisBackend(options);
}
