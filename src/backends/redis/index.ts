// The Redis backend: each object is a hash (bytes, size, modified) and each folder keeps a sorted
// set of its objects and one of its sub-folders, updated by Lua scripts in the same atomic step as
// the object (see scripts.ts). Listing reads only those indexes, never the whole keyspace, and
// objects that expire by TTL drop out of them lazily.
//
// On a Redis Cluster (`cluster` option) every key of one folder carries the folder's hash tag
// (`P{tag}o:<key>`, `P{tag}i:<folder>`...), so a folder's objects and indexes live on one node and
// its scripts run there; a write first adds its folders to their parents' sub-folder sets (on the
// parents' nodes, cached once added), and emptied folders are not pruned from them.
//
// Abort: ioredis cannot withdraw a command, so an aborted call rejects at once and its command is
// left to finish or to fail by commandTimeout. Commands of one connection run in order, so a
// command left behind still runs before any later write of the same key: a late write never lands
// after a newer one. A write's bytes are copied when the command would wait in ioredis's offline
// queue, so a caller's buffer is never read after the call settled.

import { StorageError } from '../../errors.js';
import { raceAbort, throwIfAborted } from '../abort.js';
import { asBuffer, rangeOf } from '../buffer.js';
import { assertValidKey, assertValidPrefix, compareKeys, partitionKeys, RESERVED_PREFIX } from '../../keys.js';
import type { BackendCapabilities, BackendContext, BackendUsage, CallOptions, DeleteManyResult, ObjectInfo, ReadStreamOptions, StorageBackend, WriteOptions, WriteReceipt } from '../types.js';
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
    streamRead: false,
  };
  private readonly options: RedisOptions;
  private readonly connection: RedisConnection;
  private readonly ttlMs: number;
  /** '1' on one server: the scripts keep the sub-folder sets; '0' on a cluster: this file does. */
  private readonly links: '0' | '1';
  /** Folder links (`parent\0name`) known to be in place on a cluster, so a write adds each once. */
  private readonly linked = new Set<string>();

  constructor(options: RedisOptions, context: Pick<BackendContext, 'timeoutMs'> = {}) {
    this.options = options;
    this.connection = new RedisConnection(options, context.timeoutMs);
    this.ttlMs = (options.ttlSeconds ?? 0) * 1000;
    this.links = options.cluster === undefined ? '1' : '0';
  }

  async write(key: string, data: Uint8Array, options: WriteOptions = {}): Promise<WriteReceipt> {
    assertValidKey(key);
    const { signal } = options;
    if (this.links === '0') await this.linkFolders(key, signal);
    await this.run(key, signal, () => {
      // ioredis serialises (copies) a command's arguments when it sends it; one waiting for the
      // connection keeps a reference, which would read the caller's buffer after an abort.
      const bytes = this.connection.ready ? asBuffer(data) : Buffer.from(data);
      return this.connection.runScript(WRITE_SCRIPT, this.objectKey(key), [this.prefixOf(folderOf(key)), key, this.ttlMs, bytes, this.links], signal);
    });
    return {};
  }

  async read(key: string, options: CallOptions = {}): Promise<Buffer> {
    assertValidKey(key);
    const data = await this.run(key, options.signal, () => this.connection.redis.hgetBuffer(this.objectKey(key), 'd'));
    if (data === null) throw this.notFound(key);
    return data;
  }

  /** Redis holds an object in one hash field: it is read whole, and the range cut from it. */
  async *readStream(key: string, options: ReadStreamOptions = {}): AsyncIterable<Uint8Array> {
    const data = rangeOf(await this.read(key, options), options.start, options.end);
    if (data.length > 0) yield data;
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    assertValidKey(key);
    const { signal } = options;
    await this.run(key, signal, () => this.connection.runScript(DELETE_SCRIPT, this.objectKey(key), [this.prefixOf(folderOf(key)), this.links, key], signal));
  }

  async deleteMany(keys: readonly string[], options: CallOptions = {}): Promise<DeleteManyResult> {
    const { signal } = options;
    const { valid, failed } = partitionKeys(keys);
    const result: DeleteManyResult = { deleted: [], failed };
    // One server takes any mix of folders in one script; a cluster one folder (one slot) per script.
    const groups = new Map<string, string[]>();
    for (const key of valid) {
      const prefix = this.prefixOf(folderOf(key));
      const group = groups.get(prefix);
      if (group === undefined) groups.set(prefix, [key]);
      else group.push(key);
    }
    const batches: { prefix: string; keys: string[] }[] = [];
    for (const [prefix, group] of groups) {
      for (let i = 0; i < group.length; i += MAX_BATCH_DELETE) batches.push({ prefix, keys: group.slice(i, i + MAX_BATCH_DELETE) });
    }
    for (const { prefix, keys: batch } of batches) {
      try {
        await this.run(undefined, signal, () => this.connection.runScript(DELETE_SCRIPT, this.objectKey(batch[0]!), [prefix, this.links, ...batch], signal));
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
    // A cluster: summed over its masters; the total only when every master has a maxmemory.
    const infos = await this.run(undefined, options.signal, async () => Promise.all((await this.connection.servers()).map((server) => server.info('memory'))));
    let usedBytes: number | null = 0;
    let totalBytes: number | null = 0;
    for (const info of infos) {
      const field = (name: string): number | null => {
        const match = new RegExp(`^${name}:(\\d+)\\s*$`, 'm').exec(info);
        return match?.[1] === undefined ? null : Number(match[1]);
      };
      const used = field('used_memory');
      const maxmemory = field('maxmemory');
      usedBytes = usedBytes === null || used === null ? null : usedBytes + used;
      totalBytes = totalBytes === null || maxmemory === null || maxmemory === 0 ? null : totalBytes + maxmemory;
    }
    return { usedBytes, totalBytes };
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
        this.connection.runScript(LIST_PAGE_SCRIPT, `${this.prefixOf(folder)}i:${folder}`, [this.prefixOf(folder), folder, cursor, LIST_PAGE_SIZE, this.links], signal),
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
    return `${this.prefixOf(folderOf(key))}o:${key}`;
  }

  private childKey(folder: string): string {
    return `${this.prefixOf(folder)}f:${folder}`;
  }

  /** The key prefix of one folder's keys: the pool's, plus the folder's hash tag on a cluster. */
  private prefixOf(folder: string): string {
    return this.links === '1' ? this.options.keyPrefix : `${this.options.keyPrefix}{${hashTag(folder)}}`;
  }

  /** Cluster only: adds each folder of `key` to its parent's sub-folder set, before the object. */
  private async linkFolders(key: string, signal: AbortSignal | undefined): Promise<void> {
    const links: Promise<unknown>[] = [];
    for (let slash = key.indexOf('/'), start = 0; slash !== -1; start = slash + 1, slash = key.indexOf('/', start)) {
      const parent = key.slice(0, start);
      const name = key.slice(start, slash);
      const link = `${parent}\0${name}`;
      if (this.linked.has(link)) continue;
      links.push(this.run(key, signal, () => this.connection.redis.zadd(this.childKey(parent), 0, name)).then(() => this.linked.add(link)));
    }
    await Promise.all(links);
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

/** The folder of a key: '' or everything up to its last '/'. */
function folderOf(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

/** FNV-1a of a folder name, as 8 hex digits: a short hash tag with no brace in it. */
function hashTag(folder: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < folder.length; i++) hash = Math.imul(hash ^ folder.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

export function createRedisBackend(options: RedisOptions, context: BackendContext): StorageBackend {
  return new RedisBackend(options, context);
}
