// README promises of the pool settings, each by a test that fails when the promise breaks:
// readOnly ("read, listed and cleaned, never chosen for writes"), read order ("read first (1 before
// 2)"), and the probe ("writes, reads back and deletes": a read-back that differs is a failure).

import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { StorageBackend } from '../../src/backends/types.js';
import { isStorageError } from '../../src/errors.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS, StoragePool, type PoolConfig } from '../../src/pool/pool.js';

async function localBackend(): Promise<LocalBackend> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flux-promise-'));
  return new LocalBackend({ type: 'local', root: dir, fsync: false, concurrency: 8 });
}

function pool(name: string, backend: StorageBackend, extra: Partial<PoolConfig> = {}): StoragePool {
  return new StoragePool({ ...POOL_DEFAULTS, name, ...extra }, backend);
}

const KEY = 'hls/cam1/segment_1.ts';

describe('readOnly', () => {
  it('a read-only pool, even the preferred one, is never chosen for a write; it is still read and listed', async () => {
    const [ro, rw] = [await localBackend(), await localBackend()];
    await ro.write('hls/cam1/segment_0.ts', Buffer.from('old'));
    const manager = new StorageManager([pool('archive', ro, { priority: 1, readOnly: true }), pool('disk', rw, { priority: 2 })]);
    expect((await manager.write(KEY, Buffer.from('new'))).pool).toBe('disk');
    expect(await ro.exists(KEY)).toBe(false);
    expect(await manager.read('hls/cam1/segment_0.ts')).toMatchObject({ pool: 'archive' });
    const { objects, failures } = await manager.list('hls/');
    expect(failures).toEqual([]);
    expect([...objects].map(([key, o]) => [key, o.pools]).sort()).toEqual([
      ['hls/cam1/segment_0.ts', ['archive']],
      [KEY, ['disk']],
    ]);
    await manager.close();
  });

  it('a write naming a read-only pool is refused before any I/O, and only read-only pools left is a failure', async () => {
    const ro = await localBackend();
    const manager = new StorageManager([pool('archive', ro, { readOnly: true })]);
    const named = await manager.write(KEY, Buffer.from('x'), { pool: 'archive' }).catch((e: unknown) => e);
    expect(isStorageError(named) && named.code).toBe('InvalidArgument');
    const chosen = await manager.write(KEY, Buffer.from('x')).catch((e: unknown) => e);
    expect(isStorageError(chosen)).toBe(true);
    expect(await readdir(ro.root).catch(() => [])).toEqual([]);
    await manager.close();
  });
});

describe('read order', () => {
  it('reads the pools in priority order: the copy in priority 1 wins over the one in 2, whatever the config order', async () => {
    const [a, b] = [await localBackend(), await localBackend()];
    await a.write(KEY, Buffer.from('from a'));
    await b.write(KEY, Buffer.from('from b'));
    for (const [aPriority, bPriority, winner] of [[1, 2, 'a'], [2, 1, 'b']] as const) {
      for (const order of [[pool('a', a, { priority: aPriority }), pool('b', b, { priority: bPriority })], [pool('b', b, { priority: bPriority }), pool('a', a, { priority: aPriority })]]) {
        const manager = new StorageManager(order);
        const { data, pool: from } = await manager.read(KEY);
        expect([from, data.toString()]).toEqual([winner, `from ${winner}`]);
      }
    }
  });
});

describe('the probe', () => {
  it('is healthy when the object reads back as written, and fails (Corrupt) when it reads back other bytes', async () => {
    const good = await localBackend();
    expect(await pool('good', good).probe()).toMatchObject({ ok: true, mode: 'read-write' });
    const liar = await localBackend();
    const flipping: StorageBackend = Object.assign(Object.create(liar) as StorageBackend, {
      capabilities: liar.capabilities,
      type: liar.type,
      read: async (key: string) => {
        const data = Buffer.from(await liar.read(key));
        data[0] = (data[0] ?? 0) ^ 0x01;
        return data;
      },
    });
    const broken = pool('liar', flipping);
    const result = await broken.probe();
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ error: { code: 'Corrupt' } });
    expect(broken.health).toBe('unhealthy');
  });
});
