// The ioredis connection of one Redis pool (one server, or a Redis Cluster): created on first use,
// configured to fail fast when the server is down or silent (ioredis defaults wait 73 s, or
// forever), and closed so a CLI can exit.

import { urlCredentials } from '../../redact.js';
import type { Cluster, Redis } from 'ioredis';
import { requireCommonJs } from '../../commonjs.js';
import { StorageError } from '../../errors.js';
import type { RedisErrorContext } from './errors.js';
import type { RedisOptions } from './options.js';

const { Redis: RedisClient, Cluster: ClusterClient } = requireCommonJs<typeof import('ioredis')>('ioredis');
const { createHash } = requireCommonJs<typeof import('node:crypto')>('node:crypto');

/** Longest pause between reconnection attempts while the server is away. */
const MAX_RECONNECT_DELAY_MS = 1000;
/** How long a closing socket may take to flush before it is destroyed. */
const DISCONNECT_TIMEOUT_MS = 50;
/** How long close() waits for QUIT's answer: a server gone silent must not hold a CLI's exit. */
const QUIT_TIMEOUT_MS = 200;

type ScriptArg = string | number | Buffer;

/** The commands the backend sends: the same on one server and on a cluster (routed by key). */
export type RedisCommands = Pick<Redis, 'hgetBuffer' | 'exists' | 'hmget' | 'zrangebylex' | 'zadd' | 'evalsha' | 'eval' | 'info'>;

export class RedisConnection {
  private client: Redis | Cluster | undefined;
  private closed = false;
  private lastConnectionError: Error | undefined;
  private readonly address: string;
  private readonly secrets: string[];
  private readonly shas = new Map<string, string>();

  /**
   * `poolTimeoutMs`, the pool's deadline of one attempt, caps the connect and command timeouts so
   * that ioredis gives a command up no later than the pool would.
   */
  constructor(
    private readonly options: RedisOptions,
    private readonly poolTimeoutMs?: number,
  ) {
    const urls = options.cluster ?? [options.url ?? 'redis://127.0.0.1:6379'];
    const first = new URL(urls[0]!);
    this.address = `${first.hostname || '127.0.0.1'}:${first.port || '6379'}${urls.length > 1 || options.cluster !== undefined ? ` (cluster)` : ''}`;
    this.secrets = urls.flatMap((url) => urlCredentials(url));
  }

  /** True for a Redis Cluster pool: keys are then placed by hash tag (see index.ts). */
  get isCluster(): boolean {
    return this.options.cluster !== undefined;
  }

  /** The ioredis client, created (not yet connected) on first use. */
  get redis(): RedisCommands {
    return this.instance;
  }

  /**
   * Every server holding this pool's data: the one server, or each master of a cluster. Throws
   * when a master that owns slots is not connected (stopped, unreachable).
   */
  async servers(): Promise<RedisCommands[]> {
    const client = this.instance;
    if (!(client instanceof ClusterClient)) return [client];
    if (client.status === 'wait') await client.connect();
    const masters = client.nodes('master');
    const connected = new Set(masters.map((node) => `${node.options.host}:${node.options.port}`));
    const owners = new Set(client.slots.map((nodes) => nodes[0]).filter((owner): owner is string => owner !== undefined));
    const missing = [...owners].filter((owner) => !connected.has(owner));
    if (missing.length > 0 || masters.length === 0) {
      throw new StorageError('Unavailable', `cluster node ${missing.join(', ') || this.address} is not reachable`, { backend: 'redis' });
    }
    return masters;
  }

  private get instance(): Redis | Cluster {
    if (this.closed) throw new StorageError('Unavailable', 'the backend is closed', { backend: 'redis', retryable: false });
    this.client ??= this.createClient();
    return this.client;
  }

  /** True when commands go to the server at once (not into ioredis's offline queue). */
  get ready(): boolean {
    return this.client?.status === 'ready';
  }

  errorContext(): RedisErrorContext {
    return { address: this.address, secrets: this.secrets, lastConnectionError: this.lastConnectionError };
  }

  /**
   * Runs a Lua script by its sha, loading it on the server only when the server does not know it
   * (NOSCRIPT), so a warm call is one round trip. Once `signal` fired the script is not sent again.
   */
  async runScript(source: string, routingKey: string, args: readonly ScriptArg[], signal?: AbortSignal): Promise<unknown> {
    let sha = this.shas.get(source);
    if (sha === undefined) {
      sha = createHash('sha1').update(source).digest('hex');
      this.shas.set(source, sha);
    }
    try {
      // One declared key: a cluster sends the script to the node of that key's slot.
      return await this.redis.evalsha(sha, 1, routingKey, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT') || signal?.aborted === true) throw error;
      return await this.redis.eval(source, 1, routingKey, ...args);
    }
  }

  /** Quits politely when connected, then drops the socket and any reconnection timer. Safe twice. */
  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    if (client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, QUIT_TIMEOUT_MS);
      });
      await Promise.race([client.quit().catch(() => undefined), gaveUp]);
      clearTimeout(timer);
    }
    client.disconnect(false);
  }

  private createClient(): Redis | Cluster {
    const connectTimeout = Math.min(this.options.connectTimeoutMs, this.poolTimeoutMs ?? Infinity);
    const common = {
      connectTimeout,
      commandTimeout: Math.min(this.options.commandTimeoutMs, this.poolTimeoutMs ?? Infinity),
      // A command fails at the first failed connection attempt instead of waiting for retries:
      // retrying is the retry layer's job, and it needs to see the failure to fail over.
      maxRetriesPerRequest: 0,
      // disconnect() arms a ref'd timer of this length even when the socket is already closed (after
      // QUIT, or a refused connection) and never clears it: the 2 s default keeps a CLI alive 2 s.
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    };
    // Keep reconnecting in the background (until close) so the pool recovers when the server does.
    const retry = (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);
    const client =
      this.options.cluster === undefined
        ? new RedisClient(this.options.url ?? 'redis://127.0.0.1:6379', { ...common, lazyConnect: true, retryStrategy: retry, enableOfflineQueue: true })
        : this.createCluster(this.options.cluster, common, retry);
    client.on('error', (error: Error) => {
      this.lastConnectionError = error;
    });
    client.on('ready', () => {
      this.lastConnectionError = undefined;
    });
    return client;
  }

  /**
   * A cluster client: the node options above for every node; a command to a slot whose node is
   * gone fails after a few short redirection retries (seconds, not the defaults' minutes), so the
   * pool fails over.
   */
  private createCluster(urls: readonly string[], common: Record<string, number>, retry: (attempt: number) => number): Cluster {
    const first = new URL(urls[0]!);
    const password = first.password === '' ? undefined : decodeURIComponent(first.password);
    const username = first.username === '' ? undefined : decodeURIComponent(first.username);
    return new ClusterClient(
      urls.map((url) => {
        const parsed = new URL(url);
        return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 6379) };
      }),
      {
        lazyConnect: true,
        enableOfflineQueue: true,
        // The ready check waits, retrying for ever, until CLUSTER INFO says ok: a cluster that lost a
        // node would hang every command. Without it, commands fail with CLUSTERDOWN (Unavailable).
        enableReadyCheck: false,
        clusterRetryStrategy: retry,
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        maxRedirections: 3,
        slotsRefreshTimeout: common.connectTimeout,
        redisOptions: { ...common, ...(password === undefined ? {} : { password }), ...(username === undefined ? {} : { username }), ...(first.protocol === 'rediss:' ? { tls: {} } : {}) },
      },
    );
  }
}
