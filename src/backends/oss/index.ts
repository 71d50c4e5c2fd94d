// The Aliyun OSS backend: objects in one bucket through ali-oss. A PUT is atomic on OSS, so writes
// need no temporary object; listings page through ListObjectsV2 and deletes batch 1000 keys a request.

import pLimit from 'p-limit';
import { abortError, raceAbort, throwIfAborted } from '../abort.js';
import { asBuffer, contentMd5 } from '../buffer.js';
import { StorageError } from '../../errors.js';
import { truncatedListing } from '../http-errors.js';
import { assertValidKey, assertValidPrefix, RESERVED_PREFIX } from '../../keys.js';
import type { BackendCapabilities, BackendContext, BackendUsage, CallOptions, DeleteManyResult, ObjectInfo, ReadStreamOptions, StorageBackend, WriteOptions, WriteReceipt } from '../types.js';
import { OSS_PAGE_SIZE, OssClient, type OssListedObject, type OssListPage } from './client.js';
import { mapOssError, scrubMessage } from './errors.js';
import type { OssOptions } from './options.js';

/** How long usage() trusts a count made by listing the whole bucket. */
const USAGE_CACHE_MS = 60_000;
/** DeleteMultipleObjects requests in flight at once. */
const DELETE_CONCURRENCY = 4;

/**
 * The md5 an ETag stands for, when it is one: OSS gives a plain object (Type Normal) the md5 of
 * its content as ETag, quoted and in upper case; multipart and appendable objects get other values.
 */
export function md5FromEtag(etag: string | undefined, objectType: string | undefined): string | undefined {
  if (etag === undefined || (objectType !== undefined && objectType !== 'Normal')) return undefined;
  const bare = etag.replace(/^(W\/)?"|"$/g, '');
  return /^[0-9a-fA-F]{32}$/.test(bare) ? bare.toLowerCase() : undefined;
}

export class OssBackend implements StorageBackend {
  readonly type = 'oss';
  readonly capabilities: BackendCapabilities;
  private readonly options: OssOptions;
  private readonly context: BackendContext | undefined;
  private client: OssClient | undefined;
  private closed = false;
  private usageCache: { usedBytes: number; at: number } | undefined;
  private usageCounting: Promise<number> | undefined;

  constructor(options: OssOptions, context?: BackendContext) {
    this.options = options;
    this.context = context;
    this.capabilities = {
      batchDelete: true,
      maxBatchDelete: OSS_PAGE_SIZE,
      ttl: false,
      usage: options.quotaBytes !== undefined,
      md5: true,
      checksWriteMd5: true,
      nativeRetry: false,
      orderedList: true,
      streamRead: true,
    };
  }

  async write(key: string, data: Uint8Array, options: WriteOptions = {}): Promise<WriteReceipt> {
    assertValidKey(key);
    const body = asBuffer(data);
    // ali-oss copies and hashes every body for its Content-MD5 unless it is given one.
    const etag = await this.call('put', key, options.signal, (client) => client.put(key, body, contentMd5(options.md5)));
    return { md5: md5FromEtag(etag, 'Normal') };
  }

  async read(key: string, options: CallOptions = {}): Promise<Buffer> {
    assertValidKey(key);
    return this.call('get', key, options.signal, (client) => client.get(key));
  }

  async *readStream(key: string, options: ReadStreamOptions = {}): AsyncIterable<Uint8Array> {
    assertValidKey(key);
    const stream = await this.call('get', key, options.signal, (client) => client.getStream(key, options.start ?? 0, options.end));
    if (stream === undefined) return;
    const destroy = (): void => void (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
    options.signal?.addEventListener('abort', destroy, { once: true });
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (error) {
      throw options.signal?.aborted === true ? abortError(options.signal, { backend: this.type, key }) : this.mapError(error, 'get', key);
    } finally {
      options.signal?.removeEventListener('abort', destroy);
      destroy();
    }
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    assertValidKey(key);
    await this.call('delete', key, options.signal, (client) => client.delete(key));
  }

  async deleteMany(keys: readonly string[], options: CallOptions = {}): Promise<DeleteManyResult> {
    const { signal } = options;
    throwIfAborted(signal, { backend: this.type });
    const outcome = new Map<string, Error | null>();
    const toDelete: string[] = [];
    for (const key of keys) {
      if (outcome.has(key)) continue;
      try {
        assertValidKey(key);
        outcome.set(key, null);
        toDelete.push(key);
      } catch (error) {
        outcome.set(key, error as Error);
      }
    }
    const client = this.getClient();
    const limit = pLimit(DELETE_CONCURRENCY);
    const chunks: string[][] = [];
    for (let i = 0; i < toDelete.length; i += OSS_PAGE_SIZE) chunks.push(toDelete.slice(i, i + OSS_PAGE_SIZE));
    await Promise.all(
      chunks.map((chunk) =>
        limit(async () => {
          let confirmed: Set<string>;
          try {
            throwIfAborted(signal, { backend: this.type });
            confirmed = await raceAbort(
              client.withSignal(signal, () => client.deleteMulti(chunk)),
              signal,
              { backend: this.type },
            );
          } catch (error) {
            const mapped = this.mapError(error, 'deleteMulti', undefined);
            for (const key of chunk) outcome.set(key, mapped.withContext({ key }));
            return;
          }
          for (const key of chunk) {
            if (!confirmed.has(key)) {
              outcome.set(key, new StorageError('Internal', 'OSS did not confirm the deletion', { backend: this.type, key, pool: this.context?.poolName }));
            }
          }
        }),
      ),
    );
    // The caller gave up: the call as a whole fails, rather than report every chunk left.
    throwIfAborted(signal, { backend: this.type });
    const result: DeleteManyResult = { deleted: [], failed: [] };
    for (const key of keys) {
      const error = outcome.get(key) ?? null;
      if (error === null) result.deleted.push(key);
      else result.failed.push({ key, error });
    }
    return result;
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    for await (const page of this.pages(prefix, options.signal)) {
      for (const object of page) {
        // Folder markers (keys ending in "/") made by the OSS console are not objects of ours.
        if (object.key.startsWith(RESERVED_PREFIX) || object.key.endsWith('/')) continue;
        yield {
          key: object.key,
          size: object.size,
          modified: object.modified,
          md5: md5FromEtag(object.etag, object.objectType),
        };
      }
    }
  }

  async exists(key: string, options: CallOptions = {}): Promise<boolean> {
    assertValidKey(key);
    try {
      await this.stat(key, options);
      return true;
    } catch (error) {
      if (error instanceof StorageError && error.code === 'NotFound') return false;
      throw error;
    }
  }

  async stat(key: string, options: CallOptions = {}): Promise<ObjectInfo> {
    assertValidKey(key);
    const head = await this.call('head', key, options.signal, (client) => client.head(key));
    return { key, size: head.size, modified: head.modified, md5: md5FromEtag(head.etag, head.objectType) };
  }

  /**
   * The count is shared by concurrent callers and outlives any one of them, so it runs without a
   * caller's signal; a caller that aborts stops waiting for it.
   */
  async usage(options: CallOptions = {}): Promise<BackendUsage> {
    const totalBytes = this.options.quotaBytes;
    if (totalBytes === undefined) return { usedBytes: null, totalBytes: null };
    const cached = this.usageCache;
    if (cached !== undefined && Date.now() - cached.at < USAGE_CACHE_MS) return { usedBytes: cached.usedBytes, totalBytes };
    // Concurrent callers share one count rather than each listing the bucket.
    this.usageCounting ??= this.countUsedBytes().finally(() => {
      this.usageCounting = undefined;
    });
    const usedBytes = await raceAbort(this.usageCounting, options.signal, { backend: this.type });
    return { usedBytes, totalBytes };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client?.destroy();
    this.client = undefined;
  }

  /** Every object in the bucket counts, reserved ones included: they take space all the same. */
  private async countUsedBytes(): Promise<number> {
    let usedBytes = 0;
    for await (const page of this.pages('')) for (const object of page) usedBytes += object.size;
    this.usageCache = { usedBytes, at: Date.now() };
    return usedBytes;
  }

  /** ListObjectsV2 pages to the end; a page that claims more but gives no way on throws. */
  private async *pages(prefix: string, signal?: AbortSignal): AsyncGenerator<OssListedObject[]> {
    let token: string | null = null;
    for (;;) {
      const current: string | null = token;
      const page: OssListPage = await this.call('list', prefix, signal, (client) => client.listPage(prefix, current));
      yield page.objects;
      if (!page.truncated) return;
      if (page.nextToken === null || page.nextToken === '' || page.nextToken === current) {
        throw truncatedListing(this.type, prefix);
      }
      token = page.nextToken;
    }
  }

  private getClient(): OssClient {
    if (this.closed) {
      throw new StorageError('Unavailable', 'the backend is closed', { backend: this.type, pool: this.context?.poolName, retryable: false });
    }
    if (this.client === undefined) {
      try {
        this.client = new OssClient(this.options, this.context?.timeoutMs);
      } catch (error) {
        const detail = `cannot build the OSS client: ${scrubMessage(error instanceof Error ? error.message : String(error), this.secrets())}`;
        throw new StorageError('ConfigInvalid', detail, { backend: this.type, pool: this.context?.poolName, cause: error });
      }
    }
    return this.client;
  }

  /**
   * One ali-oss call, its failure mapped; when `signal` fires its request is destroyed and the call
   * rejects with the abort's error (Timeout from the pool's deadline, or Interrupted) at once.
   */
  private async call<T>(action: string, key: string | undefined, signal: AbortSignal | undefined, run: (client: OssClient) => Promise<T>): Promise<T> {
    const context = { backend: this.type, key, pool: this.context?.poolName };
    throwIfAborted(signal, context);
    const client = this.getClient();
    try {
      return await raceAbort(client.withSignal(signal, () => run(client)), signal, context);
    } catch (error) {
      if (signal?.aborted === true) throw abortError(signal, context);
      throw this.mapError(error, action, key);
    }
  }

  private mapError(error: unknown, action: string, key: string | undefined): StorageError {
    const mapped = mapOssError(error, { action, key, secrets: this.secrets() });
    return this.context === undefined ? mapped : mapped.withContext({ pool: this.context.poolName });
  }

  private secrets(): (string | undefined)[] {
    return [this.options.accessKeySecret, this.options.stsToken];
  }
}

export function createOssBackend(options: OssOptions, context: BackendContext): StorageBackend {
  return new OssBackend(options, context);
}
