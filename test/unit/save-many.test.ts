// SegmentStorage.saveMany: put's batching and playlist-last order, for library users too.

import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { StorageBackend, WriteOptions } from '../../src/backends/types.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS } from '../../src/pool/pool.js';
import { SegmentStorage, type SaveItem } from '../../src/segments/segment-storage.js';

/** A real local backend whose writes are logged (start and end) and held a little, so that overlaps show. */
async function loggedStorage(): Promise<{ storage: SegmentStorage; log: string[]; maxInFlight: () => number; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'flux-many-'));
  const local = new LocalBackend({ type: 'local', root: dir, fsync: false, concurrency: 8 });
  const log: string[] = [];
  let inFlight = 0;
  let max = 0;
  const backend: StorageBackend = Object.assign(Object.create(local) as StorageBackend, {
    async write(key: string, data: Uint8Array, options?: WriteOptions) {
      inFlight++;
      max = Math.max(max, inFlight);
      log.push(`start ${key}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      try {
        return await local.write(key, data, options);
      } finally {
        inFlight--;
        log.push(`end ${key}`);
      }
    },
  });
  const storage = new SegmentStorage(StorageManager.fromBackends([[{ ...POOL_DEFAULTS, name: 'p1' }, backend]]));
  return { storage, log, maxInFlight: () => max, dir };
}

describe('SegmentStorage.saveMany', () => {
  it('stores `concurrency` at a time, playlists only after every segment, results in the given order', async () => {
    const { storage, log, maxInFlight, dir } = await loggedStorage();
    const items: SaveItem[] = [
      { kind: 'playlist', data: Buffer.from('#EXTM3U\n') },
      ...Array.from({ length: 20 }, (_, i): SaveItem => ({ kind: 'segment', id: i, data: Buffer.from(`segment ${i}`) })),
    ];
    const results = await storage.saveMany('cam1', items, { concurrency: 3 });
    expect(results.map((r) => r.key)).toEqual(['hls/cam1/index.m3u8', ...Array.from({ length: 20 }, (_, i) => `hls/cam1/segment_${i}.ts`)]);
    expect(results.every((r) => r.error === null && r.pool === 'p1')).toBe(true);
    expect(maxInFlight()).toBe(3);
    const playlistStart = log.indexOf('start hls/cam1/index.m3u8');
    expect(log.slice(0, playlistStart).filter((line) => line.startsWith('end'))).toHaveLength(20);
    expect(await readFile(path.join(dir, 'hls/cam1/segment_7.ts'), 'utf8')).toBe('segment 7');
  });

  it('reads data given as a function only when its turn comes, and keeps going past a failed item', async () => {
    const { storage } = await loggedStorage();
    let reading = 0;
    let maxReading = 0;
    const lazy = (i: number) => async () => {
      reading++;
      maxReading = Math.max(maxReading, reading);
      await new Promise((resolve) => setTimeout(resolve, 2));
      reading--;
      if (i === 4) throw new Error('the file vanished');
      return Buffer.from(`lazy ${i}`);
    };
    const seen: string[] = [];
    const results = await storage.saveMany(
      'cam2',
      Array.from({ length: 10 }, (_, i): SaveItem => ({ kind: 'segment', id: i, data: lazy(i) })),
      { concurrency: 2, onSaved: (r) => seen.push(r.key) },
    );
    expect(maxReading).toBeLessThanOrEqual(2);
    expect(results[4]).toMatchObject({ key: 'hls/cam2/segment_4.ts', error: { code: 'Internal', message: expect.stringContaining('the file vanished') } });
    expect(results.filter((r) => r.error === null)).toHaveLength(9);
    expect(seen.sort()).toEqual(results.map((r) => r.key).sort());
  });

  it('refuses two items of one key, and a bad id, before writing anything', async () => {
    const { storage, log } = await loggedStorage();
    await expect(storage.saveMany('cam1', [{ kind: 'segment', id: 1, data: Buffer.from('a') }, { kind: 'segment', id: 1, data: Buffer.from('b') }])).rejects.toMatchObject({
      code: 'InvalidArgument',
      message: expect.stringContaining('inputs 1 and 2 are both segment 1 of cam1'),
    });
    await expect(storage.saveMany('cam1', [{ kind: 'playlist', data: Buffer.from('a') }, { kind: 'playlist', data: Buffer.from('b') }])).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(storage.saveMany('cam1', [{ kind: 'segment', id: 1, data: Buffer.from('a') }, { kind: 'segment', id: -1, data: Buffer.from('b') }])).rejects.toMatchObject({ code: 'InvalidKey' });
    await expect(storage.saveMany('../x', [{ kind: 'segment', id: 1, data: Buffer.from('a') }])).rejects.toMatchObject({ code: 'InvalidKey' });
    expect(log).toEqual([]);
  });
});
