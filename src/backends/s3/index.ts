// The S3 backend: objects in one bucket of AWS S3 or an S3-compatible store. PutObject is atomic on
// its own, so there are no temporary objects; retries are left to the SDK (capabilities.nativeRetry).

import type { _Object, S3Client } from '@aws-sdk/client-s3';
import pLimit, { type LimitFunction } from 'p-limit';
import { StorageError } from '../../errors.js';
import { assertValidKey, assertValidPrefix, partitionKeys, RESERVED_PREFIX } from '../../keys.js';
import type { BackendCapabilities, BackendContext, BackendUsage, DeleteManyResult, ObjectInfo, StorageBackend, WriteOptions, WriteReceipt } from '../types.js';
import { asBuffer, contentMd5 } from '../buffer.js';
import { requireCommonJs } from '../../commonjs.js';
import { createS3Client } from './client.js';
import { mapS3Error } from './errors.js';
import type { S3Options } from './options.js';

const { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } =
  requireCommonJs<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');

/** S3's limit of keys in one DeleteObjects request. */
const MAX_BATCH_DELETE = 1000;
/** DeleteObjects requests in flight at once during one deleteMany. */
const DELETE_CONCURRENCY = 4;
/** How long a usage() total, counted by listing the whole bucket, is reused. */
const USAGE_TTL_MS = 60_000;

/** Marks the request's payload unsigned (`x-amz-content-sha256: UNSIGNED-PAYLOAD`) before signing. */
const unsignedPayload =
  <Args extends { request: unknown }, Output>(next: (args: Args) => Promise<Output>) =>
  (args: Args): Promise<Output> => {
    const request = args.request as { headers?: Record<string, string> } | undefined;
    if (request?.headers !== undefined) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    return next(args);
  };

const CONTENT_TYPES: Record<string, string> = {
  ts: 'video/mp2t',
  m3u8: 'application/vnd.apple.mpegurl',
};

export class S3Backend implements StorageBackend {
  readonly type = 's3';
  readonly capabilities: BackendCapabilities;
  private readonly options: S3Options;
  private readonly secrets: string[];
  private client: S3Client | undefined;
  /**
   * At most maxSockets calls in flight. The SDK starts its connect and request timers when a
   * request is handed to the agent, so a request that queued there for a socket behind a burst of
   * others would time out without ever trying to connect.
   */
  private readonly inFlight: LimitFunction;
  private usedBytes: { since: number; total: Promise<number> } | undefined;

  constructor(options: S3Options) {
    this.options = options;
    this.secrets = [options.accessKeyId, options.secretAccessKey, options.sessionToken].filter((s): s is string => s !== undefined);
    this.inFlight = pLimit(options.maxSockets);
    this.capabilities = {
      batchDelete: true,
      maxBatchDelete: MAX_BATCH_DELETE,
      ttl: false,
      usage: options.quotaBytes !== undefined,
      md5: true,
      checksWriteMd5: true,
      nativeRetry: true,
    };
  }

  async write(key: string, data: Uint8Array, options: WriteOptions = {}): Promise<WriteReceipt> {
    assertValidKey(key);
    const body = asBuffer(data);
    const command = new PutObjectCommand({
      Bucket: this.options.bucket,
      Key: key,
      Body: body,
      ContentLength: body.byteLength,
      ContentType: contentType(key),
      ContentMD5: contentMd5(options.md5),
    });
    // The store checks the body against the signed Content-MD5, so signing its SHA-256 as well
    // (what the SDK does for a Buffer body) would hash every byte a second time on the event loop.
    if (options.md5 !== undefined) command.middlewareStack.add(unsignedPayload, { step: 'build', name: 'fluxUnsignedPayload' });
    const answer = await this.call(key, (client) => client.send(command));
    return { md5: answer.SSEKMSKeyId === undefined && answer.SSECustomerAlgorithm === undefined ? md5FromEtag(answer.ETag) : undefined };
  }

  async read(key: string): Promise<Buffer> {
    assertValidKey(key);
    return this.call(key, async (client) => {
      const answer = await client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      if (answer.Body === undefined) return Buffer.alloc(0);
      const bytes = await answer.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    });
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.call(key, (client) => client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key })));
  }

  async deleteMany(keys: readonly string[]): Promise<DeleteManyResult> {
    const { valid, failed } = partitionKeys(keys);
    const result: DeleteManyResult = { deleted: [], failed };
    const chunks: string[][] = [];
    for (let i = 0; i < valid.length; i += MAX_BATCH_DELETE) chunks.push(valid.slice(i, i + MAX_BATCH_DELETE));
    const limit = pLimit(DELETE_CONCURRENCY);
    await Promise.all(chunks.map((chunk) => limit(() => this.deleteChunk(chunk, result))));
    return result;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    for await (const page of this.pages(prefix)) {
      for (const info of page) {
        if (prefix === '' && info.key.startsWith(RESERVED_PREFIX)) continue;
        yield info;
      }
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.stat(key);
      return true;
    } catch (error) {
      if (error instanceof StorageError && error.code === 'NotFound') return false;
      throw error;
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    assertValidKey(key);
    const head = await this.call(key, (client) => client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key })));
    // An SSE-KMS ETag looks like an md5 but is not one (a listing cannot tell; HeadObject can).
    const md5 = head.ServerSideEncryption?.startsWith('aws:kms') === true || head.SSECustomerAlgorithm !== undefined ? undefined : md5FromEtag(head.ETag);
    return { key, size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0), md5 };
  }

  async usage(): Promise<BackendUsage> {
    const quota = this.options.quotaBytes;
    if (quota === undefined) return { usedBytes: null, totalBytes: null };
    if (this.usedBytes === undefined || Date.now() - this.usedBytes.since > USAGE_TTL_MS) {
      const total = this.sumAllSizes();
      const entry = { since: Date.now(), total };
      this.usedBytes = entry;
      // A failed count is not cached: the next call lists again.
      total.catch(() => {
        if (this.usedBytes === entry) this.usedBytes = undefined;
      });
    }
    return { usedBytes: await this.usedBytes.total, totalBytes: quota };
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
  }

  /** Every object under `prefix` (reserved keys included), one ListObjectsV2 page at a time. */
  private async *pages(prefix: string): AsyncGenerator<ObjectInfo[]> {
    let token: string | undefined;
    do {
      const page = await this.call(prefix, (client) =>
        client.send(
          new ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: prefix === '' ? undefined : prefix,
            MaxKeys: 1000,
            ContinuationToken: token,
          }),
        ),
      );
      yield (page.Contents ?? []).map((entry) => this.toInfo(entry, prefix));
      if (page.IsTruncated !== true) return;
      // A truncated page without a (new) token would end the listing early or loop forever.
      const next = page.NextContinuationToken;
      if (next === undefined || next === '' || next === token) {
        throw new StorageError('Unavailable', 'the listing was cut short: a truncated page came without a new continuation token', {
          backend: this.type,
          key: prefix,
        });
      }
      token = next;
    } while (token !== undefined);
  }

  private toInfo(entry: _Object, prefix: string): ObjectInfo {
    if (entry.Key === undefined) {
      throw new StorageError('Internal', 'the listing returned an object without a key', { backend: this.type, key: prefix });
    }
    return { key: entry.Key, size: entry.Size ?? 0, modified: entry.LastModified ?? new Date(0), md5: md5FromEtag(entry.ETag) };
  }

  private async deleteChunk(chunk: string[], result: DeleteManyResult): Promise<void> {
    try {
      const answer = await this.call(undefined, (client) =>
        client.send(
          new DeleteObjectsCommand({
            Bucket: this.options.bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const errors = new Map((answer.Errors ?? []).map((entry) => [entry.Key, entry]));
      for (const key of chunk) {
        const entry = errors.get(key);
        if (entry === undefined || entry.Code === 'NoSuchKey') result.deleted.push(key);
        else result.failed.push({ key, error: this.mapError(entry, key) });
      }
    } catch (error) {
      const mapped = this.mapError(error, undefined);
      for (const key of chunk) result.failed.push({ key, error: mapped.withContext({ key }) });
    }
  }

  private async sumAllSizes(): Promise<number> {
    let total = 0;
    for await (const page of this.pages('')) for (const info of page) total += info.size;
    return total;
  }

  /** Runs one SDK call on the (lazily created) client, mapping any failure to a StorageError. */
  private async call<T>(key: string | undefined, run: (client: S3Client) => Promise<T>): Promise<T> {
    const client = (this.client ??= createS3Client(this.options));
    try {
      return await this.inFlight(() => run(client));
    } catch (error) {
      throw this.mapError(error, key);
    }
  }

  private mapError(error: unknown, key: string | undefined): StorageError {
    return mapS3Error(error, { key, bucket: this.options.bucket, secrets: this.secrets });
  }
}

/** The md5 in an ETag, when it is one: a multipart ETag (`<hex>-<parts>`) is not an md5 of the content. */
export function md5FromEtag(etag: string | undefined): string | undefined {
  const value = etag?.replace(/^(W\/)?"|"$/g, '');
  return value !== undefined && /^[0-9a-f]{32}$/i.test(value) ? value.toLowerCase() : undefined;
}

function contentType(key: string): string {
  const dot = key.lastIndexOf('.');
  return (dot === -1 ? undefined : CONTENT_TYPES[key.slice(dot + 1).toLowerCase()]) ?? 'application/octet-stream';
}

/** The pool name is not needed here: the pool layer adds it to errors (StorageError.withContext). */
export function createS3Backend(options: S3Options, _context: BackendContext): StorageBackend {
  return new S3Backend(options);
}
