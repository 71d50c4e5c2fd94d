// The Redis backend against private redis-servers: the conformance suite, plus what only Redis can
// get wrong (binary safety, a server that is down or silent, index-only listing, TTL, OOM, auth).

import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { redisOptionsSchema, type RedisOptions } from '../../src/backends/redis/options.js';
import { isStorageError, type StorageError } from '../../src/errors.js';
import { runConformance } from '../conformance/suite.js';
import * as v from 'valibot';
import { describeWithRedis, startRedis, type RedisTestServer } from '../support/redis.js';

function poolFor(server: RedisTestServer, extra: Record<string, unknown> = {}): { backend: RedisBackend; options: RedisOptions } {
  const options = v.parse(redisOptionsSchema, server.poolOptions(extra));
  return { backend: new RedisBackend(options), options };
}

function backendFor(server: RedisTestServer, extra: Record<string, unknown> = {}): RedisBackend {
  return poolFor(server, extra).backend;
}

async function keysOf(iterable: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of iterable) keys.push(entry.key);
  return keys.sort();
}

async function failure(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStorageError(error)) throw new Error(`expected a StorageError, got ${String(error)}`);
  return error;
}

/** calls per command from INFO commandstats, e.g. { evalsha: 1, unlink: 200 }. */
async function commandCalls(server: RedisTestServer): Promise<Record<string, number>> {
  const info = String(await server.command('INFO', 'commandstats'));
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/**
 * Sockets, connection attempts and timers of this process once the dust of the previous step has
 * settled, to show that a closed backend holds none (an open one holds a reconnection timer).
 */
async function settledHandles(): Promise<string[]> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  return process.getActiveResourcesInfo().filter((name) => /^(TCPWrap|TCPSocketWrap|ConnectWrap|Timeout)$/.test(name)).sort();
}

describeWithRedis('redis backend', () => {
  // Under maxmemory so that usage() has a total, as the suite asks of a backend with usage.
  let conformanceServer: RedisTestServer | undefined;
  runConformance('redis', async () => {
    conformanceServer = await startRedis({ maxmemory: '256mb' });
    const backend = backendFor(conformanceServer);
    return {
      backend,
      cleanup: async () => {
        await backend.close();
        await conformanceServer?.close();
      },
    };
  });

  let server: RedisTestServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('round-trips every byte value, from a Buffer and from a Uint8Array view', async () => {
    const backend = backendFor(server);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await backend.write('hls/bin/segment_1.ts', all);
    expect((await backend.read('hls/bin/segment_1.ts')).equals(all)).toBe(true);
    const view = new Uint8Array(all.buffer, all.byteOffset + 10, 100);
    await backend.write('hls/bin/segment_2.ts', view);
    expect((await backend.read('hls/bin/segment_2.ts')).equals(all.subarray(10, 110))).toBe(true);
    expect((await backend.stat('hls/bin/segment_2.ts')).size).toBe(100);
    await backend.close();
  });

  it('writes only Redis keys that start with its keyPrefix', async () => {
    const { backend: own, options } = poolFor(server);
    const prefix = options.keyPrefix;
    const before = Number(await server.command('DBSIZE'));
    await own.write('hls/p/segment_1.ts', Buffer.from('x'));
    await own.write('top.ts', Buffer.from('y'));
    const after = Number(await server.command('DBSIZE'));
    const mine = (await server.command('KEYS', `${prefix}*`)) as string[];
    expect(mine.length).toBeGreaterThan(0);
    expect(after - before).toBe(mine.length);
    await own.close();
  });

  it('never lists keys under the reserved prefix', async () => {
    const backend = backendFor(server);
    await backend.write('.flux-storage/probe', Buffer.from('p'));
    await backend.write('hls/r/segment_1.ts', Buffer.from('x'));
    expect(await keysOf(backend.list(''))).toEqual(['hls/r/segment_1.ts']);
    await backend.close();
  });

  it('lists one stream among 50,000 other keys from its index alone, and pages big folders completely', async () => {
    const backend = backendFor(server);
    const other: string[] = [];
    for (let stream = 0; stream < 49; stream += 1) for (let i = 0; i < 1000; i += 1) other.push(`hls/other${stream}/segment_${i}.ts`);
    for (let i = 0; i < 2500; i += 1) other.push(`hls/big/segment_${i}.ts`);
    const started = Date.now();
    for (let i = 0; i < other.length; i += 2000) {
      await Promise.all(other.slice(i, i + 2000).map((key) => backend.write(key, Buffer.from('s'))));
    }
    const target = Array.from({ length: 20 }, (_, i) => `hls/target/segment_${i}.ts`);
    for (const key of target) await backend.write(key, Buffer.from('t'));
    const wrote = Date.now() - started;

    await server.command('CONFIG', 'RESETSTAT');
    const listStart = performance.now();
    expect(await keysOf(backend.list('hls/target/'))).toEqual([...target].sort());
    const listMs = performance.now() - listStart;
    const calls = await commandCalls(server);
    const total = Object.entries(calls)
      .filter(([name]) => name !== 'config|resetstat')
      .reduce((sum, [, count]) => sum + count, 0);
    expect(calls.scan ?? 0).toBe(0);
    expect(calls.keys ?? 0).toBe(0);
    // One listing script call (a ZRANGEBYLEX and 20 HMGETs inside it) and one sub-folder read.
    expect(total).toBeLessThan(40);

    expect(await keysOf(backend.list('hls/big/'))).toHaveLength(2500);
    let count = 0;
    for await (const entry of backend.list('hls/')) {
      count += 1;
      expect(entry.size).toBe(1);
    }
    expect(count).toBe(other.length + target.length);
    console.info(`wrote ${other.length + target.length} keys in ${wrote} ms; listed one stream in ${listMs.toFixed(1)} ms with ${total} server commands`);
    await backend.close();
  }, 120_000);

  it('leaves no ghost in the listing or the index once objects expire by TTL', async () => {
    const { backend: own, options } = poolFor(server, { ttlSeconds: 1 });
    const prefix = options.keyPrefix;
    const keys = ['ttl/s/segment_1.ts', 'ttl/s/segment_2.ts', 'ttl/s/deep/segment_3.ts'];
    for (const key of keys) await own.write(key, Buffer.from('soon gone'));
    const ttl = Number(await server.command('PTTL', `${prefix}o:ttl/s/segment_1.ts`));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    expect(await keysOf(own.list('ttl/'))).toEqual([...keys].sort());
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(await keysOf(own.list(''))).toEqual([]);
    expect(await own.exists('ttl/s/segment_1.ts')).toBe(false);
    // The listing trimmed the indexes and pruned the emptied folders up to the top.
    expect(await server.command('KEYS', `${prefix}*`)).toEqual([]);
    await own.close();
  });

  it('a rewrite without TTL keeps the object and takes it out of the expiry index', async () => {
    const { backend: withTtl, options } = poolFor(server, { ttlSeconds: 1 });
    const prefix = options.keyPrefix;
    const without = new RedisBackend({ ...options, ttlSeconds: undefined });
    await withTtl.write('keep/a.ts', Buffer.from('1'));
    await without.write('keep/a.ts', Buffer.from('2'));
    expect(Number(await server.command('PTTL', `${prefix}o:keep/a.ts`))).toBe(-1);
    expect(Number(await server.command('ZCARD', `${prefix}e:keep/`))).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await keysOf(without.list(''))).toEqual(['keep/a.ts']);
    await withTtl.close();
    await without.close();
  });

  it('deleteMany removes a batch in one round trip, and 25,000 keys in three', async () => {
    const backend = backendFor(server);
    const keys = Array.from({ length: 200 }, (_, i) => `hls/dm/segment_${i}.ts`);
    await Promise.all(keys.map((key) => backend.write(key, Buffer.from('d'))));
    await backend.delete('hls/dm/warm-up.ts');
    await server.command('CONFIG', 'RESETSTAT');
    const result = await backend.deleteMany(keys);
    const calls = await commandCalls(server);
    expect(result.failed).toEqual([]);
    expect(result.deleted).toHaveLength(200);
    expect(calls.evalsha).toBe(1);
    expect(calls.eval ?? 0).toBe(0);
    expect(calls.unlink).toBe(200);
    expect(await keysOf(backend.list('hls/dm/'))).toEqual([]);

    const many = Array.from({ length: 25_000 }, (_, i) => `hls/dm2/s${i % 5}/segment_${i}.ts`);
    for (let i = 0; i < many.length; i += 5000) await Promise.all(many.slice(i, i + 5000).map((key) => backend.write(key, Buffer.from('d'))));
    await server.command('CONFIG', 'RESETSTAT');
    const big = await backend.deleteMany([...many, 'bad//key']);
    expect((await commandCalls(server)).evalsha).toBe(3);
    expect(big.deleted).toHaveLength(25_000);
    expect(big.failed.map((f) => [f.key, (f.error as StorageError).code])).toEqual([['bad//key', 'InvalidKey']]);
    expect(await keysOf(backend.list('hls/dm2/'))).toEqual([]);
    await backend.close();
  }, 60_000);

  it('fails fast with Unavailable while the server is down, recovers when it is back, and closes cleanly', async () => {
    const own = await startRedis();
    const baseline = await settledHandles();
    const backend = backendFor(own);
    try {
      await backend.write('hls/down/segment_1.ts', Buffer.from('before'));
      await own.stop();
      for (const attempt of [() => backend.write('hls/down/segment_2.ts', Buffer.from('x')), () => backend.read('hls/down/segment_1.ts')]) {
        const started = Date.now();
        const error = await failure(attempt());
        expect(error.code).toBe('Unavailable');
        expect(error.retryable).toBe(true);
        expect(Date.now() - started).toBeLessThan(3000);
      }
      await own.start();
      // The client reconnects in the background; within about a second the same backend works again.
      const restarted = Date.now();
      let recovered = false;
      while (!recovered && Date.now() - restarted < 5000) {
        recovered = await backend.exists('hls/down/segment_1.ts').then(
          () => true,
          () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
        );
      }
      expect(recovered).toBe(true);
      await backend.write('hls/down/segment_3.ts', Buffer.from('after'));
      expect((await backend.read('hls/down/segment_3.ts')).toString()).toBe('after');
      await own.stop();
      await failure(backend.exists('hls/down/segment_1.ts'));
    } finally {
      await backend.close();
      await backend.close();
      await own.close();
    }
    expect(await settledHandles()).toEqual(baseline);
  }, 30_000);

  it('a backend whose server never was up fails within 3 s and closes without lingering', async () => {
    const own = await startRedis();
    await own.stop();
    const baseline = await settledHandles();
    const backend = backendFor(own);
    const started = Date.now();
    const error = await failure(backend.stat('hls/x/segment_1.ts'));
    expect(error.code).toBe('Unavailable');
    expect(error.message).toContain(`127.0.0.1:${own.port}`);
    expect(Date.now() - started).toBeLessThan(3000);
    await backend.close();
    await own.close();
    expect(await settledHandles()).toEqual(baseline);
  });

  it('times out on a server that accepts connections but never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const backend = new RedisBackend(v.parse(redisOptionsSchema, { type: 'redis', url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 300 }));
    const started = Date.now();
    const error = await failure(backend.read('hls/s/segment_1.ts'));
    expect(error.code).toBe('Timeout');
    expect(Date.now() - started).toBeLessThan(2000);
    await backend.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('reports usage from maxmemory, and a write over it as QuotaExceeded that changes nothing', async () => {
    const small = await startRedis({ maxmemory: '4mb' });
    const backend = backendFor(small);
    try {
      const usage = await backend.usage();
      expect(usage.totalBytes).toBe(4 * 1024 * 1024);
      expect(usage.usedBytes).toBeGreaterThan(0);
      const unlimited = await backendFor(server).usage();
      expect(unlimited.totalBytes).toBeNull();
      expect(unlimited.usedBytes).toBeGreaterThan(0);

      const chunk = Buffer.alloc(1024 * 1024, 7);
      let error: StorageError | undefined;
      let written = 0;
      for (; error === undefined && written < 10; written += 1) {
        error = await backend.write(`hls/full/segment_${written}.ts`, chunk).then(() => undefined, (e: StorageError) => e);
      }
      expect(error?.code).toBe('QuotaExceeded');
      expect(error?.retryable).toBe(false);
      const refused = `hls/full/segment_${written - 1}.ts`;
      expect(await backend.exists(refused)).toBe(false);
      expect(await keysOf(backend.list('hls/full/'))).toHaveLength(written - 1);
      // Deleting still works on a full server.
      expect((await backend.deleteMany(await keysOf(backend.list('hls/full/')))).failed).toEqual([]);
    } finally {
      await backend.close();
      await small.close();
    }
  });

  it('reports a wrong or missing password as PermissionDenied, never showing the password', async () => {
    const locked = await startRedis({ requirepass: 'right-Pass-1' });
    const wrongPassword = 'wr0ng-Secret-77';
    const options = (url: string): RedisBackend => new RedisBackend(v.parse(redisOptionsSchema, { ...locked.poolOptions(), url }));
    const wrong = options(`redis://:${wrongPassword}@127.0.0.1:${locked.port}`);
    const none = options(`redis://127.0.0.1:${locked.port}`);
    const right = options(locked.url);
    try {
      for (const attempt of [() => wrong.write('a/b.ts', Buffer.from('x')), () => wrong.read('a/b.ts'), () => none.exists('a/b.ts')]) {
        const error = await failure(attempt());
        expect(error.code).toBe('PermissionDenied');
        expect(error.message).not.toContain(wrongPassword);
        expect(JSON.stringify(error.toJSON())).not.toContain(wrongPassword);
      }
      await right.write('a/b.ts', Buffer.from('x'));
      expect((await right.read('a/b.ts')).toString()).toBe('x');
    } finally {
      await Promise.all([wrong.close(), none.close(), right.close()]);
      await locked.close();
    }
  });
});
