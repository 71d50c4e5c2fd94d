// StorageManager: selection by priority, usage and health; failover with a pool that really fails;
// any-pool reads; deletes from every pool; the union listing.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { StorageBackend } from '../../src/backends/types.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS, type PoolConfig } from '../../src/pool/pool.js';

async function localBackend(): Promise<LocalBackend> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flux-mgr-'));
  return new LocalBackend({ type: 'local', root: dir, fsync: false, concurrency: 8 });
}

/** A local pool whose root is an existing regular file: every write fails, even as root. */
async function brokenBackend(): Promise<LocalBackend> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flux-broken-'));
  const file = path.join(dir, 'a-file');
  await writeFile(file, 'not a folder');
  return new LocalBackend({ type: 'local', root: file, fsync: false, concurrency: 8 });
}

/** A real local backend whose usage() reports a chosen fill level. */
function withUsage(backend: StorageBackend, usedBytes: number, totalBytes: number): StorageBackend {
  return Object.assign(Object.create(backend) as StorageBackend, {
    capabilities: backend.capabilities,
    type: backend.type,
    usage: async () => ({ usedBytes, totalBytes }),
  });
}

function config(name: string, extra: Partial<PoolConfig> = {}): PoolConfig {
  return { ...POOL_DEFAULTS, name, ...extra };
}

describe('StorageManager', () => {
  it('writes to the lowest priority number', async () => {
    const manager = StorageManager.fromBackends([
      [config('second', { priority: 2 }), await localBackend()],
      [config('first', { priority: 1 }), await localBackend()],
    ]);
    const outcome = await manager.write('hls/a/segment_1.ts', Buffer.from('x'));
    expect(outcome).toEqual({ pool: 'first', failedOver: [], skipped: [], staleCopies: [] });
    expect(await manager.pool('first').exists('hls/a/segment_1.ts')).toBe(true);
    expect(await manager.pool('second').exists('hls/a/segment_1.ts')).toBe(false);
  });

  it('breaks a priority tie by the least used pool', async () => {
    const manager = StorageManager.fromBackends([
      [config('fuller'), withUsage(await localBackend(), 50, 100)],
      [config('emptier'), withUsage(await localBackend(), 10, 100)],
    ]);
    expect((await manager.write('hls/a/segment_1.ts', Buffer.from('x'))).pool).toBe('emptier');
  });

  it('skips a pool that the write would take over its maxUsagePercent, and never blocks on unknown usage', async () => {
    const manager = StorageManager.fromBackends([
      [config('full', { priority: 1, maxUsagePercent: 80 }), withUsage(await localBackend(), 79, 100)],
      [config('unknown', { priority: 2 }), Object.assign(await localBackend(), { usage: async () => ({ usedBytes: null, totalBytes: null }) })],
    ]);
    const { eligible, skipped } = await manager.selectPoolsForWrite(5);
    expect(eligible.map((p) => p.name)).toEqual(['unknown']);
    expect(skipped[0]).toMatchObject({ pool: 'full', reason: 'full' });
    expect(skipped[0]?.detail).toMatch(/84\.0% full, over its 80% limit/);
    expect((await manager.write('hls/a/segment_1.ts', Buffer.alloc(5))).pool).toBe('unknown');
  });

  it('fails over from a pool whose writes fail, and says which pool took the data', async () => {
    const manager = StorageManager.fromBackends([
      [config('broken', { priority: 1 }), await brokenBackend()],
      [config('good', { priority: 2 }), await localBackend()],
    ]);
    const outcome = await manager.write('hls/a/segment_1.ts', Buffer.from('data'));
    expect(outcome.pool).toBe('good');
    expect(outcome.failedOver).toHaveLength(1);
    expect(outcome.failedOver[0]?.pool).toBe('broken');
    expect(outcome.failedOver[0]?.error.message).toMatch(/pool "broken" \(local\).*not a directory/);
    expect((await manager.read('hls/a/segment_1.ts')).pool).toBe('good');
  });

  it('marks a pool unhealthy after repeated failures and stops choosing it', async () => {
    const manager = StorageManager.fromBackends([
      [config('broken', { priority: 1 }), await brokenBackend()],
      [config('good', { priority: 2 }), await localBackend()],
    ]);
    for (let i = 0; i < 3; i++) await manager.write(`hls/a/segment_${i}.ts`, Buffer.from('x'));
    expect(manager.pool('broken').health).toBe('unhealthy');
    const outcome = await manager.write('hls/a/segment_9.ts', Buffer.from('x'));
    expect(outcome.failedOver).toEqual([]);
  });

  it('fails only when no pool took the write, naming every reason', async () => {
    const manager = StorageManager.fromBackends([
      [config('b1', { priority: 1 }), await brokenBackend()],
      [config('b2', { priority: 2 }), await brokenBackend()],
    ]);
    await expect(manager.write('hls/a/segment_1.ts', Buffer.from('x'))).rejects.toThrow(/no pool took the write \(b1: .*not a directory; b2: .*not a directory\)/);
  });

  it('a probe of a broken pool makes it unhealthy; of a good one, healthy', async () => {
    const manager = StorageManager.fromBackends([
      [config('broken'), await brokenBackend()],
      [config('good'), await localBackend()],
    ]);
    expect((await manager.pool('broken').probe()).ok).toBe(false);
    expect(manager.pool('broken').health).toBe('unhealthy');
    expect((await manager.pool('good').probe()).ok).toBe(true);
    expect(manager.pool('good').health).toBe('healthy');
  });

  it('reads from whichever pool has the key, NotFound only when none has it', async () => {
    const manager = StorageManager.fromBackends([
      [config('p1', { priority: 1 }), await localBackend()],
      [config('p2', { priority: 2 }), await localBackend()],
    ]);
    await manager.pool('p2').write('hls/a/segment_1.ts', Buffer.from('in p2'));
    expect(await manager.read('hls/a/segment_1.ts')).toEqual({ data: Buffer.from('in p2'), pool: 'p2' });
    await expect(manager.read('hls/a/segment_2.ts')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('does not call a key missing when a pool could not answer', async () => {
    const manager = StorageManager.fromBackends([
      [config('broken', { priority: 1 }), await brokenBackend()],
      [config('good', { priority: 2 }), await localBackend()],
    ]);
    await expect(manager.read('hls/a/segment_2.ts')).rejects.toMatchObject({ code: 'Unavailable' });
  });

  it('deletes from every pool that holds the key', async () => {
    const manager = StorageManager.fromBackends([
      [config('p1', { priority: 1 }), await localBackend()],
      [config('p2', { priority: 2 }), await localBackend()],
      [config('p3', { priority: 3 }), await localBackend()],
    ]);
    await manager.pool('p1').write('hls/a/segment_1.ts', Buffer.from('1'));
    await manager.pool('p3').write('hls/a/segment_1.ts', Buffer.from('3'));
    expect(await manager.delete('hls/a/segment_1.ts')).toEqual({ deletedFrom: ['p1', 'p3'] });
    await expect(manager.read('hls/a/segment_1.ts')).rejects.toMatchObject({ code: 'NotFound' });
    await expect(manager.delete('hls/a/segment_1.ts')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('lists the union of all pools with the pools holding each key, and reports a failed listing', async () => {
    const manager = StorageManager.fromBackends([
      [config('p1', { priority: 1 }), await localBackend()],
      [config('p2', { priority: 2 }), await localBackend()],
      [config('broken', { priority: 3 }), await brokenBackend()],
    ]);
    await manager.pool('p1').write('hls/a/segment_1.ts', Buffer.from('1'));
    await manager.pool('p2').write('hls/a/segment_1.ts', Buffer.from('1'));
    await manager.pool('p2').write('hls/a/segment_2.ts', Buffer.from('2'));
    const { objects, failures } = await manager.list('hls/');
    expect([...objects].map(([key, o]) => [key, o.pools]).sort()).toEqual([
      ['hls/a/segment_1.ts', ['p1', 'p2']],
      ['hls/a/segment_2.ts', ['p2']],
    ]);
    expect(failures.map((f) => f.pool)).toEqual(['broken']);
  });

  it('rejects an unknown pool name with the list of configured ones', async () => {
    const manager = StorageManager.fromBackends([[config('only'), await localBackend()]]);
    expect(() => manager.pool('nope')).toThrow('unknown pool "nope": the configured pools are only');
  });

  it('rejects two pools with one name', async () => {
    expect(() => StorageManager.fromBackends([[config('x'), new LocalBackend({ type: 'local', root: '/tmp/a', fsync: false, concurrency: 1 })], [config('x'), new LocalBackend({ type: 'local', root: '/tmp/b', fsync: false, concurrency: 1 })]])).toThrow(/two pools are named "x"/);
  });
});
