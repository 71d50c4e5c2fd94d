// The raw ali-oss calls, one method per request. It smooths over where ali-oss 6 at runtime differs
// from @types/ali-oss (deleted keys come as `{Key}`, tokens may be null, headers are untyped), so
// the backend sees plain typed values.
//
// Abort: ali-oss takes no AbortSignal. Each method runs with its signal in an AsyncLocalStorage,
// and the client's HTTP function (ali-oss's `urllib`, wrapped) destroys the request of a call whose
// signal fires: its socket is closed and urllib calls back with an error at once.

import type http from 'node:http';
import type https from 'node:https';
import type OSS from 'ali-oss';
import { requireCommonJs } from '../../commonjs.js';
import type { OssOptions } from './options.js';

const AliOss = requireCommonJs<typeof import('ali-oss')>('ali-oss');
const { Agent: HttpAgent } = requireCommonJs<typeof import('node:http')>('node:http');
const { Agent: HttpsAgent } = requireCommonJs<typeof import('node:https')>('node:https');
const { AsyncLocalStorage } = requireCommonJs<typeof import('node:async_hooks')>('node:async_hooks');

/** The part of urllib 2 (ali-oss's HTTP client) that ali-oss calls, and the one we call instead. */
interface Urllib {
  request(url: string, params: unknown): Promise<unknown>;
  requestWithCallback(
    url: string,
    params: unknown,
    callback: (error: Error | null, data: unknown, res: { statusCode: number; headers: unknown }) => void,
  ): { destroy(error?: Error): void } | undefined;
}

/** Options ali-oss 6 reads that @types/ali-oss does not declare. */
interface RuntimeOssOptions extends OSS.Options {
  retryMax: number;
  agent: http.Agent;
  httpsAgent: https.Agent;
  refreshSTSTokenInterval: number;
}

/** What HEAD tells of one object. */
export interface OssHead {
  size: number;
  modified: Date;
  etag: string | undefined;
  /** Normal, Multipart, Appendable... (x-oss-object-type); undefined when not sent. */
  objectType: string | undefined;
}

export interface OssListedObject {
  key: string;
  size: number;
  modified: Date;
  etag: string | undefined;
  objectType: string | undefined;
}

export interface OssListPage {
  objects: OssListedObject[];
  truncated: boolean;
  nextToken: string | null;
}

/** Most keys OSS takes in one listing page and in one DeleteMultipleObjects request. */
export const OSS_PAGE_SIZE = 1000;

/** Idle keep-alive sockets are dropped before a server would close them under us. */
const FREE_SOCKET_TIMEOUT_MS = 4000;

type Headers = Record<string, string | string[] | undefined>;

function header(headers: unknown, name: string): string | undefined {
  const value = (headers as Headers | undefined)?.[name];
  return Array.isArray(value) ? value[0] : value;
}

export class OssClient {
  private readonly oss: OSS;
  /** The signal of the call whose request ali-oss is making. */
  private readonly callSignal = new AsyncLocalStorage<AbortSignal | undefined>();
  private readonly httpAgent = new HttpAgent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS });

  /** `poolTimeoutMs` (the pool's deadline of one attempt) caps ali-oss's own request timeout. */
  constructor(options: OssOptions, poolTimeoutMs?: number) {
    const runtimeOptions: RuntimeOssOptions = {
      bucket: options.bucket,
      region: options.region,
      endpoint: options.endpoint,
      accessKeyId: options.accessKeyId,
      accessKeySecret: options.accessKeySecret,
      stsToken: options.stsToken,
      // ali-oss builds an endpoint from the region over plain http unless told otherwise.
      secure: true,
      timeout: Math.min(options.timeoutMs, poolTimeoutMs ?? Infinity),
      // ali-oss retries network errors only, never 5xx or throttling: retries are left to the
      // pool's retry layer, which retries every failure marked retryable.
      retryMax: 0,
      // Own agents, so close() really releases this backend's sockets (ali-oss shares one otherwise).
      agent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      // Only silences ali-oss's console warning for an stsToken without a refresher; without
      // refreshSTSToken the interval is never used.
      refreshSTSTokenInterval: 5 * 60 * 1000,
    };
    this.oss = new AliOss(runtimeOptions);
    const holder = this.oss as unknown as { urllib: Urllib };
    holder.urllib = this.abortableUrllib(holder.urllib);
  }

  /** Runs `call` (one method of this client) so that its request is destroyed when `signal` fires. */
  withSignal<T>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    return signal === undefined ? call() : this.callSignal.run(signal, call);
  }

  /** ali-oss's urllib, with each request given up when its call's signal fires. */
  private abortableUrllib(urllib: Urllib): Urllib {
    return {
      requestWithCallback: urllib.requestWithCallback.bind(urllib),
      request: (url, params) => {
        const signal = this.callSignal.getStore();
        if (signal === undefined) return urllib.request(url, params);
        return new Promise((resolve, reject) => {
          if (signal.aborted) {
            reject(signal.reason as Error);
            return;
          }
          const onAbort = (): void => request?.destroy(new Error('the request was aborted'));
          const request = urllib.requestWithCallback(url, params, (error, data, res) => {
            signal.removeEventListener('abort', onAbort);
            if (error !== null) reject(error);
            else resolve({ data, status: res.statusCode, headers: res.headers, res });
          });
          signal.addEventListener('abort', onAbort, { once: true });
        });
      },
    };
  }

  /**
   * Stores the object; returns the ETag the server answered with. `contentMd5` (base64) is sent as
   * Content-MD5; without it ali-oss computes one.
   */
  async put(key: string, data: Buffer, contentMd5?: string): Promise<string | undefined> {
    const result = await this.oss.put(key, data, contentMd5 === undefined ? undefined : { headers: { 'Content-MD5': contentMd5 } });
    return (result.res.headers as Record<string, string | undefined>).etag;
  }

  async get(key: string): Promise<Buffer> {
    const { content } = (await this.oss.get(key)) as { content: unknown };
    if (Buffer.isBuffer(content)) return content;
    if (content instanceof Uint8Array) return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    if (content === undefined || content === null || content === '') return Buffer.alloc(0);
    throw new TypeError(`ali-oss returned ${typeof content} content instead of bytes`);
  }

  /**
   * The object's bytes `start` to `end` (inclusive) as they arrive; nothing when the range starts
   * past the end (OSS answers 416). Destroying the stream gives the request up.
   */
  async getStream(key: string, start: number, end: number | undefined): Promise<NodeJS.ReadableStream | undefined> {
    const whole = start === 0 && end === undefined;
    try {
      const { stream } = (await this.oss.getStream(key, whole ? {} : { headers: { Range: `bytes=${start}-${end ?? ''}` } })) as { stream: NodeJS.ReadableStream };
      return stream;
    } catch (error) {
      if ((error as { status?: number }).status === 416) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<OssHead> {
    const { res } = await this.oss.head(key);
    const size = Number(header(res.headers, 'content-length'));
    const modified = new Date(header(res.headers, 'last-modified') ?? Number.NaN);
    if (!Number.isFinite(size) || Number.isNaN(modified.getTime())) {
      throw new TypeError('the HEAD answer has no valid Content-Length or Last-Modified');
    }
    return { size, modified, etag: header(res.headers, 'etag'), objectType: header(res.headers, 'x-oss-object-type') };
  }

  /** OSS answers 204 whether or not the key existed. */
  async delete(key: string): Promise<void> {
    await this.oss.delete(key);
  }

  /** One ListObjectsV2 page. A fresh query object per call: ali-oss deletes the token from it. */
  async listPage(prefix: string, token: string | null): Promise<OssListPage> {
    const query: Record<string, string | number> = { prefix, 'max-keys': OSS_PAGE_SIZE };
    if (token !== null) query['continuation-token'] = token;
    const page = (await this.oss.listV2(query as OSS.ListV2ObjectsQuery)) as unknown as {
      objects: { name: string; size: number; lastModified: string; etag?: string; type?: string }[] | null;
      isTruncated: boolean;
      nextContinuationToken: string | null;
    };
    const objects = (page.objects ?? []).map((o) => ({
      key: o.name,
      size: o.size,
      modified: new Date(o.lastModified),
      etag: o.etag,
      objectType: o.type,
    }));
    return { objects, truncated: page.isTruncated, nextToken: page.nextContinuationToken ?? null };
  }

  /** DeleteMultipleObjects in verbose mode: the keys the server confirms as deleted. */
  async deleteMulti(keys: readonly string[]): Promise<Set<string>> {
    const result = (await this.oss.deleteMulti([...keys], { quiet: false })) as unknown as {
      deleted?: (string | { Key?: unknown })[] | null;
    };
    const confirmed = new Set<string>();
    for (const entry of result.deleted ?? []) {
      const key = typeof entry === 'string' ? entry : entry.Key;
      if (typeof key === 'string') confirmed.add(key);
    }
    return confirmed;
  }

  /** Closes this client's sockets; requests still running fail. */
  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
