// The S3 backend: objects in one bucket of AWS S3 or an S3-compatible store. PutObject is atomic on
// its own, so there are no temporary objects. Retries are the SDK's (its `retries` option, all its
// attempts inside one deadline of the pool), or the pool's when that option is 0.
// A call's AbortSignal goes to the SDK (abortSignal), which destroys the request's socket.

import type { _Object, S3Client } from '@aws-sdk/client-s3';
import pLimit, { type LimitFunction } from 'p-limit';
import { StorageError } from '../../errors.js';
import { truncatedListing } from '../http-errors.js';
import { assertValidKey, assertValidPrefix, partitionKeys, RESERVED_PREFIX } from '../../keys.js';
import type {
  BackendCapabilities,
  BackendContext,
  BackendUsage,
  CallOptions,
  DeleteManyResult,
  ObjectInfo,
  ReadStreamOptions,
  StorageBackend,
  WriteOptions,
  WriteReceipt,
} from '../types.js';
import { abortError, raceAbort, throwIfAborted } from '../abort.js';
import { asBuffer, contentMd5 } from '../buffer.js';
import { requireCommonJs } from '../../commonjs.js';
import { createS3Client } from './client.js';
import { mapS3Error } from './errors.js';
import { fastListMiddleware, type ListPage } from './list-page.js';
import type { S3Options } from './options.js';

const { DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } =
  requireCommonJs<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');

/** One page of a listing, and the token of the next one (undefined: the last). */
interface ListedPage {
  objects: ObjectInfo[];
  next: string | undefined;
  /** The page was truncated without a usable token: thrown once its objects were yielded. */
  broken?: StorageError;
}

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
  private readonly poolTimeoutMs: number | undefined;
  private readonly secrets: string[];
  private client: S3Client | undefined;
  /**
   * At most maxSockets requests in flight. The SDK starts its connect and request timers when a
   * request is handed to the agent, so a request that queued there for a socket behind a burst of
   * others would time out without ever trying to connect. capabilities.maxInFlight makes the pool's
   * layers queue calls the same way before their deadline starts; this limit still covers
   * deleteMany, whose one call sends several requests.
   */
  private readonly inFlight: LimitFunction;
  private usedBytes: { since: number; total: Promise<number> } | undefined;

  constructor(options: S3Options, context: Pick<BackendContext, 'timeoutMs'> = {}) {
    this.options = options;
    this.poolTimeoutMs = context.timeoutMs;
    this.secrets = [options.accessKeyId, options.secretAccessKey, options.sessionToken].filter((s): s is string => s !== undefined);
    this.inFlight = pLimit(options.maxSockets);
    this.capabilities = {
      batchDelete: true,
      maxBatchDelete: MAX_BATCH_DELETE,
      ttl: false,
      usage: options.quotaBytes !== undefined,
      md5: true,
      checksWriteMd5: true,
      nativeRetry: options.retries > 0,
      maxInFlight: options.maxSockets,
      orderedList: true,
      streamRead: true,
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
    const answer = await this.call(key, options.signal, (client, abortSignal) => client.send(command, { abortSignal }));
    return { md5: answer.SSEKMSKeyId === undefined && answer.SSECustomerAlgorithm === undefined ? md5FromEtag(answer.ETag) : undefined };
  }

  async read(key: string, options: CallOptions = {}): Promise<Buffer> {
    assertValidKey(key);
    return this.call(key, options.signal, async (client, abortSignal) => {
      const answer = await client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal });
      const body = answer.Body;
      if (body === undefined) return Buffer.alloc(0);
      // The SDK's abort covers the request until its headers; a body stalled mid-way is destroyed here.
      const bytes = await raceAbort(body.transformToByteArray(), abortSignal, { backend: this.type, key }, () =>
        (body as { destroy?: () => void }).destroy?.(),
      );
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    });
  }

  async *readStream(key: string, options: ReadStreamOptions = {}): AsyncIterable<Uint8Array> {
    assertValidKey(key);
    const start = options.start ?? 0;
    const range = start === 0 && options.end === undefined ? undefined : `bytes=${start}-${options.end ?? ''}`;
    const body = await this.call(key, options.signal, async (client, abortSignal) => {
      try {
        return (await client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key, Range: range }), { abortSignal })).Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
      } catch (error) {
        // A range that starts past the end: there are no bytes to yield.
        if ((error as { name?: string }).name === 'InvalidRange' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) return undefined;
        throw error;
      }
    });
    if (body === undefined) return;
    try {
      for await (const chunk of body) yield chunk;
    } catch (error) {
      throw options.signal?.aborted === true ? abortError(options.signal, { backend: this.type, key }) : this.mapError(error, key);
    } finally {
      body.destroy?.();
    }
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    assertValidKey(key);
    await this.call(key, options.signal, (client, abortSignal) =>
      client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal }),
    );
  }

  async deleteMany(keys: readonly string[], options: CallOptions = {}): Promise<DeleteManyResult> {
    const { valid, failed } = partitionKeys(keys);
    const result: DeleteManyResult = { deleted: [], failed };
    const chunks: string[][] = [];
    for (let i = 0; i < valid.length; i += MAX_BATCH_DELETE) chunks.push(valid.slice(i, i + MAX_BATCH_DELETE));
    const limit = pLimit(DELETE_CONCURRENCY);
    await Promise.all(chunks.map((chunk) => limit(() => this.deleteChunk(chunk, result, options.signal))));
    // The caller gave up: the call as a whole fails, rather than report every chunk left.
    throwIfAborted(options.signal, { backend: this.type });
    return result;
  }

  async *list(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo> {
    for await (const page of this.listPages(prefix, options)) yield* page;
  }

  async *listPages(prefix: string, options: CallOptions = {}): AsyncIterable<ObjectInfo[]> {
    assertValidPrefix(prefix);
    for await (const page of this.pages(prefix, options.signal)) {
      yield prefix === '' ? page.filter((info) => !info.key.startsWith(RESERVED_PREFIX)) : page;
    }
  }

  async exists(key: string, options: CallOptions = {}): Promise<boolean> {
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
    const head = await this.call(key, options.signal, (client, abortSignal) =>
      client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal }),
    );
    // An SSE-KMS ETag looks like an md5 but is not one (a listing cannot tell; HeadObject can).
    const md5 = head.ServerSideEncryption?.startsWith('aws:kms') === true || head.SSECustomerAlgorithm !== undefined ? undefined : md5FromEtag(head.ETag);
    return { key, size: head.ContentLength ?? 0, modified: head.LastModified ?? new Date(0), md5 };
  }

  /**
   * The count is shared by concurrent callers and outlives any one of them, so it runs without a
   * caller's signal; a caller that aborts stops waiting for it.
   */
  async usage(options: CallOptions = {}): Promise<BackendUsage> {
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
    return { usedBytes: await raceAbort(this.usedBytes.total, options.signal, { backend: this.type }), totalBytes: quota };
  }

  /** Destroys the client's sockets (its agents), in use or idle, so a process exits at once. */
  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
  }

  /**
   * Every object under `prefix` (reserved keys included), one ListObjectsV2 page at a time. The
   * next page is asked for as soon as a page arrives (its token is then known), so the server's
   * time for it overlaps the caller's work on this one; a caller that stops early aborts it.
   */
  private async *pages(prefix: string, signal?: AbortSignal): AsyncGenerator<ObjectInfo[]> {
    const ahead = new AbortController();
    const stop = (): void => ahead.abort(signal?.reason);
    if (signal?.aborted === true) stop();
    else signal?.addEventListener('abort', stop, { once: true });
    let pending: Promise<ListedPage> | undefined = this.page(prefix, undefined, ahead.signal);
    try {
      while (pending !== undefined) {
        const { objects, next, broken }: ListedPage = await pending;
        pending = next === undefined ? undefined : this.page(prefix, next, ahead.signal);
        // Settled here if the caller leaves before asking for it (aborted in finally).
        pending?.catch(() => undefined);
        yield objects;
        if (broken !== undefined) throw broken;
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      if (pending !== undefined) ahead.abort(new StorageError('Interrupted', 'the listing was left before its end', { backend: this.type, key: prefix }));
    }
  }

  /** One page of the listing after `token`, and the token of the next one (undefined: the last). */
  private async page(prefix: string, token: string | undefined, signal: AbortSignal): Promise<ListedPage> {
    const sink: { page?: ListPage | undefined } = {};
    const answer = await this.call(prefix, signal, (client, abortSignal) => {
      const command = new ListObjectsV2Command({
        Bucket: this.options.bucket,
        Prefix: prefix === '' ? undefined : prefix,
        MaxKeys: 1000,
        ContinuationToken: token,
      });
      command.middlewareStack.add(fastListMiddleware(sink), { step: 'deserialize', priority: 'low', name: 'fluxFastList' });
      return client.send(command, { abortSignal });
    });
    const read = sink.page;
    const objects =
      read === undefined
        ? (answer.Contents ?? []).map((entry) => this.toInfo(entry, prefix))
        : read.objects.map(({ key, size, modified, etag }) => ({ key, size, modified, md5: md5FromEtag(etag) }));
    if (answer.IsTruncated !== true) return { objects, next: undefined };
    // A truncated page without a (new) token would end the listing early or loop forever.
    const next = answer.NextContinuationToken;
    if (next === undefined || next === '' || next === token) return { objects, next: undefined, broken: truncatedListing(this.type, prefix) };
    return { objects, next };
  }

  private toInfo(entry: _Object, prefix: string): ObjectInfo {
    if (entry.Key === undefined) {
      throw new StorageError('Internal', 'the listing returned an object without a key', { backend: this.type, key: prefix });
    }
    return { key: entry.Key, size: entry.Size ?? 0, modified: entry.LastModified ?? new Date(0), md5: md5FromEtag(entry.ETag) };
  }

  private async deleteChunk(chunk: string[], result: DeleteManyResult, signal: AbortSignal | undefined): Promise<void> {
    try {
      const answer = await this.call(undefined, signal, (client, abortSignal) =>
        client.send(
          new DeleteObjectsCommand({
            Bucket: this.options.bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
          { abortSignal },
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

  /**
   * Runs one SDK call on the (lazily created) client, mapping any failure to a StorageError; an
   * aborted call rejects with the abort's error (Timeout from the pool's deadline, or Interrupted).
   */
  private async call<T>(
    key: string | undefined,
    signal: AbortSignal | undefined,
    run: (client: S3Client, abortSignal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    const context = { backend: this.type, key };
    throwIfAborted(signal, context);
    const client = (this.client ??= createS3Client(this.options, this.poolTimeoutMs));
    try {
      return await this.inFlight(() => {
        throwIfAborted(signal, context);
        return run(client, signal);
      });
    } catch (error) {
      if (signal?.aborted === true) throw abortError(signal, context);
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
export function createS3Backend(options: S3Options, context: BackendContext): StorageBackend {
  return new S3Backend(options, context);
}
