// The streamed union listing (src/pool/listing.ts; the mutants Stryker found unasserted,
// test/MUTATION.md), on local pools, some of whose listings fail part way, come out in another order
// or claim an order they do not keep (in-process wrappers of a real local backend): folders in key
// order, keys in no folder counted per pool (flux-storage's own never), the newest modified time of
// a key held twice, named folders sorted and listed alone, a failed listing never passed off as
// complete (per folder, cut short, before any folder, unordered), the error's code, key and cause,
// the caller's signal on every path, and every pool's listing closed when the caller stops early.

import { mkdtemp, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { CallOptions, ObjectInfo, StorageBackend } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { compareFolders, type FolderListing, type Grouping, type UngroupedObjects } from '../../src/pool/listing.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS, StoragePool } from '../../src/pool/pool.js';

interface Faults {
  /** A listing of this prefix throws after yielding this many entries. */
  failAfter?: Record<string, number>;
  error?: StorageError;
  /** Entries in reverse key order. */
  reversed?: boolean;
  /** What the backend claims (default: the local backend's true). */
  orderedList?: boolean;
  /** Keys under flux-storage's reserved folder that a listing of '' yields first, as S3, OSS and Redis list them (the local backend hides that folder). */
  reservedListed?: string[];
}

/** A pool on a real local folder holding `keys`, whose listings misbehave as `faults` say; `closed` names each listing that ended. */
async function pool(name: string, priority: number, keys: string[], faults: Faults = {}) {
  const root = await mkdtemp(path.join(tmpdir(), 'flux-listing-'));
  const inner = new LocalBackend({ type: 'local', root, fsync: false, concurrency: 4 });
  for (const key of keys) await inner.write(key, Buffer.from(key));
  const closed: string[] = [];
  const backend = Object.assign(Object.create(inner) as StorageBackend, {
    type: inner.type,
    capabilities: { ...inner.capabilities, orderedList: faults.orderedList ?? inner.capabilities.orderedList },
    async *list(prefix: string, options?: CallOptions): AsyncGenerator<ObjectInfo> {
      try {
        let entries: AsyncIterable<ObjectInfo> | ObjectInfo[] = inner.list(prefix, options);
        if (faults.reversed === true) {
          const all: ObjectInfo[] = [];
          for await (const info of entries) all.push(info);
          entries = all.reverse();
        }
        if (prefix === '') for (const key of faults.reservedListed ?? []) yield { key, size: 1, modified: new Date() };
        const limit = faults.failAfter?.[prefix];
        let yielded = 0;
        for await (const info of entries) {
          if (yielded === limit) break;
          yielded++;
          yield info;
        }
        if (limit !== undefined) throw faults.error ?? new StorageError('Unavailable', `the disk of ${name} went away`);
      } finally {
        closed.push(prefix);
      }
    },
  });
  return { pool: new StoragePool({ ...POOL_DEFAULTS, name, priority, retries: 0 }, backend), root, closed };
}

interface Seen {
  folder: string;
  keys: string[];
  failures: string[];
}

/** The folders a listing yields: each key with the pools holding it, and the pools that failed it. */
async function folders(listing: FolderListing, seen: Seen[] = []): Promise<Seen[]> {
  for await (const { folder, objects, failures } of listing) {
    seen.push({ folder, keys: [...objects].map(([key, o]) => `${key} ${o.pools.join('+')}`).sort(), failures: failures.map((f) => f.pool) });
  }
  return seen;
}

/** Lists to the end, keeping what was yielded before the error. */
async function failing(listing: FolderListing): Promise<{ seen: Seen[]; error: StorageError }> {
  const seen: Seen[] = [];
  try {
    await folders(listing, seen);
  } catch (error) {
    return { seen, error: error as StorageError };
  }
  throw new Error('the listing did not fail');
}

/** The pools' counts of ungrouped keys, by pool name (the pools are listed at once: their counts come in no set order). */
const byPool = (ungrouped: readonly UngroupedObjects[]): UngroupedObjects[] => [...ungrouped].sort((x, y) => x.pool.localeCompare(y.pool));

/** Streams under hls/ as groups, from a listing of the whole store (the segment layout's way). */
const streams: Grouping = {
  groupOf: (key) => /^hls\/([^/]+)\//.exec(key)?.[1],
  folderOf: (group) => `hls/${group}/`,
  contiguous: true,
};

describe('the union listing, one folder at a time', () => {
  it('groups by the folder right under the prefix, in key order ("a-b" before "a"), with every pool holding each key', async () => {
    const p1 = await pool('p1', 1, ['hls/b/1.ts', 'hls/a/1.ts', 'hls/a/sub/2.ts', 'hls/a-b/1.ts', 'hls/top.ts']);
    const p2 = await pool('p2', 2, ['hls/a/1.ts', 'hls/c/1.ts', 'hls/z.ts']);
    const manager = new StorageManager([p2.pool, p1.pool]);
    const listing = manager.listFolders('hls/');
    expect(await folders(listing)).toEqual([
      { folder: 'a-b', keys: ['hls/a-b/1.ts p1'], failures: [] },
      { folder: 'a', keys: ['hls/a/1.ts p1+p2', 'hls/a/sub/2.ts p1'], failures: [] },
      { folder: 'b', keys: ['hls/b/1.ts p1'], failures: [] },
      { folder: 'c', keys: ['hls/c/1.ts p2'], failures: [] },
    ]);
    // The keys in no folder, per pool.
    expect(byPool(listing.ungrouped)).toEqual([
      { pool: 'p1', count: 1, examples: ['hls/top.ts'] },
      { pool: 'p2', count: 1, examples: ['hls/z.ts'] },
    ]);
    expect(listing.failures).toEqual([]);
    // One pool alone.
    expect((await folders(manager.listFolders('hls/', { pool: 'p2' }))).map((f) => f.keys)).toEqual([['hls/a/1.ts p2'], ['hls/c/1.ts p2']]);
  });

  it('folder names compare as their keys do: by the name followed by "/"', () => {
    expect(compareFolders('a', 'a-b')).toBeGreaterThan(0);
    expect(compareFolders('a-b', 'a')).toBeLessThan(0);
    expect(compareFolders('a', 'a')).toBe(0);
    expect(compareFolders('a', 'b')).toBeLessThan(0);
  });

  it("counts the keys of no group per pool, the first three as examples, never flux-storage's own", async () => {
    const p1 = await pool('p1', 1, ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'hls/cam1/1.ts'], { reservedListed: ['.flux-storage/same-store/marker'] });
    const p2 = await pool('p2', 2, ['other.txt'], { reservedListed: ['.flux-storage/probe/x'] });
    const listing = new StorageManager([p1.pool, p2.pool]).listFolders('', { grouping: streams });
    expect(await folders(listing)).toEqual([{ folder: 'cam1', keys: ['hls/cam1/1.ts p1'], failures: [] }]);
    expect(byPool(listing.ungrouped)).toEqual([
      { pool: 'p1', count: 4, examples: ['a.txt', 'b.txt', 'c.txt'] },
      { pool: 'p2', count: 1, examples: ['other.txt'] },
    ]);
  });

  it('gives a key held by two pools the newest modified time either reports, and the entry of the higher-priority pool', async () => {
    const p1 = await pool('p1', 1, ['hls/a/1.ts', 'hls/a/2.ts']);
    const p2 = await pool('p2', 2, ['hls/a/1.ts', 'hls/a/2.ts']);
    const old = new Date('2020-01-01T00:00:00Z');
    const recent = new Date('2024-01-01T00:00:00Z');
    await utimes(path.join(p1.root, 'hls/a/1.ts'), old, old);
    await utimes(path.join(p2.root, 'hls/a/1.ts'), recent, recent);
    await utimes(path.join(p1.root, 'hls/a/2.ts'), recent, recent);
    await utimes(path.join(p2.root, 'hls/a/2.ts'), old, old);
    const seen: Record<string, [string, string]> = {};
    for await (const { objects } of new StorageManager([p1.pool, p2.pool]).listFolders('hls/')) {
      for (const [key, o] of objects) seen[key] = [o.info.modified.toISOString(), o.newestModified.toISOString()];
    }
    expect(seen).toEqual({
      'hls/a/1.ts': [old.toISOString(), recent.toISOString()],
      'hls/a/2.ts': [recent.toISOString(), recent.toISOString()],
    });
  });

  it('lists named folders alone, each once, in key order, even an empty one; in a shared folder only the named group', async () => {
    const p1 = await pool('p1', 1, ['hls/a/1.ts', 'hls/b/1.ts', 'hls/c/1.ts', 'flat/cam1_1.ts', 'flat/cam2_1.ts', 'flat/cam1_2.ts']);
    const manager = new StorageManager([p1.pool]);
    expect(await folders(manager.listFolders('hls/', { folders: ['c', 'a', 'c', 'none'] }))).toEqual([
      { folder: 'a', keys: ['hls/a/1.ts p1'], failures: [] },
      { folder: 'c', keys: ['hls/c/1.ts p1'], failures: [] },
      { folder: 'none', keys: [], failures: [] },
    ]);
    const flat: Grouping = { groupOf: (key) => /^flat\/([a-z0-9]+)_\d+\.ts$/.exec(key)?.[1], folderOf: () => 'flat/', contiguous: false };
    expect(await folders(manager.listFolders('flat/', { folders: ['cam1'], grouping: flat }))).toEqual([{ folder: 'cam1', keys: ['flat/cam1_1.ts p1', 'flat/cam1_2.ts p1'], failures: [] }]);
    // And the whole shared folder, grouped in memory: both groups, in order.
    expect((await folders(manager.listFolders('flat/', { grouping: flat }))).map((f) => f.folder)).toEqual(['cam1', 'cam2']);
  });

  it('groups the listing of a backend that lists in no order in memory: folders sorted, keys of no folder counted', async () => {
    const p1 = await pool('p1', 1, ['hls/a/1.ts', 'hls/b/1.ts', 'hls/b/2.ts', 'hls/top.ts'], { reversed: true, orderedList: false });
    const p2 = await pool('p2', 2, ['hls/a/9.ts']);
    const listing = new StorageManager([p1.pool, p2.pool]).listFolders('hls/');
    expect(await folders(listing)).toEqual([
      { folder: 'a', keys: ['hls/a/1.ts p1', 'hls/a/9.ts p2'], failures: [] },
      { folder: 'b', keys: ['hls/b/1.ts p1', 'hls/b/2.ts p1'], failures: [] },
    ]);
    expect(listing.ungrouped).toEqual([{ pool: 'p1', count: 1, examples: ['hls/top.ts'] }]);
  });

  it('an unordered pool with keys of no folder does not end the listing before the folders of the pools above it', async () => {
    const p1 = await pool('p1', 1, ['hls/z/1.ts']);
    const p2 = await pool('p2', 2, ['hls/a/1.ts', 'hls/top.ts'], { orderedList: false });
    expect((await folders(new StorageManager([p1.pool, p2.pool]).listFolders('hls/'))).map((f) => f.folder)).toEqual(['a', 'z']);
  });
});

describe('a union listing that a pool could not complete', () => {
  it('of named folders: only the folder that failed misses the pool; without partial it throws before that folder, with the code, prefix and cause', async () => {
    const p1 = await pool('p1', 1, ['hls/a/1.ts', 'hls/b/1.ts', 'hls/c/1.ts']);
    const p2 = await pool('p2', 2, ['hls/a/2.ts', 'hls/b/2.ts', 'hls/c/2.ts'], { failAfter: { 'hls/b/': 0 } });
    const manager = new StorageManager([p1.pool, p2.pool]);
    const partial = manager.listFolders('hls/', { folders: ['a', 'b', 'c'], partial: true });
    expect(await folders(partial)).toEqual([
      { folder: 'a', keys: ['hls/a/1.ts p1', 'hls/a/2.ts p2'], failures: [] },
      { folder: 'b', keys: ['hls/b/1.ts p1'], failures: ['p2'] },
      { folder: 'c', keys: ['hls/c/1.ts p1', 'hls/c/2.ts p2'], failures: [] },
    ]);
    expect(partial.failures.map((f) => `${f.pool} ${f.error.code}`)).toEqual(['p2 Unavailable']);

    const { seen, error } = await failing(manager.listFolders('hls/', { folders: ['a', 'b', 'c'] }));
    expect(seen.map((f) => f.folder)).toEqual(['a']);
    expect(error).toMatchObject({ code: 'Unavailable', key: 'hls/' });
    expect(error.detail).toMatch(/^the listing of hls\/ is incomplete \(.*the disk of p2 went away.*\); ask for partial results to see what the other pools hold/);
    expect(error.cause).toMatchObject({ code: 'Unavailable', pool: 'p2' });
  });

  it('cut short in a folder: that folder keeps what the pool listed, and it and every later folder name the pool, once', async () => {
    const p1 = await pool('p1', 1, ['hls/a/3.ts', 'hls/b/1.ts', 'hls/c/1.ts']);
    const p2 = await pool('p2', 2, ['hls/a/1.ts', 'hls/a/2.ts', 'hls/b/1.ts'], { failAfter: { 'hls/': 1 } });
    const manager = new StorageManager([p1.pool, p2.pool]);
    const partial = manager.listFolders('hls/', { partial: true });
    expect(await folders(partial)).toEqual([
      { folder: 'a', keys: ['hls/a/1.ts p2', 'hls/a/3.ts p1'], failures: ['p2'] },
      { folder: 'b', keys: ['hls/b/1.ts p1'], failures: ['p2'] },
      { folder: 'c', keys: ['hls/c/1.ts p1'], failures: ['p2'] },
    ]);
    expect(partial.failures.map((f) => f.pool)).toEqual(['p2']);
    const { seen, error } = await failing(manager.listFolders('hls/'));
    expect(seen).toEqual([]);
    expect(error.message).toMatch(/the disk of p2 went away/);
  });

  it('before any folder, with nothing else to list: the listing still throws (never passed off as complete), or names the pool after the loop', async () => {
    const empty = await pool('empty', 1, []);
    const broken = await pool('broken', 2, ['hls/a/1.ts'], { failAfter: { 'hls/': 0 } });
    const manager = new StorageManager([empty.pool, broken.pool]);
    const { seen, error } = await failing(manager.listFolders('hls/'));
    expect(seen).toEqual([]);
    expect(error).toMatchObject({ code: 'Unavailable', key: 'hls/' });
    const partial = manager.listFolders('hls/', { partial: true });
    expect(await folders(partial)).toEqual([]);
    expect(partial.failures.map((f) => f.pool)).toEqual(['broken']);
  });

  it('that lists in no order: every folder misses it', async () => {
    const p1 = await pool('p1', 1, ['hls/a/1.ts', 'hls/b/1.ts'], { orderedList: false, failAfter: { 'hls/': 1 } });
    const p2 = await pool('p2', 2, ['hls/a/9.ts']);
    const partial = new StorageManager([p1.pool, p2.pool]).listFolders('hls/', { partial: true });
    expect(await folders(partial)).toEqual([{ folder: 'a', keys: ['hls/a/9.ts p2'], failures: ['p1'] }]);
    expect(partial.failures.map((f) => f.pool)).toEqual(['p1']);
  });

  it('that claims key order and breaks it: refused as Unavailable, naming the two folders', async () => {
    const liar = await pool('liar', 1, ['hls/a/1.ts', 'hls/b/1.ts'], { reversed: true });
    const { error } = await failing(new StorageManager([liar.pool]).listFolders('hls/'));
    expect(error).toMatchObject({ code: 'Unavailable', key: 'hls/' });
    expect(error.message).toMatch(/the listing came out of key order \("a" after "b"\): the store does not list like S3/);
  });

  it('keeps the code the failures agree on, and is Unavailable when they differ', async () => {
    const refusing = (name: string, priority: number, code: 'PermissionDenied' | 'Timeout') => pool(name, priority, ['hls/a/1.ts'], { failAfter: { 'hls/': 0 }, error: new StorageError(code, `${name} says no`) });
    const same = await failing(new StorageManager([(await refusing('p1', 1, 'PermissionDenied')).pool, (await refusing('p2', 2, 'PermissionDenied')).pool]).listFolders('hls/'));
    expect(same.error.code).toBe('PermissionDenied');
    const mixed = await failing(new StorageManager([(await refusing('p1', 1, 'PermissionDenied')).pool, (await refusing('p2', 2, 'Timeout')).pool]).listFolders('hls/'));
    expect(mixed.error.code).toBe('Unavailable');
    expect(mixed.error.message).toMatch(/p1 says no.*; .*p2 says no/);
  });
});

describe("the caller's control of a union listing", () => {
  it('an aborted signal interrupts every way of listing (named folders, ordered, unordered)', async () => {
    const ordered = await pool('ordered', 1, ['hls/a/1.ts']);
    const unordered = await pool('unordered', 1, ['hls/a/1.ts'], { orderedList: false });
    for (const [p, options] of [
      [ordered, { folders: ['a'] }],
      [ordered, {}],
      [unordered, {}],
    ] as const) {
      const { error } = await failing(new StorageManager([p.pool]).listFolders('hls/', { ...options, signal: AbortSignal.abort() }));
      expect(error.code).toBe('Interrupted');
    }
  });

  it('a caller that stops after the first folder closes every pool listing', async () => {
    const p1 = await pool('p1', 1, ['hls/a/1.ts', 'hls/b/1.ts']);
    const p2 = await pool('p2', 2, ['hls/a/2.ts', 'hls/c/1.ts']);
    for await (const folder of new StorageManager([p1.pool, p2.pool]).listFolders('hls/')) {
      expect(folder.folder).toBe('a');
      break;
    }
    expect([p1.closed, p2.closed]).toEqual([['hls/'], ['hls/']]);
  });
});
