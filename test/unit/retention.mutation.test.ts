// Retention's edges, found by mutation testing (npm run mutation): the keep count's validation, the
// --min-age boundary and the newest copy across pools, the order of streams and pools in the plan,
// playlist protection, and the deletes from every pool.

import { mkdir, mkdtemp, readdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS } from '../../src/pool/pool.js';
import { runRetention, type RetentionOptions } from '../../src/segments/retention.js';
import { SegmentStorage } from '../../src/segments/segment-storage.js';

const NOW = new Date('2026-06-01T12:00:00Z');

/** The plan alone (a dry run), with its count of deletions. */
async function planRetention(segments: SegmentStorage, options: RetentionOptions) {
  const result = await runRetention(segments, { ...options, dryRun: true });
  return { ...result, deleteCount: result.planned };
}

async function storage(pools = ['p1', 'p2']): Promise<{ segments: SegmentStorage; dirs: string[] }> {
  const dirs = await Promise.all(pools.map(() => mkdtemp(path.join(tmpdir(), 'flux-ret-'))));
  const manager = StorageManager.fromBackends(
    pools.map((name, i) => [{ ...POOL_DEFAULTS, name, priority: i + 1 }, new LocalBackend({ type: 'local', root: dirs[i]!, fsync: false, concurrency: 8 })] as const),
  );
  return { segments: new SegmentStorage(manager), dirs };
}

/** Segment files written straight into a pool's folder, modified `ageMs` before NOW. */
async function seed(dir: string, stream: string, ids: number[], ageMs = 3_600_000): Promise<void> {
  await mkdir(path.join(dir, 'hls', stream), { recursive: true });
  const when = new Date(NOW.getTime() - ageMs);
  for (const id of ids) {
    const file = path.join(dir, 'hls', stream, `segment_${id}.ts`);
    await writeFile(file, 's');
    await utimes(file, when, when);
  }
}

describe('planRetention', () => {
  it.each([-1, 1.5, Number.NaN])('refuses keepNewest %s with InvalidArgument', async (keepNewest) => {
    const { segments } = await storage();
    await expect(planRetention(segments, { keepNewest })).rejects.toMatchObject({ code: 'InvalidArgument' });
  });

  it('keeps exactly the newest N, and keepNewest 0 keeps none', async () => {
    const { segments, dirs } = await storage();
    await seed(dirs[0]!, 'cam1', [1, 2, 3, 10]);
    const two = await planRetention(segments, { keepNewest: 2, now: NOW });
    expect(two.streams[0]).toMatchObject({ stream: 'cam1', kept: [3, 10], protected: [] });
    expect(two.streams[0]?.delete.map((d) => d.id)).toEqual([1, 2]);
    expect(two.deleteCount).toBe(2);
    const none = await planRetention(segments, { keepNewest: 0, now: NOW });
    expect(none.streams[0]?.kept).toEqual([]);
    expect(none.deleteCount).toBe(4);
  });

  it('--min-age: a segment exactly that old may go, one a millisecond younger stays', async () => {
    const { segments, dirs } = await storage(['p1']);
    await seed(dirs[0]!, 'cam1', [1], 60_000);
    await seed(dirs[0]!, 'cam1', [2], 59_000);
    const plan = await planRetention(segments, { keepNewest: 0, minAgeMs: 60_000, now: NOW });
    expect(plan.streams[0]?.delete.map((d) => d.id)).toEqual([1]);
    expect(plan.streams[0]?.protected).toEqual([2]);
  });

  it('--min-age looks at the newest copy: old in one pool, recent in another, it stays', async () => {
    const { segments, dirs } = await storage();
    await seed(dirs[0]!, 'cam1', [1, 2], 3_600_000);
    await seed(dirs[1]!, 'cam1', [1], 1_000);
    await seed(dirs[1]!, 'cam1', [2], 3_600_000);
    const plan = await planRetention(segments, { keepNewest: 0, minAgeMs: 600_000, now: NOW });
    expect(plan.streams[0]?.protected).toEqual([1]);
    expect(plan.streams[0]?.delete).toMatchObject([{ id: 2, pools: ['p1', 'p2'] }]);
  });

  it('lists streams by name and each segment’s pools in priority order', async () => {
    const { segments, dirs } = await storage(['p1', 'p2', 'p3']);
    for (const dir of [dirs[2]!, dirs[0]!, dirs[1]!]) await seed(dir, 'b', [1]);
    await seed(dirs[1]!, 'a', [1]);
    const plan = await planRetention(segments, { keepNewest: 0, now: NOW });
    expect(plan.streams.map((s) => s.stream)).toEqual(['a', 'b']);
    expect(plan.streams[1]?.delete[0]?.pools).toEqual(['p1', 'p2', 'p3']);
    expect(plan.deleteCount).toBe(2);
  });

  it('a missing playlist protects nothing; a present one protects its entries and one more than as many before', async () => {
    const { segments, dirs } = await storage(['p1']);
    await seed(dirs[0]!, 'cam1', [0, 1, 2, 3, 4, 5, 6]);
    await writeFile(path.join(dirs[0]!, 'hls/cam1/index.m3u8'), '#EXTM3U\n#EXTINF:2,\nsegment_4.ts\n#EXTINF:2,\nsegment_5.ts\n');
    const plan = await planRetention(segments, { keepNewest: 1, now: NOW });
    expect(plan.streams[0]).toMatchObject({ kept: [6], protected: [1, 2, 3, 4, 5] });
    expect(plan.streams[0]?.delete.map((d) => d.id)).toEqual([0]);
  });
});

describe('runRetention', () => {
  it('deletes each planned segment from every pool holding it, and nothing else', async () => {
    const { segments, dirs } = await storage();
    await seed(dirs[0]!, 'cam1', [1, 2, 3]);
    await seed(dirs[1]!, 'cam1', [1, 3]);
    const result = await runRetention(segments, { keepNewest: 1, now: NOW });
    expect(result.streams[0]).toMatchObject({ stream: 'cam1', failed: [] });
    expect(result.streams[0]?.deleted.map((d) => [d.id, d.pools])).toEqual([[1, ['p1', 'p2']], [2, ['p1']]]);
    const left = async (dir: string) => (await readdir(path.join(dir, 'hls/cam1'))).sort();
    expect(await left(dirs[0]!)).toEqual(['segment_3.ts']);
    expect(await left(dirs[1]!)).toEqual(['segment_3.ts']);
  });
});
