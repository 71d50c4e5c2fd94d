// Retention and the per-stream listing through the library, on real local pools: a batch delete
// that fails after deleting reports the truth, and the listing holds one stream at a time.

import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { StorageBackend } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS } from '../../src/pool/pool.js';
import { BATCHES_PER_POOL, runRetention } from '../../src/segments/retention.js';
import { SegmentStorage } from '../../src/segments/segment-storage.js';

async function localRoot(streams: number, perStream: number): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'flux-retention-'));
  for (let s = 0; s < streams; s++) {
    const dir = path.join(root, 'hls', `cam${String(s).padStart(3, '0')}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: perStream }, (_, id) => writeFile(path.join(dir, `segment_${id}.ts`), `segment ${id}`)));
  }
  return root;
}

function storageOver(backend: StorageBackend): SegmentStorage {
  return new SegmentStorage(StorageManager.fromBackends([[{ ...POOL_DEFAULTS, name: 'disk', retries: 0 }, backend]]));
}

describe('retention through the library', () => {
  it('a batch delete that fails after deleting some keys reports those as deleted, the rest as failed', async () => {
    const root = await localRoot(1, 40);
    const local = new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 });
    // A real backend whose batch deletes half the keys, then fails the way a timed-out request does.
    const flaky: StorageBackend = Object.create(local) as StorageBackend;
    flaky.deleteMany = async (keys) => {
      await local.deleteMany(keys.slice(0, Math.floor(keys.length / 2)));
      throw new StorageError('Timeout', 'deleteMany did not answer within 15000 ms');
    };
    const result = await runRetention(storageOver(flaky), { keepNewest: 10 });
    const [stream] = result.streams;
    expect(stream!.deleted.map((d) => d.id)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(stream!.failed.map((f) => f.id)).toEqual(Array.from({ length: 15 }, (_, i) => 15 + i));
    expect(stream!.failed[0]!.error.code).toBe('Timeout');
    const left = (await readdir(path.join(root, 'hls/cam000'))).length;
    expect(left).toBe(25);
  });

  it('the per-stream listing yields the first stream before the later streams are listed', async () => {
    const streams = 60;
    const perStream = 5;
    const root = await localRoot(streams, perStream);
    const local = new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 });
    let listed = 0;
    const counting: StorageBackend = Object.create(local) as StorageBackend;
    counting.list = (prefix, options) => ({
      async *[Symbol.asyncIterator]() {
        for await (const info of local.list(prefix, options)) {
          listed++;
          yield info;
        }
      },
    });
    const storage = storageOver(counting);
    const seenAtYield: number[] = [];
    const names: string[] = [];
    for await (const stream of storage.streams()) {
      seenAtYield.push(listed);
      names.push(stream.stream);
      expect(stream.segments).toHaveLength(perStream);
    }
    expect(names).toHaveLength(streams);
    expect(names).toEqual([...names].sort());
    // When stream k is handed out, at most its objects and the first of the next have been listed.
    seenAtYield.forEach((count, k) => expect(count).toBeLessThanOrEqual((k + 1) * perStream + 1));
    expect(listed).toBe(streams * perStream);
  });

  it('an incomplete listing throws unless partial results are asked for', async () => {
    const good = new LocalBackend({ type: 'local', root: await localRoot(2, 3), fsync: false, concurrency: 8 });
    const brokenRoot = path.join(await mkdtemp(path.join(tmpdir(), 'flux-broken-')), 'file');
    await writeFile(brokenRoot, 'a pool root that is a file: its listing fails');
    const broken = new LocalBackend({ type: 'local', root: brokenRoot, fsync: false, concurrency: 8 });
    const storage = new SegmentStorage(
      StorageManager.fromBackends([
        [{ ...POOL_DEFAULTS, name: 'good', retries: 0 }, good],
        [{ ...POOL_DEFAULTS, name: 'broken', priority: 2, retries: 0 }, broken],
      ]),
    );
    await expect(storage.listStreams()).rejects.toThrow(/listing of hls\/ is incomplete.*broken/);
    await expect(storage.listSegments('cam000')).rejects.toThrow(/incomplete/);
    const partial = await storage.listStreams({ partial: true });
    expect(partial.items.map((s) => s.stream)).toEqual(['cam000', 'cam001']);
    expect(partial.failures.map((f) => f.pool)).toEqual(['broken']);
  });
  it(`deletes up to ${BATCHES_PER_POOL} batches of a pool at once, never more, and every planned segment goes`, async () => {
    const batches = BATCHES_PER_POOL + 2;
    const root = await localRoot(batches, 1000);
    const local = new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 });
    let inFlight = 0;
    let most = 0;
    const waiting: (() => void)[] = [];
    // Each batch waits until BATCHES_PER_POOL are in flight (or 2 s pass: a bound, so that deleting
    // one batch at a time fails the assertion below rather than hangs), then all go on.
    const gated: StorageBackend = Object.create(local) as StorageBackend;
    gated.deleteMany = async (keys, options) => {
      most = Math.max(most, ++inFlight);
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (inFlight >= BATCHES_PER_POOL) for (const go of waiting.splice(0)) go();
        else setTimeout(resolve, 2000).unref();
      });
      try {
        return await local.deleteMany(keys, options);
      } finally {
        inFlight--;
      }
    };
    const result = await runRetention(storageOver(gated), { keepNewest: 0 });
    expect(most).toBe(BATCHES_PER_POOL);
    expect(result.streams.reduce((n, s) => n + s.deleted.length, 0)).toBe(batches * 1000);
    for (let s = 0; s < batches; s++) expect(await readdir(path.join(root, 'hls', `cam${String(s).padStart(3, '0')}`))).toEqual([]);
  });

  it('reports failed deletes in id order, then pool, whichever pool answered first', async () => {
    const roots = [await localRoot(1, 3), await localRoot(1, 3)];
    // Two pools holding the same segments, failing every key; "a" answers after "b".
    const failing = (root: string, delayMs: number): StorageBackend => {
      const backend = Object.create(new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 })) as StorageBackend;
      backend.deleteMany = async (keys) => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return { deleted: [], failed: [...keys].reverse().map((key) => ({ key, error: new StorageError('PermissionDenied', 'denied') })) };
      };
      return backend;
    };
    const manager = StorageManager.fromBackends([
      [{ ...POOL_DEFAULTS, name: 'a', retries: 0 }, failing(roots[0]!, 50)],
      [{ ...POOL_DEFAULTS, name: 'b', retries: 0 }, failing(roots[1]!, 0)],
    ]);
    const result = await runRetention(new SegmentStorage(manager), { keepNewest: 0 });
    expect(result.streams[0]!.failed.map((f) => `${f.id} ${f.pool}`)).toEqual(['0 a', '0 b', '1 a', '1 b', '2 a', '2 b']);
    // purge (rm --all, retire) reports its failures in the order of the objects it planned.
    const [purged] = await new SegmentStorage(manager).purgeStreams(['cam000']);
    expect(purged!.failed.map((f) => f.key)).toEqual(purged!.objects.flatMap((o) => o.pools.map(() => o.key)));
    expect(purged!.failed.map((f) => f.id)).toEqual([0, 0, 1, 1, 2, 2]);
  });
});
