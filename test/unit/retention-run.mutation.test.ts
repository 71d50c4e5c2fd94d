// runRetention's paths that only Ctrl-C, a failing store or several pools take (found by mutation
// testing, test/MUTATION.md): an interrupt while listing, while planning and between delete batches;
// a batch whose failures are checked again by a listing (gone after all, still there, the check
// failing too); a segment deleted from one of its two pools; the read-ahead bound; the order of the
// result. On real local pools, some behind an in-process wrapper of the backend.

import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { StorageBackend } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS } from '../../src/pool/pool.js';
import { runRetention, type RetentionOptions, type RetentionProgress } from '../../src/segments/retention.js';
import { SegmentStorage } from '../../src/segments/segment-storage.js';
import { inShard } from '../../src/segments/shard.js';

const name = (s: number): string => `cam${String(s).padStart(3, '0')}`;

async function localRoot(streams: number, perStream: number): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'flux-retention-run-'));
  for (let s = 0; s < streams; s++) {
    const dir = path.join(root, 'hls', name(s));
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: perStream }, (_, id) => writeFile(path.join(dir, `segment_${id}.ts`), `segment ${id}`)));
  }
  return root;
}

const local = (root: string): LocalBackend => new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 });

/** A backend that behaves as `inner` except for the methods given. */
function wrapped(inner: StorageBackend, methods: Partial<StorageBackend>): StorageBackend {
  return Object.assign(Object.create(inner) as StorageBackend, methods);
}

function storageOf(...pools: [string, StorageBackend][]): SegmentStorage {
  return new SegmentStorage(StorageManager.fromBackends(pools.map(([poolName, backend], i) => [{ ...POOL_DEFAULTS, name: poolName, priority: i + 1, retries: 0 }, backend] as const)));
}

const files = async (root: string, stream: string): Promise<number> => (await readdir(path.join(root, 'hls', stream))).length;

describe('an interrupt', () => {
  it('between delete batches: the batches started finish, the others are not tried, and the result says interrupted', async () => {
    // Five streams of 1,000 segments: five batches of the one pool, four at once. The first batch
    // to finish fires the signal (as Ctrl-C would), so the fifth is never sent.
    const root = await localRoot(5, 1000);
    const backend = local(root);
    const controller = new AbortController();
    let calls = 0;
    const storage = storageOf([
      'disk',
      wrapped(backend, {
        deleteMany: async (keys) => {
          calls++;
          const result = await backend.deleteMany(keys);
          controller.abort(new StorageError('Interrupted', 'interrupted by SIGINT'));
          return result;
        },
      }),
    ]);
    const progress: RetentionProgress[] = [];
    // --max-delete holds every delete until the whole plan is made: all five streams are planned.
    const result = await runRetention(storage, { keepNewest: 0, maxDelete: 10_000, signal: controller.signal, onProgress: (p) => progress.push(p) });
    expect(calls).toBe(4);
    expect(result.interrupted).toBe(true);
    expect(result.refused).toBe(false);
    expect(result.planned).toBe(5000);
    expect(result.streams.map((s) => s.stream)).toEqual([0, 1, 2, 3, 4].map(name));
    expect(result.streams.map((s) => s.deleted.length)).toEqual([1000, 1000, 1000, 1000, 0]);
    // The batch not tried is neither deleted nor failed, and no longer in the plan.
    expect(result.streams[4]).toMatchObject({ delete: [], deleted: [], failed: [] });
    expect(await files(root, name(4))).toBe(1000);
    for (let s = 0; s < 4; s++) expect(await files(root, name(s))).toBe(0);
    expect(progress.at(-1)).toEqual({ streams: 5, planned: 5000, deleted: 4000, failed: 0 });
  });

  it('between batches that split a stream: its plan keeps the deletions tried, not the others', async () => {
    // Three streams of 1,700: six batches (1,000 keys each across streams, the last 100), four at
    // once; the first to finish fires the signal. cam002's first 600 are in the fourth batch.
    const root = await localRoot(3, 1700);
    const backend = local(root);
    const controller = new AbortController();
    const storage = storageOf([
      'disk',
      wrapped(backend, {
        deleteMany: async (keys) => {
          const result = await backend.deleteMany(keys);
          controller.abort(new StorageError('Interrupted', 'interrupted by SIGINT'));
          return result;
        },
      }),
    ]);
    const result = await runRetention(storage, { keepNewest: 0, maxDelete: 10_000, signal: controller.signal });
    expect(result.interrupted).toBe(true);
    expect(result.streams.map((s) => [s.delete.length, s.deleted.length, s.failed.length])).toEqual([
      [1700, 1700, 0],
      [1700, 1700, 0],
      [600, 600, 0],
    ]);
    expect(result.streams[2]!.delete.map((d) => d.id)).toEqual(result.streams[2]!.deleted.map((d) => d.id));
    expect(await files(root, name(2))).toBe(1100);
  });

  it('in a pool call while listing: the call ends Interrupted, which ends the run without an error', async () => {
    const root = await localRoot(3, 2);
    const backend = local(root);
    const controller = new AbortController();
    // The listing hangs after the first stream's folder until the signal, then ends as aborted calls do.
    const storage = storageOf([
      'disk',
      wrapped(backend, {
        list: async function* (prefix, options) {
          for await (const info of backend.list(prefix, options)) {
            if (info.key.includes(name(1))) {
              await new Promise((resolve) => options?.signal?.addEventListener('abort', resolve, { once: true }));
              throw options?.signal?.reason as Error;
            }
            yield info;
          }
        },
      }),
    ]);
    const result = await runRetention(storage, {
      keepNewest: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.streams === 1) controller.abort(new StorageError('Interrupted', 'interrupted by SIGINT'));
      },
    });
    expect(result.interrupted).toBe(true);
    expect(result.streams.map((s) => s.stream)).toEqual([name(0)]);
    expect(result.streams[0]!.deleted).toEqual([]);
    for (let s = 0; s < 3; s++) expect(await files(root, name(s))).toBe(2);
  });

  it("an error of the caller's progress callback is thrown, with or without a signal", async () => {
    const root = await localRoot(2, 2);
    const boom = new StorageError('Internal', 'the progress display broke');
    // It throws once only: the error is the run's, not a later call's.
    let thrown = false;
    const once = (): void => {
      if (thrown) return;
      thrown = true;
      throw boom;
    };
    await expect(runRetention(storageOf(['disk', local(root)]), { keepNewest: 0, onProgress: once })).rejects.toBe(boom);
    // Aborted, but not a storage call's error: still thrown.
    const controller = new AbortController();
    const typo = new TypeError('cannot read properties of undefined');
    const run = runRetention(storageOf(['disk', local(root)]), {
      keepNewest: 0,
      signal: controller.signal,
      onProgress: () => {
        controller.abort(new StorageError('Interrupted', 'interrupted by SIGINT'));
        throw typo;
      },
    });
    await expect(run).rejects.toBe(typo);
    for (let s = 0; s < 2; s++) expect(await files(root, name(s))).toBe(2);
  });

  it('while listing: no later stream is planned, nothing held is deleted, and the listing error is not thrown', async () => {
    const root = await localRoot(4, 3);
    const controller = new AbortController();
    const result = await runRetention(storageOf(['disk', local(root)]), {
      keepNewest: 0,
      dryRun: false,
      maxDelete: 100,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.streams === 1) controller.abort(new StorageError('Interrupted', 'interrupted by SIGINT'));
      },
    });
    expect(result.interrupted).toBe(true);
    expect(result.streams.length).toBeLessThan(4);
    expect(result.streams.every((s) => s.deleted.length === 0 && s.failed.length === 0)).toBe(true);
    for (let s = 0; s < 4; s++) expect(await files(root, name(s))).toBe(3);
  });

  it('before the run: nothing is listed as planned and nothing deleted', async () => {
    const root = await localRoot(2, 3);
    const controller = new AbortController();
    controller.abort(new StorageError('Interrupted', 'interrupted by SIGTERM'));
    const result = await runRetention(storageOf(['disk', local(root)]), { keepNewest: 0, signal: controller.signal });
    expect(result).toMatchObject({ interrupted: true, planned: 0, streams: [] });
    for (let s = 0; s < 2; s++) expect(await files(root, name(s))).toBe(3);
  });

  it('a listing that fails without an interrupt is thrown, not taken for the end of the streams', async () => {
    const root = await localRoot(1, 3);
    await expect(runRetention(storageOf(['disk', local(root)]), { keepNewest: 0, streams: ['../etc'] })).rejects.toMatchObject({ code: 'InvalidKey' });
    expect(await files(root, name(0))).toBe(3);
  });
});

describe('a batch that failed is checked again by a listing', () => {
  it('keys reported failed but gone are deleted; keys still there are failed, each with its error', async () => {
    const root = await localRoot(2, 4);
    const backend = local(root);
    // Deletes the even ids, then reports every key failed (a store timing out after the work).
    const storage = storageOf([
      'disk',
      wrapped(backend, {
        deleteMany: async (keys) => {
          await backend.deleteMany(keys.filter((key) => Number(/_(\d+)\.ts$/.exec(key)![1]) % 2 === 0));
          return { deleted: [], failed: keys.map((key) => ({ key, error: new StorageError('Timeout', 'no answer within 15000 ms') })) };
        },
      }),
    ]);
    const progress: RetentionProgress[] = [];
    const result = await runRetention(storage, { keepNewest: 0, onProgress: (p) => progress.push(p) });
    expect(progress.at(-1)).toEqual({ streams: 2, planned: 8, deleted: 4, failed: 4 });
    for (const stream of result.streams) {
      expect(stream.deleted.map((d) => d.id)).toEqual([0, 2]);
      expect(stream.failed.map((f) => [f.id, f.key, f.pool, f.error.code, f.error.pool])).toEqual([
        [1, `hls/${stream.stream}/segment_1.ts`, 'disk', 'Timeout', 'disk'],
        [3, `hls/${stream.stream}/segment_3.ts`, 'disk', 'Timeout', 'disk'],
      ]);
    }
    expect(result.streams.map((s) => s.stream)).toEqual([name(0), name(1)]);
    expect((await readdir(path.join(root, 'hls', name(1)))).sort()).toEqual(['segment_1.ts', 'segment_3.ts']);
  });

  it('when that listing fails too, the keys stay failed and the error says so', async () => {
    const root = await localRoot(1, 2);
    const backend = local(root);
    let listings = 0;
    const storage = storageOf([
      'disk',
      wrapped(backend, {
        deleteMany: async (keys) => {
          await backend.deleteMany(keys);
          throw new StorageError('Timeout', 'deleteMany did not answer within 15000 ms');
        },
        // The stream listing works; the re-check's listing (the second) fails.
        list: (prefix, options) => (++listings === 1 ? backend.list(prefix, options) : failingList()),
      }),
    ]);
    const result = await runRetention(storage, { keepNewest: 0 });
    const [stream] = result.streams;
    expect(stream!.deleted).toEqual([]);
    expect(stream!.failed.map((f) => f.id)).toEqual([0, 1]);
    for (const failed of stream!.failed) {
      expect(failed.error).toMatchObject({ code: 'Timeout', pool: 'disk', key: failed.key });
      expect(failed.error.message).toMatch(/deleteMany did not answer within 15000 ms; checking whether it was deleted failed too \(.*disk unreachable/);
      expect((failed.error as StorageError & { cause?: unknown }).cause).toMatchObject({ code: 'Timeout' });
    }
  });
});

async function* failingList(): AsyncGenerator<never> {
  await Promise.resolve();
  throw new StorageError('Unavailable', 'disk unreachable');
}

describe('several pools', () => {
  it('a segment is deleted once it is gone from every pool it was planned for; failing in one pool, it is failed there only', async () => {
    const [rootA, rootB] = [await localRoot(1, 3), await localRoot(1, 3)];
    const b = local(rootB);
    const storage = storageOf(
      ['a', local(rootA)],
      [
        'b',
        wrapped(b, {
          deleteMany: async (keys) => {
            const result = await b.deleteMany(keys.filter((key) => !key.endsWith('segment_1.ts')));
            return { ...result, failed: [{ key: `hls/${name(0)}/segment_1.ts`, error: new StorageError('PermissionDenied', 'denied') }] };
          },
        }),
      ],
    );
    const result = await runRetention(storage, { keepNewest: 0 });
    const [stream] = result.streams;
    expect(stream!.deleted.map((d) => [d.id, d.pools])).toEqual([
      [0, ['a', 'b']],
      [2, ['a', 'b']],
    ]);
    expect(stream!.failed.map((f) => `${f.id} ${f.pool} ${f.error.code}`)).toEqual(['1 b PermissionDenied']);
    expect(await files(rootA, name(0))).toBe(0);
    expect(await readdir(path.join(rootB, 'hls', name(0)))).toEqual(['segment_1.ts']);
  });

  it('--pool deletes from that pool only and leaves a segment it does not hold out of the plan', async () => {
    const [rootA, rootB] = [await localRoot(1, 3), await mkdtemp(path.join(tmpdir(), 'flux-retention-run-'))];
    await mkdir(path.join(rootB, 'hls', name(0)), { recursive: true });
    await writeFile(path.join(rootB, 'hls', name(0), 'segment_1.ts'), 'segment 1');
    const result = await runRetention(storageOf(['a', local(rootA)], ['b', local(rootB)]), { keepNewest: 0, pool: 'b' });
    expect(result.planned).toBe(1);
    expect(result.streams[0]!.delete.map((d) => d.id)).toEqual([1]);
    expect(result.streams[0]!.deleted).toEqual([{ id: 1, key: `hls/${name(0)}/segment_1.ts`, pools: ['b'] }]);
    expect(await files(rootA, name(0))).toBe(3);
    expect(await readdir(path.join(rootB, 'hls', name(0)))).toEqual([]);
  });

  it('an unknown --pool is refused before anything is listed', async () => {
    const root = await localRoot(1, 1);
    await expect(runRetention(storageOf(['disk', local(root)]), { keepNewest: 0, pool: 'dsik' })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('unknown pool "dsik"') as unknown });
    expect(await files(root, name(0))).toBe(1);
  });

  it('a playlist that cannot be read in one pool protects the whole stream, and the failure names that pool', async () => {
    const [rootA, rootB] = [await localRoot(1, 3), await localRoot(1, 3)];
    for (const root of [rootA, rootB]) await writeFile(path.join(root, 'hls', name(0), 'index.m3u8'), '#EXTM3U\n#EXTINF:2,\nsegment_2.ts\n');
    const b = local(rootB);
    const storage = storageOf(['a', local(rootA)], ['b', wrapped(b, { read: () => Promise.reject(new StorageError('Unavailable', 'b unreachable')) })]);
    const result = await runRetention(storage, { keepNewest: 0 });
    const [stream] = result.streams;
    expect(stream!.delete).toEqual([]);
    expect(stream!.failures.map((f) => [f.pool, f.error.code, f.error.key])).toEqual([['b', 'Unavailable', `hls/${name(0)}/index.m3u8`]]);
    expect(await files(rootA, name(0))).toBe(4);
  });
});

describe('bad options', () => {
  it.each([
    ['keepNewest', -1, 'keep must be a whole number, 0 or more (got -1)'],
    ['minAgeMs', -1, 'the min age must be a duration of 0 ms or more (got -1)'],
    ['minAgeMs', Number.NaN, 'the min age must be a duration of 0 ms or more (got NaN)'],
    ['olderThanMs', Number.POSITIVE_INFINITY, 'the older-than age must be a duration of 0 ms or more (got Infinity)'],
    ['olderThanMs', -5, 'the older-than age must be a duration of 0 ms or more (got -5)'],
  ])('%s %s is refused with InvalidArgument and deletes nothing', async (option, value, message) => {
    const root = await localRoot(1, 2);
    await expect(runRetention(storageOf(['disk', local(root)]), { keepNewest: 0, [option]: value } as RetentionOptions)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining(message) as unknown });
    expect(await files(root, name(0))).toBe(2);
  });

  it('0 ms for both is allowed (nothing too recent)', async () => {
    const root = await localRoot(1, 2);
    const result = await runRetention(storageOf(['disk', local(root)]), { keepNewest: 0, minAgeMs: 0, olderThanMs: 0 });
    expect(result.streams[0]!.deleted.map((d) => d.id)).toEqual([0, 1]);
  });
});

describe('reading ahead and the order of the result', () => {
  /** 12 streams of one segment and a playlist; the playlists for which `held` is true hang until release(). */
  const heldPlaylists = async (held: (key: string) => boolean) => {
    const root = await localRoot(12, 1);
    for (let s = 0; s < 12; s++) await writeFile(path.join(root, 'hls', name(s), 'index.m3u8'), '#EXTM3U\n');
    const backend = local(root);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const readsStarted: string[] = [];
    const seen = { listed: 0 };
    const storage = storageOf([
      'disk',
      wrapped(backend, {
        list: async function* (prefix, options) {
          for await (const info of backend.list(prefix, options)) {
            seen.listed++;
            yield info;
          }
        },
        read: async (key, options) => {
          readsStarted.push(key);
          if (held(key)) await gate;
          return backend.read(key, options);
        },
      }),
    ]);
    return { storage, release, readsStarted, seen };
  };
  const playlistOf = (s: number): string => `hls/${name(s)}/index.m3u8`;
  const aLittleLater = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 300));

  it('plans at most twice the concurrency of streams ahead of the slowest, never the whole store', async () => {
    const { storage, release, readsStarted, seen } = await heldPlaylists((key) => key === playlistOf(0));
    const run = runRetention(storage, { keepNewest: 0, concurrency: 1 });
    await aLittleLater();
    // concurrency 1: one playlist read at a time, and the listing waits with 2 streams in flight
    // (2 objects each; the listing may have read one stream further).
    expect(readsStarted).toEqual([playlistOf(0)]);
    expect(seen.listed).toBeGreaterThanOrEqual(4);
    expect(seen.listed).toBeLessThanOrEqual(6);
    release();
    const result = await run;
    expect(readsStarted).toHaveLength(12);
    expect(result.streams.map((s) => s.stream)).toEqual(Array.from({ length: 12 }, (_, s) => name(s)));
  });

  it('with concurrency 2, two playlist reads at once and four streams planned ahead', async () => {
    const { storage, release, readsStarted, seen } = await heldPlaylists(() => true);
    const run = runRetention(storage, { keepNewest: 0, concurrency: 2 });
    await aLittleLater();
    // Two reads under way, two more streams waiting for a slot: the listing stops at 4 streams in
    // flight (2 objects each; it may have read one stream further).
    expect(readsStarted).toEqual([playlistOf(0), playlistOf(1)]);
    expect(seen.listed).toBeGreaterThanOrEqual(8);
    expect(seen.listed).toBeLessThanOrEqual(10);
    release();
    const result = await run;
    expect(readsStarted).toHaveLength(12);
    expect(result.streams.flatMap((s) => s.deleted.map((d) => d.id))).toHaveLength(12);
  });

  it('the bound holds after the first streams are planned: a stream done leaves the read-ahead', async () => {
    const { storage, release, seen } = await heldPlaylists((key) => key === playlistOf(5));
    const run = runRetention(storage, { keepNewest: 0, concurrency: 1 });
    await aLittleLater();
    // Streams 0-4 planned and gone from the read-ahead; 5 reading, 6 waiting: 7 streams listed (2
    // objects each), perhaps one more, never all 12.
    expect(seen.listed).toBeGreaterThanOrEqual(14);
    expect(seen.listed).toBeLessThanOrEqual(16);
    release();
    const result = await run;
    expect(result.streams).toHaveLength(12);
  });

  it('streams are in name order whichever was planned first', async () => {
    const root = await localRoot(3, 2);
    for (let s = 0; s < 3; s++) await writeFile(path.join(root, 'hls', name(s), 'index.m3u8'), '#EXTM3U\n');
    const backend = local(root);
    // The first stream's playlist answers last.
    const storage = storageOf(['disk', wrapped(backend, { read: async (key, options) => (key.includes(name(0)) && (await new Promise((resolve) => setTimeout(resolve, 100))), backend.read(key, options)) })]);
    const result = await runRetention(storage, { keepNewest: 0 });
    expect(result.streams.map((s) => s.stream)).toEqual([name(0), name(1), name(2)]);
  });
});

describe('what the plan holds', () => {
  it('--max-delete: once the plan passes the limit, the later streams keep no deletions, and nothing is deleted', async () => {
    const root = await localRoot(3, 2);
    const result = await runRetention(storageOf(['disk', local(root)]), { keepNewest: 0, maxDelete: 3 });
    expect(result).toMatchObject({ refused: true, planned: 6 });
    // Streams are planned in any order: the first planned (2 ≤ 3) keeps its plan, the others not.
    expect(result.streams.map((s) => s.delete.length).sort()).toEqual([0, 0, 2]);
    expect(result.streams.every((s) => s.deleted.length === 0)).toBe(true);
    for (let s = 0; s < 3; s++) expect(await files(root, name(s))).toBe(2);
  });

  it('a playlist listed but gone when read (a producer rotating it) protects nothing and is no failure', async () => {
    const root = await localRoot(1, 3);
    await writeFile(path.join(root, 'hls', name(0), 'index.m3u8'), '#EXTM3U\n#EXTINF:2,\nsegment_2.ts\n');
    const backend = local(root);
    const storage = storageOf(['disk', wrapped(backend, { read: () => Promise.reject(new StorageError('NotFound', 'no such object')) })]);
    const result = await runRetention(storage, { keepNewest: 0 });
    expect(result.streams[0]).toMatchObject({ failures: [], protected: [] });
    expect(result.streams[0]!.deleted.map((d) => d.id)).toEqual([0, 1, 2]);
  });

  it('a shard plans its own streams only', async () => {
    const root = await localRoot(12, 1);
    const shard = { index: 1, count: 3 };
    const mine = Array.from({ length: 12 }, (_, s) => name(s)).filter((stream) => inShard(stream, shard));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBeLessThan(12);
    const result = await runRetention(storageOf(['disk', local(root)]), { keepNewest: 0, shard });
    expect(result.streams.map((s) => s.stream)).toEqual(mine);
    for (let s = 0; s < 12; s++) expect(await files(root, name(s))).toBe(mine.includes(name(s)) ? 0 : 1);
  });
});
