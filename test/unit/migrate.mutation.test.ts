// migrate's parts at the edges Stryker found unasserted (test/MUTATION.md), on local pools: the
// semaphore's FIFO hand-over and drain; the reused buffers (which are kept, up to what, and that a
// kept one is really given again); the destination index (one listing per stream, a bounded number
// of streams held, keys outside the layout and pools that cannot list asked per object); and one
// object's copy (skip only when proven the same, dry run, size-only, a source rewritten since it
// was listed, and the step each failure is reported at).

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { ObjectInfo, StorageBackend } from '../../src/backends/types.js';
import { SharedBuffers } from '../../src/migrate/buffers.js';
import { copyObject, StageFailure, type CopyContext } from '../../src/migrate/copy.js';
import { DestinationIndex } from '../../src/migrate/destination-index.js';
import { Md5Hasher } from '../../src/migrate/md5-worker.js';
import { Slots } from '../../src/migrate/slots.js';
import { POOL_DEFAULTS, StoragePool } from '../../src/pool/pool.js';
import { SegmentLayout } from '../../src/segments/layout.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("migrate's slots", () => {
  it('hands a freed slot to the longest waiter, and drain waits for every holder', async () => {
    const slots = new Slots(2);
    await slots.acquire();
    await slots.acquire();
    const order: string[] = [];
    const b = slots.acquire().then(() => order.push('b'));
    const c = slots.acquire().then(() => order.push('c'));
    await tick();
    expect(order).toEqual([]);
    slots.release();
    await b;
    expect(order).toEqual(['b']);
    let drained = false;
    const draining = slots.drain().then(() => (drained = true));
    slots.release();
    await c;
    expect(order).toEqual(['b', 'c']);
    slots.release();
    await tick();
    expect(drained).toBe(false);
    slots.release();
    await draining;
    expect(drained).toBe(true);
    // Idle: a drain resolves at once, and the slots work again, two at a time.
    await slots.drain();
    await slots.acquire();
    await slots.acquire();
    let third = false;
    void slots.acquire().then(() => (third = true));
    await tick();
    expect(third).toBe(false);
  });

  it('a drain while nothing is held resolves at once; one after a round of use too', async () => {
    const slots = new Slots(1);
    await slots.drain();
    await slots.acquire();
    const draining = slots.drain();
    slots.release();
    await draining;
    await slots.drain();
  });
});

describe("migrate's reused buffers", () => {
  const MiB = 1024 * 1024;

  it('hands out shared buffers of at least 2 MiB, and gives a kept one again for a size it fits', () => {
    const buffers = new SharedBuffers();
    const small = buffers.acquire(10);
    expect(small.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(small.byteLength).toBe(2 * MiB);
    const big = buffers.acquire(3 * MiB);
    expect(big.byteLength).toBe(3 * MiB);
    buffers.release(small);
    buffers.release(big);
    // The first kept buffer that is large enough.
    expect(buffers.acquire(2.5 * MiB).buffer).toBe(big.buffer);
    expect(buffers.acquire(1).buffer).toBe(small.buffer);
    // Both are out now: a new one.
    const fresh = buffers.acquire(1);
    expect([small.buffer, big.buffer]).not.toContain(fresh.buffer);
  });

  it('keeps no buffer that is not shared, none over 16 MiB, and none once cleared', () => {
    const buffers = new SharedBuffers();
    buffers.release(Buffer.alloc(4 * MiB));
    expect(buffers.acquire(1).buffer).toBeInstanceOf(SharedArrayBuffer);
    const huge = buffers.acquire(16 * MiB + 1);
    buffers.release(huge);
    expect(buffers.acquire(16 * MiB + 1).buffer).not.toBe(huge.buffer);
    const exact = buffers.acquire(16 * MiB);
    buffers.release(exact);
    expect(buffers.acquire(16 * MiB).buffer).toBe(exact.buffer);
    const kept = buffers.acquire(1);
    buffers.release(kept);
    buffers.clear();
    expect(buffers.acquire(1).buffer).not.toBe(kept.buffer);
  });
});

async function localPool(name: string, root?: string): Promise<{ pool: StoragePool; root: string; ops: string[] }> {
  const dir = root ?? (await mkdtemp(path.join(tmpdir(), `flux-mig-${name}-`)));
  const pool = new StoragePool({ ...POOL_DEFAULTS, name, retries: 0 }, new LocalBackend({ type: 'local', root: dir, fsync: false, concurrency: 8 }));
  const ops: string[] = [];
  pool.onOperation((op) => ops.push(`${op.op} ${op.key ?? ''}`));
  return { pool, root: dir, ops };
}

describe('the destination index', () => {
  const layout = new SegmentLayout();

  it('lists a stream once for all its lookups, and answers null for what the stream lacks', async () => {
    const to = await localPool('to');
    await to.pool.write('hls/cam1/segment_1.ts', Buffer.from('one'));
    const index = new DestinationIndex(to.pool, layout);
    to.ops.length = 0;
    expect(await index.lookup('hls/cam1/segment_1.ts')).toMatchObject({ key: 'hls/cam1/segment_1.ts', size: 3 });
    expect(await index.lookup('hls/cam1/segment_2.ts')).toBeNull();
    expect(await index.lookup('hls/cam1/index.m3u8')).toBeNull();
    expect(to.ops).toEqual(['list hls/cam1/']);
  });

  it('holds two streams; a third evicts the oldest, which is asked per object from then on', async () => {
    const to = await localPool('to');
    for (const stream of ['a', 'b', 'c']) await to.pool.write(`hls/${stream}/segment_1.ts`, Buffer.from(stream));
    const index = new DestinationIndex(to.pool, layout);
    to.ops.length = 0;
    await index.lookup('hls/a/segment_1.ts');
    await index.lookup('hls/b/segment_1.ts');
    await index.lookup('hls/a/segment_2.ts');
    expect(to.ops).toEqual(['list hls/a/', 'list hls/b/']);
    await index.lookup('hls/c/segment_1.ts');
    to.ops.length = 0;
    expect(await index.lookup('hls/a/segment_1.ts')).toMatchObject({ size: 1 });
    expect(await index.lookup('hls/a/segment_3.ts')).toBeNull();
    expect(await index.lookup('hls/b/segment_1.ts')).toMatchObject({ size: 1 });
    expect(await index.lookup('hls/c/segment_1.ts')).toMatchObject({ size: 1 });
    expect(to.ops).toEqual(['stat hls/a/segment_1.ts', 'stat hls/a/segment_3.ts']);
  });

  it('holds a stream of up to 200,000 objects; a larger one is asked per object', async () => {
    for (const [count, held] of [[200_000, true], [200_001, false]] as const) {
      const root = await mkdtemp(path.join(tmpdir(), 'flux-mig-big-'));
      const local = new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 });
      await local.write('hls/big/segment_0.ts', Buffer.from('zero'));
      // The listing of a huge stream, made up in-process (no 200,000 files on disk).
      const backend = Object.assign(Object.create(local) as StorageBackend, {
        async *list(prefix: string): AsyncGenerator<ObjectInfo> {
          const modified = new Date();
          for (let id = 0; id < count; id++) yield { key: `${prefix}segment_${id}.ts`, size: 4, modified };
        },
      });
      const pool = new StoragePool({ ...POOL_DEFAULTS, name: 'to', retries: 0 }, backend);
      const ops: string[] = [];
      pool.onOperation((op) => ops.push(`${op.op} ${op.key ?? ''}`));
      const index = new DestinationIndex(pool, layout);
      expect(await index.lookup('hls/big/segment_0.ts'), `${count}`).toMatchObject({ key: 'hls/big/segment_0.ts', size: 4 });
      expect(ops.filter((op) => op.startsWith('stat')), `${count}`).toEqual(held ? [] : ['stat hls/big/segment_0.ts']);
    }
  });

  it('asks per object for a key outside the layout, and when the stream cannot be listed', async () => {
    const to = await localPool('to');
    await to.pool.write('elsewhere/x.bin', Buffer.from('x'));
    const index = new DestinationIndex(to.pool, layout);
    to.ops.length = 0;
    expect(await index.lookup('elsewhere/x.bin')).toMatchObject({ size: 1 });
    expect(to.ops).toEqual(['stat elsewhere/x.bin']);
    // A pool whose root is gone: the listing fails, and so does the stat, which is not "absent".
    const gone = await localPool('gone', path.join(await mkdtemp(path.join(tmpdir(), 'flux-mig-')), 'missing'));
    const broken = new DestinationIndex(gone.pool, layout);
    await expect(broken.lookup('hls/cam1/segment_1.ts')).rejects.toMatchObject({ code: 'Unavailable' });
    expect(gone.ops).toEqual(['list hls/cam1/', 'stat hls/cam1/segment_1.ts']);
  });
});

describe('one object copied', () => {
  const layout = new SegmentLayout();
  const KEY = 'hls/cam1/segment_1.ts';

  async function setup(options: Partial<Pick<CopyContext, 'sizeOnly' | 'readBack' | 'prove' | 'dryRun' | 'reuseBuffers'>> = {}) {
    const from = await localPool('from');
    const to = await localPool('to');
    const hasher = new Md5Hasher();
    const buffers = new SharedBuffers();
    const ctx: CopyContext = { from: from.pool, to: to.pool, destination: new DestinationIndex(to.pool, layout), hasher, buffers, reuseBuffers: false, sizeOnly: false, readBack: false, prove: false, dryRun: false, ...options };
    const source = async (bytes: string) => {
      await from.pool.write(KEY, Buffer.from(bytes));
      return from.pool.stat(KEY);
    };
    return { from, to, ctx, source, close: () => hasher.close() };
  }

  it('skips a copy proven the same by its bytes, and copies one of the same size that differs', async () => {
    const s = await setup();
    try {
      const info = await s.source('abcd');
      await s.to.pool.write(KEY, Buffer.from('abcd'));
      expect(await copyObject(s.ctx, info)).toEqual({ action: 'skipped', bytes: 0 });
      await s.to.pool.write(KEY, Buffer.from('abce'));
      const fresh = await setup();
      const other = await fresh.source('abcd');
      await fresh.to.pool.write(KEY, Buffer.from('abce'));
      expect(await copyObject(fresh.ctx, other)).toEqual({ action: 'copied', bytes: 4 });
      expect((await readFile(path.join(fresh.to.root, KEY))).toString()).toBe('abcd');
      await fresh.close();
    } finally {
      await s.close();
    }
  });

  it('copies one of another size without reading the copy; --size-only skips one of the same size unread', async () => {
    const s = await setup();
    try {
      const info = await s.source('abcd');
      await s.to.pool.write(KEY, Buffer.from('xy'));
      s.to.ops.length = 0;
      expect(await copyObject(s.ctx, info)).toEqual({ action: 'copied', bytes: 4 });
      expect(s.to.ops.filter((o) => o.startsWith('read'))).toEqual([]);
      const sized = await setup({ sizeOnly: true });
      const same = await sized.source('abcd');
      await sized.to.pool.write(KEY, Buffer.from('wxyz'));
      sized.from.ops.length = 0;
      expect(await copyObject(sized.ctx, same)).toEqual({ action: 'skipped', bytes: 0 });
      expect(sized.from.ops).toEqual([]);
      expect((await readFile(path.join(sized.to.root, KEY))).toString()).toBe('wxyz');
      await sized.close();
    } finally {
      await s.close();
    }
  });

  it('a dry run writes nothing and counts the bytes it would copy', async () => {
    const s = await setup({ dryRun: true });
    try {
      const info = await s.source('abcdef');
      expect(await copyObject(s.ctx, info)).toEqual({ action: 'copied', bytes: 6 });
      expect(s.to.ops.filter((o) => o.startsWith('write'))).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('a source rewritten since it was listed is copied as it is now', async () => {
    for (const options of [{}, { reuseBuffers: true, prove: true }, { readBack: true }]) {
      const s = await setup(options);
      try {
        const listed = await s.source('short');
        await s.from.pool.write(KEY, Buffer.from('a longer body now'));
        expect(await copyObject(s.ctx, listed)).toEqual({ action: 'copied', bytes: 17 });
        expect((await readFile(path.join(s.to.root, KEY))).toString()).toBe('a longer body now');
      } finally {
        await s.close();
      }
    }
  });

  it('reports the step that failed: compare at an unreadable destination, read at a vanished source', async () => {
    const s = await setup();
    try {
      const info = await s.source('abcd');
      const gone = await localPool('gone', path.join(await mkdtemp(path.join(tmpdir(), 'flux-mig-')), 'missing'));
      const failing = { ...s.ctx, to: gone.pool, destination: new DestinationIndex(gone.pool, layout) };
      const compareFailure = await copyObject(failing, info).catch((e: unknown) => e);
      expect(compareFailure).toBeInstanceOf(StageFailure);
      expect(compareFailure).toMatchObject({ stage: 'compare', error: { code: 'Unavailable', pool: 'gone', key: KEY } });
      await writeFile(path.join(s.from.root, KEY), '');
      const other = await setup();
      const vanished = { key: KEY, size: 4, modified: new Date() };
      const readFailure = await copyObject(other.ctx, vanished).catch((e: unknown) => e);
      expect(readFailure).toMatchObject({ stage: 'read', error: { code: 'NotFound', pool: 'from', key: KEY } });
      expect(other.to.ops.filter((o) => o.startsWith('write'))).toEqual([]);
      await other.close();
    } finally {
      await s.close();
    }
  });

  it('a copy that must be proven, or --checksum, is read back and compared', async () => {
    for (const options of [{ prove: true }, { readBack: true }]) {
      const s = await setup(options);
      try {
        const info = await s.source('abcd');
        s.to.ops.length = 0;
        expect(await copyObject(s.ctx, info)).toEqual({ action: 'copied', bytes: 4 });
        expect(s.to.ops).toContain(`read ${KEY}`);
      } finally {
        await s.close();
      }
    }
    // Neither: the copy's size is checked by a stat, and it is not read.
    const plain = await setup();
    try {
      const info = await plain.source('abcd');
      plain.to.ops.length = 0;
      await copyObject(plain.ctx, info);
      expect(plain.to.ops).toContain(`stat ${KEY}`);
      expect(plain.to.ops).not.toContain(`read ${KEY}`);
    } finally {
      await plain.close();
    }
  });
});
