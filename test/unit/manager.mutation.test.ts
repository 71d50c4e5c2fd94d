// StorageManager (src/pool/manager.ts; the mutants Stryker found unasserted, test/MUTATION.md), on
// local pools: the errors that name pools (a duplicate name, an unknown one, a write no pool took, a
// delete or read some pool refused: which pools, what was deleted, the key), `--pool` acting on that
// pool alone (a read of a stale copy shows it, not removing it), a half-open pool whose trial is in
// flight skipped, and where this process remembers a key to be: forgotten by every delete path and
// by a read every pool answered "not found", kept when a pool could not answer, put back after a
// stale copy was removed, and bounded to 10,000 keys (the oldest forgotten first).

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { CallOptions, StorageBackend } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS, StoragePool, type PoolConfig } from '../../src/pool/pool.js';

const KEY = 'hls/cam1/segment_1.ts';

async function folder(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'flux-manager-'));
}

function local(root: string): LocalBackend {
  return new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 });
}

function config(name: string, extra: Partial<PoolConfig> = {}): PoolConfig {
  return { ...POOL_DEFAULTS, name, retries: 0, ...extra };
}

/** A local pool whose root is a regular file: every call fails (Unavailable), even as root. */
async function brokenRoot(): Promise<string> {
  const file = path.join(await folder(), 'a-file');
  await writeFile(file, 'not a folder');
  return file;
}

/** A real local backend that refuses its deletes, or its reads, with PermissionDenied. */
function refusing(root: string, name: string, what: 'delete' | 'read'): StorageBackend {
  const inner = local(root);
  const refuse = async (): Promise<never> => {
    throw new StorageError('PermissionDenied', `${name} refuses`);
  };
  return Object.assign(Object.create(inner) as StorageBackend, { type: inner.type, capabilities: inner.capabilities, [what]: refuse });
}

describe('the errors of a manager name the pools', () => {
  it('two pools of one name, and an unknown pool with the configured ones', async () => {
    const root = await folder();
    expect(() => StorageManager.fromBackends([[config('x'), local(root)], [config('x'), local(root)]])).toThrow(
      expect.objectContaining({ code: 'ConfigInvalid', detail: 'two pools are named "x": names must be unique' }),
    );
    const manager = StorageManager.fromBackends([[config('a'), local(root)], [config('b', { priority: 2 }), local(await folder())]]);
    expect(() => manager.pool('nope')).toThrow(expect.objectContaining({ code: 'InvalidArgument', detail: 'unknown pool "nope": the configured pools are a, b' }));
  });

  it('a write no pool took: every skipped pool with its reason, the key; and a manager without pools', async () => {
    const manager = StorageManager.fromBackends([[config('archive', { readOnly: true }), local(await folder())]]);
    await expect(manager.write(KEY, Buffer.from('x'))).rejects.toMatchObject({
      code: 'InvalidArgument',
      key: KEY,
      retryable: false,
      detail: 'no pool took the write (archive: read-only (readOnly: true in its config))',
    });
    await expect(new StorageManager([]).write(KEY, Buffer.from('x'))).rejects.toMatchObject({ code: 'Unavailable', key: KEY, detail: 'no pool took the write (no pools configured)' });
  });

  it('a delete a pool refused: which pools failed, why, and where it was deleted; a delete of nothing is NotFound with the key', async () => {
    const [a, b, c] = [await folder(), await folder(), await folder()];
    const manager = StorageManager.fromBackends([
      [config('a', { priority: 1 }), refusing(a, 'a', 'delete')],
      [config('b', { priority: 2 }), local(b)],
      [config('c', { priority: 3 }), refusing(c, 'c', 'delete')],
    ]);
    await local(a).write(KEY, Buffer.from('a'));
    await local(b).write(KEY, Buffer.from('b'));
    await expect(manager.delete(KEY)).rejects.toMatchObject({
      code: 'PermissionDenied',
      key: KEY,
      retryable: false,
      detail: 'could not delete from a (PermissionDenied: a refuses) (deleted from b)',
    });
    expect(existsSync(path.join(a, KEY))).toBe(true);
    expect(existsSync(path.join(b, KEY))).toBe(false);
    // Nothing deleted anywhere: no "deleted from"; two pools failing: both named.
    await local(c).write(KEY, Buffer.from('c'));
    const both = (await manager.delete(KEY).catch((e: unknown) => e)) as StorageError;
    // The pools are deleted from at once: their failures are named in the order they came.
    expect(both.detail.replace(/^could not delete from /, '').split('; ').sort()).toEqual(['a (PermissionDenied: a refuses)', 'c (PermissionDenied: c refuses)']);
    // Deleted from two pools: both named.
    const [d, e, f] = [await folder(), await folder(), await folder()];
    const three = StorageManager.fromBackends([
      [config('d', { priority: 1 }), refusing(d, 'd', 'delete')],
      [config('e', { priority: 2 }), local(e)],
      [config('f', { priority: 3 }), local(f)],
    ]);
    for (const root of [d, e, f]) await local(root).write(KEY, Buffer.from('x'));
    const partly = (await three.delete(KEY).catch((error: unknown) => error)) as StorageError;
    expect(partly.detail).toMatch(/^could not delete from d \(PermissionDenied: d refuses\) \(deleted from (e, f|f, e)\)$/);
    const key2 = 'hls/cam1/segment_2.ts';
    await expect(manager.delete(key2)).rejects.toMatchObject({ code: 'NotFound', key: key2, detail: 'no pool holds this object' });
  });

  it('a read no pool could answer: NotFound with the key only when every pool said so, else which pools could not be read', async () => {
    const [a, b] = [await folder(), await folder()];
    const manager = StorageManager.fromBackends([
      [config('a', { priority: 1 }), refusing(a, 'a', 'read')],
      [config('b', { priority: 2 }), local(b)],
    ]);
    await expect(manager.read(KEY)).rejects.toMatchObject({
      code: 'PermissionDenied',
      key: KEY,
      retryable: false,
      detail: 'not found in the pools that answered, and a (PermissionDenied: a refuses) could not be read',
    });
    await expect(manager.read(KEY, { pool: 'b' })).rejects.toMatchObject({ code: 'NotFound', key: KEY, detail: 'no pool holds this object' });
  });
});

describe('what a manager reports of several pools', () => {
  it('is in priority order, whichever pool answered first', async () => {
    const [a, b] = [await folder(), await folder()];
    let bAnswered: () => void = () => undefined;
    const bDone = new Promise<void>((resolve) => (bAnswered = resolve));
    const innerA = local(a);
    const innerB = local(b);
    // a answers its stat only after b answered: b's result comes first.
    const slowA = Object.assign(Object.create(innerA) as StorageBackend, {
      type: innerA.type,
      capabilities: innerA.capabilities,
      stat: async (key: string, options?: CallOptions) => {
        await bDone;
        return innerA.stat(key, options);
      },
    });
    const fastB = Object.assign(Object.create(innerB) as StorageBackend, {
      type: innerB.type,
      capabilities: innerB.capabilities,
      stat: async (key: string, options?: CallOptions) => {
        try {
          return await innerB.stat(key, options);
        } finally {
          bAnswered();
        }
      },
    });
    const manager = StorageManager.fromBackends([[config('a', { priority: 1 }), slowA], [config('b', { priority: 2 }), fastB]]);
    await innerA.write(KEY, Buffer.from('a'));
    await innerB.write(KEY, Buffer.from('b'));
    expect((await manager.locate(KEY)).found.map((f) => f.pool)).toEqual(['a', 'b']);
  });

  it('close() closes every pool, also after one failed to close', async () => {
    const closed: string[] = [];
    const closing = (name: string, fails: boolean) => {
      const inner = local(tmpdir());
      return Object.assign(Object.create(inner) as StorageBackend, {
        type: inner.type,
        capabilities: inner.capabilities,
        close: async () => {
          closed.push(name);
          if (fails) throw new StorageError('Unavailable', `${name} did not close`);
        },
      });
    };
    const manager = StorageManager.fromBackends([[config('a', { priority: 1 }), closing('a', true)], [config('b', { priority: 2 }), closing('b', false)]]);
    await manager.close();
    expect(closed.sort()).toEqual(['a', 'b']);
  });
});

describe('--pool acts on that pool alone', () => {
  it('write, list, locate, delete and read', async () => {
    const [a, b] = [await folder(), await folder()];
    const manager = StorageManager.fromBackends([[config('a', { priority: 1 }), local(a)], [config('b', { priority: 2 }), local(b)]]);
    expect(await manager.write(KEY, Buffer.from('in b'), { pool: 'b' })).toEqual({ pool: 'b', failedOver: [], skipped: [], staleCopies: [] });
    // Another process writes the key to a.
    await local(a).write(KEY, Buffer.from('in a'));
    expect([...(await manager.list('hls/', { pool: 'b' })).objects.values()].map((o) => o.pools)).toEqual([['b']]);
    expect((await manager.locate(KEY, { pool: 'b' })).found.map((f) => f.pool)).toEqual(['b']);
    expect(await manager.read(KEY, { pool: 'a' })).toEqual({ data: Buffer.from('in a'), pool: 'a' });
    expect(await manager.delete(KEY, { pool: 'b' })).toEqual({ deletedFrom: ['b'] });
    expect((await local(a).read(KEY)).toString()).toBe('in a');
    await expect(manager.read(KEY, { pool: 'b' })).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('a read of a pool that holds a stale copy shows that copy and leaves it; a read of any pool removes it, and the next reads go to the new copy first', async () => {
    const [dir, b] = [await folder(), await folder()];
    const rootA = path.join(dir, 'root');
    await mkdir(rootA);
    await local(rootA).write(KEY, Buffer.from('v1'));
    const manager = StorageManager.fromBackends([[config('a', { priority: 1 }), local(rootA)], [config('b', { priority: 2 }), local(b)]]);
    const readsOfA: string[] = [];
    manager.pool('a').onOperation((op) => op.op === 'read' && op.key === KEY && readsOfA.push(op.key));
    // The disk of `a` is away during the write: the older copy stays on it.
    await rename(rootA, `${rootA}.away`);
    await writeFile(rootA, 'not a folder');
    expect((await manager.write(KEY, Buffer.from('v2'))).staleCopies.map((f) => f.pool)).toEqual(['a']);
    await rm(rootA);
    await rename(`${rootA}.away`, rootA);
    expect(await manager.read(KEY, { pool: 'a' })).toEqual({ data: Buffer.from('v1'), pool: 'a' });
    expect(existsSync(path.join(rootA, KEY))).toBe(true);
    readsOfA.length = 0;
    expect(await manager.read(KEY)).toEqual({ data: Buffer.from('v2'), pool: 'b' });
    expect(existsSync(path.join(rootA, KEY))).toBe(false);
    expect(await manager.read(KEY)).toEqual({ data: Buffer.from('v2'), pool: 'b' });
    // Both reads went to b first: where the key was written is remembered again after the removal.
    expect(readsOfA).toEqual([]);
  });
});

describe('a half-open pool whose one trial call is in flight', () => {
  it('is skipped by a write as unhealthy, without a call to it (an older copy in it may remain)', async () => {
    let now = 1_000_000;
    const manager = StorageManager.fromBackends(
      [
        [config('a', { priority: 1 }), local(await brokenRoot())],
        [config('b', { priority: 2 }), local(await folder())],
      ],
      { health: { now: () => now } },
    );
    expect((await manager.pool('a').probe()).ok).toBe(false);
    now += 5_000;
    expect(manager.pool('a').breakerState).toBe('half-open');
    // Another caller's trial call.
    expect(manager.pool('a').claimTrial()).toBe(true);
    const callsToA: string[] = [];
    manager.pool('a').onOperation((op) => callsToA.push(op.op));
    expect(await manager.write(KEY, Buffer.from('x'))).toEqual({
      pool: 'b',
      failedOver: [],
      skipped: [{ pool: 'a', reason: 'unhealthy', detail: 'unhealthy (its trial call after the back-off is in flight)' }],
      staleCopies: [{ pool: 'a', error: expect.objectContaining({ detail: 'an older copy may remain: the pool is down (it is retried after its back-off)' }) }],
    });
    expect(callsToA).toEqual([]);
  });
});

describe('where this process remembers a key to be', () => {
  /** Pools a (priority 1) and b (priority 2) on local folders; the key written through the manager to b. */
  async function writtenToB() {
    const [a, b] = [await folder(), await folder()];
    const manager = StorageManager.fromBackends([[config('a', { priority: 1 }), local(a)], [config('b', { priority: 2 }), local(b)]]);
    await manager.write(KEY, Buffer.from('b, by this process'), { pool: 'b' });
    /** Both pools hold a copy written by someone else: a read answers from the pool it tries first. */
    const bothHold = async () => {
      await local(a).write(KEY, Buffer.from('a'));
      await local(b).write(KEY, Buffer.from('b'));
    };
    return { manager, a, b, bothHold };
  }

  it('is read first', async () => {
    const { manager, bothHold } = await writtenToB();
    await bothHold();
    expect((await manager.read(KEY)).pool).toBe('b');
  });

  it('is forgotten by a delete through a pool (cleanup deletes in batches)', async () => {
    const { manager, bothHold } = await writtenToB();
    expect(await manager.pool('b').deleteMany([KEY])).toMatchObject({ deleted: [KEY] });
    await bothHold();
    expect((await manager.read(KEY)).pool).toBe('a');
  });

  it('is forgotten by a delete that found the key nowhere', async () => {
    const { manager, b, bothHold } = await writtenToB();
    await rm(path.join(b, KEY));
    await expect(manager.delete(KEY)).rejects.toMatchObject({ code: 'NotFound' });
    await bothHold();
    expect((await manager.read(KEY)).pool).toBe('a');
  });

  it('is forgotten by a read every pool answered "not found", and kept by one a pool could not answer', async () => {
    const { manager, b, bothHold } = await writtenToB();
    await rm(path.join(b, KEY));
    await expect(manager.read(KEY)).rejects.toMatchObject({ code: 'NotFound' });
    await bothHold();
    expect((await manager.read(KEY)).pool).toBe('a');

    const [a2, b2] = [await folder(), await folder()];
    const withBroken = StorageManager.fromBackends([
      [config('a', { priority: 1 }), local(a2)],
      [config('b', { priority: 2 }), local(b2)],
      [config('c', { priority: 3 }), local(await brokenRoot())],
    ]);
    await withBroken.write(KEY, Buffer.from('b'), { pool: 'b' });
    await rm(path.join(b2, KEY));
    await expect(withBroken.read(KEY)).rejects.toMatchObject({ code: 'Unavailable' });
    await local(a2).write(KEY, Buffer.from('a'));
    await local(b2).write(KEY, Buffer.from('b'));
    expect((await withBroken.read(KEY)).pool).toBe('b');
  });

  it('is bounded: of 10,001 keys written the oldest is forgotten first', async () => {
    // In-memory stores (in-process, beside a real local backend's other methods): 10,001 writes to files would take seconds.
    const memory = (root: string) => {
      const inner = local(root);
      const objects = new Map<string, Buffer>();
      const backend = Object.assign(Object.create(inner) as StorageBackend, {
        type: inner.type,
        capabilities: { ...inner.capabilities, usage: false },
        write: async (key: string, data: Uint8Array) => {
          objects.set(key, Buffer.from(data));
          return {};
        },
        read: async (key: string, _options?: CallOptions) => {
          const data = objects.get(key);
          if (data === undefined) throw new StorageError('NotFound', 'no such object', { key });
          return data;
        },
        delete: async (key: string) => void objects.delete(key),
      });
      return { backend, objects };
    };
    const a = memory(await folder());
    const b = memory(await folder());
    const manager = new StorageManager([new StoragePool(config('a', { priority: 1 }), a.backend), new StoragePool(config('b', { priority: 2 }), b.backend)]);
    const key = (i: number) => `hls/cam1/segment_${i}.ts`;
    for (let i = 0; i <= 10_000; i++) await manager.write(key(i), Buffer.from('b'), { pool: 'b' });
    for (const i of [0, 1]) a.objects.set(key(i), Buffer.from('a'));
    expect((await manager.read(key(0))).pool).toBe('a');
    expect((await manager.read(key(1))).pool).toBe('b');
  });
});
