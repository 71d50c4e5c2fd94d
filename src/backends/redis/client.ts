// The ioredis connection of one Redis pool: created on first use, configured to fail fast when the
// server is down or silent (ioredis defaults wait 73 s, or forever), and closed so a CLI can exit.

import { urlCredentials } from '../../redact.js';
import type { Redis } from 'ioredis';
import { requireCommonJs } from '../../commonjs.js';
import { StorageError } from '../../errors.js';
import type { RedisErrorContext } from './errors.js';
import type { RedisOptions } from './options.js';

const { Redis: RedisClient } = requireCommonJs<typeof import('ioredis')>('ioredis');
const { createHash } = requireCommonJs<typeof import('node:crypto')>('node:crypto');

/** Longest pause between reconnection attempts while the server is away. */
const MAX_RECONNECT_DELAY_MS = 1000;
/** How long a closing socket may take to flush before it is destroyed. */
const DISCONNECT_TIMEOUT_MS = 50;
/** How long close() waits for QUIT's answer: a server gone silent must not hold a CLI's exit. */
const QUIT_TIMEOUT_MS = 200;

type ScriptArg = string | number | Buffer;

export class RedisConnection {
  private client: Redis | undefined;
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
    const url = new URL(options.url);
    this.address = `${url.hostname || '127.0.0.1'}:${url.port || '6379'}`;
    this.secrets = urlCredentials(this.options.url);
  }

  /** The ioredis client, created (not yet connected) on first use. */
  get redis(): Redis {
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
  async runScript(source: string, args: readonly ScriptArg[], signal?: AbortSignal): Promise<unknown> {
    let sha = this.shas.get(source);
    if (sha === undefined) {
      sha = createHash('sha1').update(source).digest('hex');
      this.shas.set(source, sha);
    }
    try {
      return await this.redis.evalsha(sha, 0, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT') || signal?.aborted === true) throw error;
      return await this.redis.eval(source, 0, ...args);
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

  private createClient(): Redis {
    const client = new RedisClient(this.options.url, {
      lazyConnect: true,
      connectTimeout: Math.min(this.options.connectTimeoutMs, this.poolTimeoutMs ?? Infinity),
      commandTimeout: Math.min(this.options.commandTimeoutMs, this.poolTimeoutMs ?? Infinity),
      // A command fails at the first failed connection attempt instead of waiting for retries:
      // retrying is the retry layer's job, and it needs to see the failure to fail over.
      maxRetriesPerRequest: 0,
      // Keep reconnecting in the background (until close) so the pool recovers when the server does.
      retryStrategy: (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
      enableOfflineQueue: true,
      // disconnect() arms a ref'd timer of this length even when the socket is already closed (after
      // QUIT, or a refused connection) and never clears it: the 2 s default keeps a CLI alive 2 s.
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    });
    client.on('error', (error: Error) => {
      this.lastConnectionError = error;
    });
    client.on('ready', () => {
      this.lastConnectionError = undefined;
    });
    return client;
  }
}
