// The pool policy through the manager, against real pools: read your write when the preferred pool
// is full, read-only or broken (local, s3rver, redis-server), two entries of one store, read-only
// pools refused with nothing written, recovery after failures, aggregated error codes.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendOptionsSchema, createBackend } from '../../src/backends/registry.js';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { StorageBackend } from '../../src/backends/types.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS, type PoolConfig } from '../../src/pool/pool.js';
import { describeWithRedis, startRedis, type RedisTestServer } from '../support/redis.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';

const KEY = 'hls/cam1/index.m3u8';

async function folder(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'flux-policy-'));
}

function local(root: string): LocalBackend {
  return new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 });
}

function config(name: string, extra: Partial<PoolConfig> = {}): PoolConfig {
  return { ...POOL_DEFAULTS, name, ...extra };
}

async function backend(options: Record<string, unknown>, name: string): Promise<StorageBackend> {
  return createBackend(v.parse(backendOptionsSchema, options), { poolName: name, baseDir: tmpdir() });
}

/** Every file under a folder, reserved ones included. */
async function files(root: string): Promise<string[]> {
  return existsSync(root) ? ((await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)))) : [];
}

describe('read your write across local pools', () => {
  it('preferred pool full by maxUsagePercent: the rewrite lands in the next pool, the older copy is removed, every reader gets the new bytes', async () => {
    const [a, b] = [await folder(), await folder()];
    const first = StorageManager.fromBackends([[config('a', { priority: 1 }), local(a)], [config('b', { priority: 2 }), local(b)]]);
    expect((await first.write(KEY, Buffer.from('v1'))).pool).toBe('a');
    // The disk holding `a` is more than 0% used: with maxUsagePercent 0, `a` takes no write.
    const full = StorageManager.fromBackends([[config('a', { priority: 1, maxUsagePercent: 0 }), local(a)], [config('b', { priority: 2 }), local(b)]]);
    const outcome = await full.write(KEY, Buffer.from('v2'));
    expect(outcome).toMatchObject({ pool: 'b', failedOver: [], staleCopies: [] });
    expect(outcome.skipped).toEqual([expect.objectContaining({ pool: 'a', reason: 'full' })]);
    expect(await full.read(KEY)).toEqual({ data: Buffer.from('v2'), pool: 'b' });
    // Another process (a fresh manager, the first one too) reads the new bytes.
    const other = StorageManager.fromBackends([[config('a', { priority: 1 }), local(a)], [config('b', { priority: 2 }), local(b)]]);
    expect((await other.read(KEY)).data.toString()).toBe('v2');
    expect((await first.read(KEY)).data.toString()).toBe('v2');
    expect(await files(a)).not.toContain(KEY);
  });

  it('the common path sends nothing to other pools: a write to the first pool of read order', async () => {
    const [a, b] = [await folder(), await folder()];
    const calls: string[] = [];
    const counted = Object.assign(Object.create(local(b)) as StorageBackend, {
      delete: async (key: string) => void calls.push(`delete ${key}`),
      stat: async (key: string) => {
        calls.push(`stat ${key}`);
        throw new Error('not expected');
      },
    });
    const manager = StorageManager.fromBackends([[config('a', { priority: 1 }), local(a)], [config('b', { priority: 2 }), counted]]);
    await manager.write(KEY, Buffer.from('v1'));
    await manager.write(KEY, Buffer.from('v2'));
    expect(calls).toEqual([]);
  });

  it('preferred pool read-only: the rewrite lands below it, the read-only copy is removed (cleaning is allowed)', async () => {
    const [a, b] = [await folder(), await folder()];
    await local(a).write(KEY, Buffer.from('v1'));
    const manager = StorageManager.fromBackends([[config('archive', { priority: 1, readOnly: true }), local(a)], [config('b', { priority: 2 }), local(b)]]);
    const outcome = await manager.write(KEY, Buffer.from('v2'));
    expect(outcome).toMatchObject({ pool: 'b', staleCopies: [], skipped: [{ pool: 'archive', reason: 'read-only' }] });
    const other = StorageManager.fromBackends([[config('archive', { priority: 1, readOnly: true }), local(a)], [config('b', { priority: 2 }), local(b)]]);
    expect(await other.read(KEY)).toEqual({ data: Buffer.from('v2'), pool: 'b' });
  });

  it('preferred pool broken at write time (its root became a file): reads skip its older copy, and once it is back the copy is removed', async () => {
    const [a, b] = [await folder(), await folder()];
    const rootA = path.join(a, 'root');
    await mkdir(rootA);
    await local(rootA).write(KEY, Buffer.from('v1'));
    const manager = StorageManager.fromBackends([[config('a', { priority: 1 }), local(rootA)], [config('b', { priority: 2 }), local(b)]]);
    // The disk is unmounted: the folder moves away and a regular file stands in its place.
    await rename(rootA, `${rootA}.away`);
    await writeFile(rootA, 'not a folder');
    const outcome = await manager.write(KEY, Buffer.from('v2'));
    expect(outcome.pool).toBe('b');
    expect(outcome.failedOver.map((f) => f.pool)).toEqual(['a']);
    expect(outcome.staleCopies.map((f) => f.pool)).toEqual(['a']);
    expect(outcome.staleCopies[0]?.error.message).toMatch(/an older copy may remain/);
    // The disk comes back with the older copy on it.
    await rm(rootA);
    await rename(`${rootA}.away`, rootA);
    expect(await manager.read(KEY)).toEqual({ data: Buffer.from('v2'), pool: 'b' });
    expect(await files(rootA)).not.toContain(KEY);
    const other = StorageManager.fromBackends([[config('a', { priority: 1 }), local(rootA)], [config('b', { priority: 2 }), local(b)]]);
    expect((await other.read(KEY)).data.toString()).toBe('v2');
  });

  it('two entries of one folder (spelled two ways, or through a symlink): the new bytes are never deleted as a "stale copy"', async () => {
    const dir = await folder();
    const root = path.join(dir, 'store');
    await mkdir(root);
    await symlink(root, path.join(dir, 'link'));
    for (const second of [`${dir}/./store/../store`, path.join(dir, 'link')]) {
      await local(root).write(KEY, Buffer.from('v1'));
      const manager = StorageManager.fromBackends([
        [config('a', { priority: 1, maxUsagePercent: 0 }), local(root)],
        [config('b', { priority: 2 }), local(second)],
      ]);
      const outcome = await manager.write(KEY, Buffer.from('v2'));
      expect(outcome).toMatchObject({ pool: 'b', staleCopies: [] });
      expect((await manager.read(KEY)).data.toString()).toBe('v2');
      expect((await local(root).read(KEY)).toString()).toBe('v2');
    }
  });

  it('a location learnt by a write is forgotten by every delete path (deleteMany as cleanup uses it, too)', async () => {
    const [a, b] = [await folder(), await folder()];
    const manager = StorageManager.fromBackends([[config('a', { priority: 1, maxUsagePercent: 0 }), local(a)], [config('b', { priority: 2 }), local(b)]]);
    await manager.write(KEY, Buffer.from('in b'));
    await local(a).write(KEY, Buffer.from('in a, written by someone else'));
    expect((await manager.read(KEY)).pool).toBe('b');
    expect(await manager.pool('b').deleteMany([KEY])).toMatchObject({ deleted: [KEY] });
    expect(await manager.read(KEY)).toEqual({ data: Buffer.from('in a, written by someone else'), pool: 'a' });
  });
});

describe('a write to a read-only pool chosen explicitly', () => {
  it('is refused with InvalidArgument and writes nothing, through the manager and through the pool', async () => {
    const root = await folder();
    const manager = StorageManager.fromBackends([[config('archive', { readOnly: true }), local(root)], [config('ssd', { priority: 2 }), local(await folder())]]);
    await expect(manager.write(KEY, Buffer.from('x'), { pool: 'archive' })).rejects.toMatchObject({ code: 'InvalidArgument', pool: 'archive' });
    await expect(manager.pool('archive').write(KEY, Buffer.from('x'))).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(await files(root)).toEqual([]);
    expect(manager.pool('archive').health).toBe('healthy');
  });

  it('a write with only read-only pools fails with InvalidArgument (nothing can be written), not a retryable Unavailable', async () => {
    const manager = StorageManager.fromBackends([[config('r1', { readOnly: true }), local(await folder())], [config('r2', { readOnly: true }), local(await folder())]]);
    await expect(manager.write(KEY, Buffer.from('x'))).rejects.toMatchObject({ code: 'InvalidArgument', retryable: false });
  });
});

describe('health recovers', () => {
  it('a broken pool is skipped while open, tried once after its back-off, and taken again once it works', async () => {
    let now = 1_000_000;
    const dir = await folder();
    const rootA = path.join(dir, 'a');
    await writeFile(rootA, 'a file: the root is broken');
    const manager = StorageManager.fromBackends([[config('a', { priority: 1 }), local(rootA)], [config('b', { priority: 2 }), local(await folder())]], {
      health: { now: () => now, baseBackoffMs: 10_000 },
    });
    const a = manager.pool('a');
    expect((await a.probe()).ok).toBe(false);
    expect([a.health, a.breakerState]).toEqual(['unhealthy', 'open']);
    const skipped = await manager.write('hls/cam1/segment_1.ts', Buffer.from('1'));
    expect(skipped).toMatchObject({ pool: 'b', failedOver: [], skipped: [{ pool: 'a', reason: 'unhealthy' }] });
    // Fixed, but still within the back-off: not tried.
    await rm(rootA);
    await mkdir(rootA);
    now += 9_999;
    expect((await manager.write('hls/cam1/segment_2.ts', Buffer.from('2'))).pool).toBe('b');
    now += 1;
    expect(a.breakerState).toBe('half-open');
    expect((await manager.write('hls/cam1/segment_3.ts', Buffer.from('3'))).pool).toBe('a');
    // Closed again; degraded while the failed probe is among its recent outcomes.
    expect([a.health, a.breakerState]).toEqual(['degraded', 'closed']);
    expect((await manager.write('hls/cam1/segment_4.ts', Buffer.from('4'))).pool).toBe('a');
  });

  it('a failed probe does not stick: once the pool works again, its calls make it healthy', async () => {
    const root = path.join(await folder(), 'root');
    await writeFile(root, 'a file: the root is broken');
    const manager = StorageManager.fromBackends([[config('a'), local(root)]]);
    expect((await manager.pool('a').probe()).ok).toBe(false);
    expect(manager.pool('a').health).toBe('unhealthy');
    await rm(root);
    await mkdir(root);
    await local(root).write(KEY, Buffer.from('x'));
    // The only pool, so reads still go to it; the first success closes it.
    await manager.read(KEY);
    expect(manager.pool('a').health).toBe('degraded');
    for (let i = 0; i < 50; i++) await manager.read(KEY);
    expect(manager.pool('a').health).toBe('healthy');
  });

  it('a read skips a pool known to be down, yet still tries it last before answering', async () => {
    const now = 1_000_000;
    const dir = await folder();
    const rootA = path.join(dir, 'a');
    await writeFile(rootA, 'broken');
    const b = await folder();
    const manager = StorageManager.fromBackends([[config('a', { priority: 1 }), local(rootA)], [config('b', { priority: 2 }), local(b)]], { health: { now: () => now } });
    await manager.pool('a').probe();
    await local(b).write(KEY, Buffer.from('in b'));
    const before = manager.pool('a').metrics().operations;
    expect((await manager.read(KEY)).pool).toBe('b');
    expect(manager.pool('a').metrics().operations).toBe(before);
    // Not in b: a is tried after all, and its failure is reported, not "not found".
    await expect(manager.read('hls/cam1/segment_9.ts')).rejects.toMatchObject({ code: 'Unavailable' });
    expect(manager.pool('a').metrics().operations).toBe(before + 1);
  });
});

describe('usage in the background', () => {
  /** A real local backend whose usage() answers only when `release` is called, counting calls. */
  function slowUsage(root: string) {
    const inner = local(root);
    let calls = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const backend = Object.assign(Object.create(inner) as StorageBackend, {
      type: inner.type,
      capabilities: inner.capabilities,
      usage: async () => {
        calls++;
        await gate;
        return { usedBytes: 10, totalBytes: 100 };
      },
    });
    return { backend, calls: () => calls, release: () => release() };
  }

  it('never stalls a write: the first waits a bounded time, the next not at all, and one measurement runs at a time', async () => {
    const slow = slowUsage(await folder());
    const manager = StorageManager.fromBackends([[config('a'), slow.backend]], { firstUsageWaitMs: 3_000 });
    let started = performance.now();
    expect((await manager.write('hls/cam1/segment_1.ts', Buffer.from('1'))).pool).toBe('a');
    expect(performance.now() - started).toBeLessThan(8_000);
    started = performance.now();
    await Promise.all([2, 3, 4].map((id) => manager.write(`hls/cam1/segment_${id}.ts`, Buffer.from('x'))));
    // Far less than the first write's wait: these did not wait for the figure.
    expect(performance.now() - started).toBeLessThan(2_500);
    expect(slow.calls()).toBe(1);
    slow.release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The figure arrived, plus the bytes written since the measurement started.
    expect((await manager.pool('a').knownUsage())?.usedBytes).toBe(10 + 4);
  });

  it('a slow measurement is not cut by the per-call deadline (a quota counted over many pages)', async () => {
    const slow = slowUsage(await folder());
    const pool = StorageManager.fromBackends([[config('a', { timeoutMs: 100 }), slow.backend]]).pool('a');
    expect(await pool.usage()).toEqual({ usedBytes: null, totalBytes: null, percent: null });
    await new Promise((resolve) => setTimeout(resolve, 300));
    slow.release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await pool.usage()).toEqual({ usedBytes: 10, totalBytes: 100, percent: 10 });
    expect(slow.calls()).toBe(1);
  });
});

describe('read your write with S3 (s3rver) above Redis', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
  }, 60_000);
  afterAll(async () => {
    await s3?.close();
  });

  it('a pool that is down at write time: reads in this process skip its older copy', async () => {
    const b = await folder();
    const opts = s3.poolOptions({ connectTimeoutMs: 300, retries: 0 });
    const manager = StorageManager.fromBackends([[config('s3', { priority: 1, timeoutMs: 3000 }), await backend(opts, 's3')], [config('disk', { priority: 2 }), local(b)]]);
    await manager.write(KEY, Buffer.from('v1'));
    await s3.stop();
    try {
      const outcome = await manager.write(KEY, Buffer.from('v2'));
      expect(outcome.pool).toBe('disk');
      expect(outcome.staleCopies.map((f) => f.pool)).toEqual(['s3']);
    } finally {
      await s3.start();
    }
    expect(await manager.read(KEY)).toEqual({ data: Buffer.from('v2'), pool: 'disk' });
    const fresh = StorageManager.fromBackends([[config('s3', { priority: 1 }), await backend(opts, 's3')], [config('disk', { priority: 2 }), local(b)]]);
    expect((await fresh.read(KEY)).data.toString()).toBe('v2');
    await Promise.all([manager.close(), fresh.close()]);
  }, 60_000);

  describeWithRedis('and redis-server', () => {
    let redis: RedisTestServer;
    beforeAll(async () => {
      redis = await startRedis();
    }, 30_000);
    afterAll(async () => {
      await redis?.close();
    });

    it('S3 over its quota: the rewrite lands in Redis, the S3 copy is removed, a fresh reader gets the new bytes', async () => {
      const s3Options = s3.poolOptions({ quotaBytes: 1000 });
      const redisOptions = redis.poolOptions();
      const open = async (maxUsagePercent: number) =>
        StorageManager.fromBackends([
          [config('s3', { priority: 1, maxUsagePercent }), await backend(s3Options, 's3')],
          [config('redis', { priority: 2 }), await backend(redisOptions, 'redis')],
        ]);
      const roomy = await open(100);
      expect((await roomy.write(KEY, Buffer.alloc(600, 1))).pool).toBe('s3');
      const tight = await open(50);
      const outcome = await tight.write(KEY, Buffer.alloc(100, 2));
      expect(outcome).toMatchObject({ pool: 'redis', staleCopies: [], skipped: [{ pool: 's3', reason: 'full' }] });
      await s3.resetRequests();
      const reader = await open(100);
      expect(await reader.read(KEY)).toEqual({ data: Buffer.alloc(100, 2), pool: 'redis' });
      await expect(reader.pool('s3').stat(KEY)).rejects.toMatchObject({ code: 'NotFound' });
      await Promise.all([roomy.close(), tight.close(), reader.close()]);
    }, 60_000);

    it('every pool refusing for the same reason keeps that code: all PermissionDenied is PermissionDenied, not a retryable Unavailable', async () => {
      const guarded = await startRedis({ requirepass: 'right-password' });
      try {
        const wrong = `redis://:wrong-password@127.0.0.1:${guarded.port}`;
        const manager = StorageManager.fromBackends([
          [config('r1', { priority: 1 }), await backend({ ...guarded.poolOptions(), url: wrong }, 'r1')],
          [config('r2', { priority: 2 }), await backend({ ...guarded.poolOptions(), url: wrong }, 'r2')],
        ]);
        await expect(manager.read(KEY)).rejects.toMatchObject({ code: 'PermissionDenied', retryable: false });
        await expect(manager.write(KEY, Buffer.from('x'))).rejects.toMatchObject({ code: 'PermissionDenied', retryable: false });
        await manager.close();
      } finally {
        await guarded.close();
      }
    }, 60_000);
  });
});
