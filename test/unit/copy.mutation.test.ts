// One object's copy against stores that report md5s as S3 and OSS do (src/migrate/copy.ts; the
// mutants Stryker found unasserted, test/MUTATION.md): in-process wrappers of a real local backend
// that report the md5 of what they hold in listings, stats and write receipts, take the md5 sent
// with a write, or answer a read with other bytes than they report. "Already there" proven by md5
// from either side or both, the md5 sent with the write, and every Corrupt path: bytes read that
// do not match what the source reports (size, md5), a copy read back different, a write receipt,
// a stat size or a stat md5 that differ from the bytes read.

import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { CallOptions, ObjectInfo, ReadOptions, StorageBackend, WriteOptions } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { SharedBuffers } from '../../src/migrate/buffers.js';
import { copyObject, StageFailure, type CopyContext } from '../../src/migrate/copy.js';
import { DestinationIndex } from '../../src/migrate/destination-index.js';
import { Md5Hasher } from '../../src/migrate/md5-worker.js';
import { POOL_DEFAULTS, StoragePool } from '../../src/pool/pool.js';
import { SegmentLayout } from '../../src/segments/layout.js';

const KEY = 'hls/cam1/segment_1.ts';
const md5 = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

interface Store {
  /** Report the md5 of what it holds in listings and stats (S3/OSS ETags). */
  reportsMd5?: boolean;
  /** Answer reads with these bytes instead. */
  readAs?: Buffer;
  /** Report this md5 on write, or this size or md5 on stat, instead of the true one. */
  receiptMd5?: string;
  statSize?: number;
  statMd5?: string;
  /** Calls that fail (Unavailable), each only from its n-th call on (1 = every call). */
  fail?: { read?: number; stat?: number };
}

/** A pool on a real local folder that behaves as `store` says; `ops` names its calls, `sentMd5` the md5 each write was given. */
async function pool(name: string, store: Store = {}) {
  const root = await mkdtemp(path.join(tmpdir(), 'flux-copy-'));
  const inner = new LocalBackend({ type: 'local', root, fsync: false, concurrency: 4 });
  const ops: string[] = [];
  const sentMd5: (string | undefined)[] = [];
  const calls = { read: 0, stat: 0 };
  const failing = (op: 'read' | 'stat'): void => {
    const from = store.fail?.[op];
    if (from !== undefined && ++calls[op] >= from) throw new StorageError('Unavailable', `${name} unreachable`);
  };
  const withMd5 = async (info: ObjectInfo): Promise<ObjectInfo> => (store.reportsMd5 === true ? { ...info, md5: md5(await inner.read(info.key)) } : info);
  const backend = Object.assign(Object.create(inner) as StorageBackend, {
    type: inner.type,
    capabilities: { ...inner.capabilities, md5: store.reportsMd5 === true, checksWriteMd5: store.reportsMd5 === true },
    async *list(prefix: string, options?: CallOptions): AsyncGenerator<ObjectInfo> {
      ops.push(`list ${prefix}`);
      for await (const info of inner.list(prefix, options)) yield await withMd5(info);
    },
    stat: async (key: string, options?: CallOptions) => {
      ops.push(`stat ${key}`);
      failing('stat');
      const info = await withMd5(await inner.stat(key, options));
      return { ...info, ...(store.statSize === undefined ? {} : { size: store.statSize }), ...(store.statMd5 === undefined ? {} : { md5: store.statMd5 }) };
    },
    read: async (key: string, options?: ReadOptions) => {
      ops.push(`read ${key}`);
      failing('read');
      const data = await inner.read(key, options);
      return store.readAs ?? data;
    },
    write: async (key: string, data: Uint8Array, options?: WriteOptions) => {
      ops.push(`write ${key}`);
      sentMd5.push(options?.md5);
      await inner.write(key, data);
      return store.reportsMd5 === true || store.receiptMd5 !== undefined ? { md5: store.receiptMd5 ?? md5(Buffer.from(data)) } : {};
    },
  });
  return { pool: new StoragePool({ ...POOL_DEFAULTS, name, retries: 0 }, backend), inner, ops, sentMd5 };
}

async function copying(from: Awaited<ReturnType<typeof pool>>, to: Awaited<ReturnType<typeof pool>>, options: Partial<Pick<CopyContext, 'readBack' | 'prove'>> = {}) {
  const hasher = new Md5Hasher();
  const ctx: CopyContext = {
    from: from.pool,
    to: to.pool,
    destination: new DestinationIndex(to.pool, new SegmentLayout()),
    hasher,
    buffers: new SharedBuffers(),
    reuseBuffers: false,
    sizeOnly: false,
    readBack: false,
    prove: false,
    dryRun: false,
    ...options,
  };
  return { ctx, close: () => hasher.close() };
}

/** The source's entry as its listing gives it (with its md5 where the store reports one). */
async function listed(from: Awaited<ReturnType<typeof pool>>, bytes: string): Promise<ObjectInfo> {
  await from.inner.write(KEY, Buffer.from(bytes));
  const info = await from.pool.stat(KEY);
  from.ops.length = 0;
  return info;
}

async function failure(run: Promise<unknown>): Promise<StageFailure> {
  const error = await run.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StageFailure);
  return error as StageFailure;
}

describe('a copy between stores that report md5s', () => {
  it('skips an object both report with the same md5 without reading it, and copies one whose md5 differs', async () => {
    const [from, to] = [await pool('from', { reportsMd5: true }), await pool('to', { reportsMd5: true })];
    const c = await copying(from, to);
    try {
      const info = await listed(from, 'abcd');
      await to.inner.write(KEY, Buffer.from('abcd'));
      expect(await copyObject(c.ctx, info)).toEqual({ action: 'skipped', bytes: 0 });
      expect([...from.ops, ...to.ops].filter((op) => op.startsWith('read'))).toEqual([]);
      const other = await listed(from, 'abce');
      expect(await copyObject(c.ctx, other)).toEqual({ action: 'copied', bytes: 4 });
      expect((await to.inner.read(KEY)).toString()).toBe('abce');
      // The md5 of the bytes goes with the write, for the store to check.
      expect(to.sentMd5).toEqual([md5('abce')]);
    } finally {
      await c.close();
    }
  });

  it('from a store that reports md5s to one that does not: reads the copy, hashes it, skips it when the md5 matches', async () => {
    const [from, to] = [await pool('from', { reportsMd5: true }), await pool('to')];
    const c = await copying(from, to);
    try {
      const info = await listed(from, 'abcd');
      await to.inner.write(KEY, Buffer.from('abcd'));
      expect(await copyObject(c.ctx, info)).toEqual({ action: 'skipped', bytes: 0 });
      expect(to.ops).toContain(`read ${KEY}`);
      expect(from.ops).toEqual([]);
      await to.inner.write(KEY, Buffer.from('abzz'));
      expect(await copyObject(c.ctx, info)).toEqual({ action: 'copied', bytes: 4 });
      expect((await to.inner.read(KEY)).toString()).toBe('abcd');
    } finally {
      await c.close();
    }
  });

  it('from a store without md5s to one with: reads the source, hashes it against the copy\'s md5', async () => {
    const [from, to] = [await pool('from'), await pool('to', { reportsMd5: true })];
    const c = await copying(from, to);
    try {
      const info = await listed(from, 'abcd');
      await to.inner.write(KEY, Buffer.from('abcd'));
      expect(await copyObject(c.ctx, info)).toEqual({ action: 'skipped', bytes: 0 });
      expect(from.ops).toEqual([`read ${KEY}`]);
      expect(to.ops.filter((op) => op.startsWith('read'))).toEqual([]);
      // Another run (the destination index holds one listing per stream and run).
      await to.inner.write(KEY, Buffer.from('abzz'));
      const again = await copying(from, to);
      expect(await copyObject(again.ctx, info)).toEqual({ action: 'copied', bytes: 4 });
      await again.close();
      expect((await to.inner.read(KEY)).toString()).toBe('abcd');
    } finally {
      await c.close();
    }
  });
});

describe('a copy refuses bytes it cannot prove', () => {
  it('read bytes of another size or md5 than the source reports (unchanged since): Corrupt at the read, nothing written', async () => {
    for (const [store, what] of [
      [{ readAs: Buffer.from('abcde') }, 'size'],
      [{ reportsMd5: true, readAs: Buffer.from('abzz') }, 'md5'],
    ] as const) {
      const [from, to] = [await pool('from', store), await pool('to')];
      const c = await copying(from, to);
      try {
        const info = await listed(from, 'abcd');
        const error = await failure(copyObject(c.ctx, info));
        expect(error.stage).toBe('read');
        expect(error.error).toMatchObject({ code: 'Corrupt', pool: 'from', key: KEY });
        expect(error.error.detail).toBe(`the bytes read do not match the ${what} the source reports for the object (a damaged object or a faulty read): not copied, and the source is kept`);
        expect(to.ops.filter((op) => op.startsWith('write'))).toEqual([]);
      } finally {
        await c.close();
      }
    }
  });

  it('a source rewritten since it was listed is copied as it is now', async () => {
    const [from, to] = [await pool('from', { reportsMd5: true }), await pool('to')];
    const c = await copying(from, to);
    try {
      const info = await listed(from, 'abcd');
      await from.inner.write(KEY, Buffer.from('abcdef'));
      expect(await copyObject(c.ctx, info)).toEqual({ action: 'copied', bytes: 6 });
      expect((await to.inner.read(KEY)).toString()).toBe('abcdef');
    } finally {
      await c.close();
    }
  });

  it('a copy that reads back, reports an md5, a size or a stat md5 other than the bytes read: Corrupt at the verify step', async () => {
    for (const [store, options, detail] of [
      [{ readAs: Buffer.from('zzzz') }, { readBack: true }, 'the copy read back differs from the bytes read from the source'],
      [{ readAs: Buffer.from('zzzz') }, { prove: true }, 'the copy read back differs from the bytes read from the source'],
      [{ receiptMd5: md5('zzzz') }, {}, "the md5 the store reports for the copy differs from the bytes read's"],
      [{ statSize: 5 }, {}, 'the copy has another size than the bytes read'],
      [{ statMd5: md5('zzzz') }, {}, "the copy's md5 differs from the bytes read's"],
    ] as const) {
      const [from, to] = [await pool('from'), await pool('to', store)];
      const c = await copying(from, to, options);
      try {
        const info = await listed(from, 'abcd');
        const error = await failure(copyObject(c.ctx, info));
        expect(error.stage, detail).toBe('verify');
        expect(error.error).toMatchObject({ code: 'Corrupt', pool: 'to', key: KEY, detail });
      } finally {
        await c.close();
      }
    }
  });
});

describe('a copy proven by the stat', () => {
  it('a store that reports the right md5 in its stat but none on write: copied', async () => {
    const [from, to] = [await pool('from'), await pool('to', { statMd5: md5('abcd') })];
    const c = await copying(from, to);
    try {
      const info = await listed(from, 'abcd');
      expect(await copyObject(c.ctx, info)).toEqual({ action: 'copied', bytes: 4 });
      expect(to.ops).toContain(`stat ${KEY}`);
    } finally {
      await c.close();
    }
  });
});

describe('a copy names the step and the pool of a call that failed', () => {
  it.each([
    // The copy of the same size is read to compare with the source's md5.
    ['the copy, read to compare with the source md5', { reportsMd5: true }, { fail: { read: 1 } }, 'compare', 'to'],
    // Neither reports an md5: the source is read, then the copy, and the bytes compared.
    ['the source, read to compare', { fail: { read: 1 } }, {}, 'read', 'from'],
    ['the copy, read to compare with the source bytes', {}, { fail: { read: 1 } }, 'compare', 'to'],
    // The source reads back other bytes than listed, and asking it again fails.
    ['the source, asked again after a mismatch', { readAs: Buffer.from('abcde'), fail: { stat: 2 } }, {}, 'read', 'from'],
  ] as const)('%s', async (_what, fromStore, toStore, stage, poolName) => {
    const [from, to] = [await pool('from', fromStore), await pool('to', toStore)];
    const c = await copying(from, to);
    try {
      const info = await listed(from, 'abcd');
      await to.inner.write(KEY, Buffer.from('abcz'));
      const error = await failure(copyObject(c.ctx, info));
      expect(error.stage).toBe(stage);
      expect(error.error).toMatchObject({ code: 'Unavailable', pool: poolName, key: KEY });
      expect(to.ops.filter((op) => op.startsWith('write'))).toEqual([]);
    } finally {
      await c.close();
    }
  });
});

describe('a source rewritten since it was listed', () => {
  it('with the same size and other bytes, on a store that reports md5s: copied as it is now', async () => {
    const [from, to] = [await pool('from', { reportsMd5: true }), await pool('to')];
    const c = await copying(from, to);
    try {
      const info = await listed(from, 'abcd');
      await from.inner.write(KEY, Buffer.from('wxyz'));
      expect(await copyObject(c.ctx, info)).toEqual({ action: 'copied', bytes: 4 });
      expect((await to.inner.read(KEY)).toString()).toBe('wxyz');
    } finally {
      await c.close();
    }
  });

  it('whose bytes read match neither the listing nor what it holds now: Corrupt, nothing written', async () => {
    const [from, to] = [await pool('from', { readAs: Buffer.from('abcde') }), await pool('to')];
    const c = await copying(from, to);
    try {
      const info = await listed(from, 'abcd');
      await from.inner.write(KEY, Buffer.from('abcdef'));
      const error = await failure(copyObject(c.ctx, info));
      expect(error.stage).toBe('read');
      expect(error.error).toMatchObject({ code: 'Corrupt', pool: 'from', key: KEY });
      expect(error.error.detail).toMatch(/^the bytes read do not match the size the source reports/);
      expect(to.ops.filter((op) => op.startsWith('write'))).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
