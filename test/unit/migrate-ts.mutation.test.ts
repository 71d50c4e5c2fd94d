// migrate() itself (src/migrate/migrate.ts) at the edges Stryker found unasserted with the tests that
// drive it (test/MUTATION.md, "src/migrate/migrate.ts, session 6"), on real local folders, some
// behind in-process wrappers of a real LocalBackend that record or fail a call: the options refused
// before anything changes, Ctrl-C (calls cut short are no failures; no copy started after it), the
// progress reports and their pace, source deletes in batches of 500 (and a batch that fails), the
// dry-run plan, --shard and variant streams, the early total, a stream's init file that cannot be
// read, playlists held back after a failure, and the summary's figures.

import { mkdtemp, readdir, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import type { CallOptions, DeleteManyResult, ObjectInfo, StorageBackend } from '../../src/backends/types.js';
import { StorageError } from '../../src/errors.js';
import { migrate, type MigrateOptions, type MigrateProgress } from '../../src/migrate/migrate.js';
import { POOL_DEFAULTS, StoragePool } from '../../src/pool/pool.js';
import { SegmentLayout, type LayoutConfig } from '../../src/segments/layout.js';

interface Hooks {
  /** Called before each listing's first object; may throw. */
  list?: (prefix: string, options?: CallOptions) => void | Promise<void>;
  stat?: (key: string, options?: CallOptions) => void | Promise<void>;
  read?: (key: string) => void | Promise<void>;
  write?: (key: string) => void | Promise<void>;
  deleteMany?: (keys: readonly string[]) => DeleteManyResult | undefined | Promise<DeleteManyResult | undefined>;
}

/** A pool on a real local folder; `calls` names its backend calls, `hooks` may delay or fail them. */
async function pool(name: string, hooks: Hooks = {}) {
  const root = await mkdtemp(path.join(tmpdir(), `flux-migts-${name}-`));
  const inner = new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 });
  const calls: string[] = [];
  const batches: number[] = [];
  const backend = Object.assign(Object.create(inner) as StorageBackend, {
    async *list(prefix: string, options?: CallOptions): AsyncGenerator<ObjectInfo> {
      calls.push(`list ${prefix}`);
      await hooks.list?.(prefix, options);
      yield* inner.list(prefix, options);
    },
    stat: async (key: string, options?: CallOptions) => {
      calls.push(`stat ${key}`);
      await hooks.stat?.(key, options);
      return inner.stat(key, options);
    },
    read: async (key: string, options?: Parameters<LocalBackend['read']>[1]) => {
      calls.push(`read ${key}`);
      await hooks.read?.(key);
      return inner.read(key, options);
    },
    write: async (key: string, data: Uint8Array, options?: Parameters<LocalBackend['write']>[2]) => {
      if (!key.startsWith('.flux-storage/')) calls.push(`write ${key}`);
      await hooks.write?.(key);
      const receipt = await inner.write(key, data, options);
      if (!key.startsWith('.flux-storage/')) calls.push(`wrote ${key}`);
      return receipt;
    },
    deleteMany: async (keys: readonly string[], options?: CallOptions) => {
      batches.push(keys.length);
      const answer = await hooks.deleteMany?.(keys);
      return answer ?? inner.deleteMany(keys, options);
    },
  });
  const files = async (): Promise<string[]> =>
    ((await readdir(root, { recursive: true, withFileTypes: true })) as import('node:fs').Dirent[])
      .filter((e) => e.isFile() && !path.relative(root, e.parentPath).startsWith('.flux-storage'))
      .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
      .sort();
  const put = async (key: string, body: string | Buffer = key): Promise<void> => {
    await mkdir(path.dirname(path.join(root, key)), { recursive: true });
    await writeFile(path.join(root, key), body);
  };
  return { pool: new StoragePool({ ...POOL_DEFAULTS, name, retries: 0 }, backend), root, calls, batches, files, put };
}

type Pair = { from: Awaited<ReturnType<typeof pool>>; to: Awaited<ReturnType<typeof pool>> };

async function pair(hooks: { from?: Hooks; to?: Hooks } = {}): Promise<Pair> {
  return { from: await pool('src', hooks.from), to: await pool('dst', hooks.to) };
}

const run = (p: Pair, extra: Partial<MigrateOptions> & { layout?: SegmentLayout } = {}) =>
  migrate({ from: p.from.pool, to: p.to.pool, layout: new SegmentLayout(), concurrency: 2, deleteSource: false, dryRun: false, checksum: false, ...extra });

const layoutOf = (config: LayoutConfig): SegmentLayout => new SegmentLayout(config);

describe('migrate refuses, before anything changes', () => {
  it.each([
    ['the same pool as --from and --to', (p: Pair) => ({ to: p.from.pool }), /^--from and --to are the same pool "src"$/],
    ['concurrency 0', () => ({ concurrency: 0 }), /^concurrency must be a whole number, 1 or more$/],
    ['concurrency -1', () => ({ concurrency: -1 }), /^concurrency must be a whole number, 1 or more$/],
    ['concurrency 1.5', () => ({ concurrency: 1.5 }), /^concurrency must be a whole number, 1 or more$/],
    ['concurrency NaN', () => ({ concurrency: Number.NaN }), /^concurrency must be a whole number, 1 or more$/],
    ['--size-only with --delete-source', () => ({ sizeOnly: true, deleteSource: true }), /^--size-only cannot be combined with --delete-source: a source is deleted only once its copy is proven/],
    ['--size-only with --checksum', () => ({ sizeOnly: true, checksum: true }), /^--size-only and --checksum contradict each other: choose one$/],
  ])('%s (InvalidArgument)', async (_name, options, message) => {
    const p = await pair();
    await p.from.put('hls/cam1/segment_1.ts');
    // Refused at once: a run that went on with such options (a semaphore of 0 slots) would never end.
    const error = await Promise.race([run(p, options(p)).catch((e: unknown) => e), new Promise((resolve) => setTimeout(() => resolve('still running after 5 s'), 5_000))]);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(message) });
    expect(await p.to.files()).toEqual([]);
    expect(await p.from.files()).toEqual(['hls/cam1/segment_1.ts']);
    expect(p.from.calls).toEqual([]);
  });

  it('takes concurrency 1 and the options that go together (--size-only alone, --checksum with --delete-source)', async () => {
    const p = await pair();
    await p.from.put('hls/cam1/segment_1.ts');
    expect(await run(p, { concurrency: 1, sizeOnly: true })).toMatchObject({ copied: 1, failed: 0 });
    expect(await run(p, { concurrency: 1, sizeOnly: false, checksum: true, deleteSource: true })).toMatchObject({ skipped: 1, deleted: 1, failed: 0 });
    expect(await p.from.files()).toEqual([]);
  });
});

describe('migrate under Ctrl-C', () => {
  const segments = (n: number) => Array.from({ length: n }, (_, i) => `hls/cam1/segment_${i}.ts`);

  it('a copy cut short by the abort is no failure, no copy starts after it, playlists wait, nothing is reported unknown', async () => {
    const controller = new AbortController();
    const p = await pair({
      to: {
        write: (key) => {
          if (key !== 'hls/cam1/segment_2.ts') return;
          controller.abort();
          throw new StorageError('Interrupted', 'cut short by Ctrl-C');
        },
      },
    });
    for (const key of segments(6)) await p.from.put(key);
    await p.from.put('hls/cam1/index.m3u8', '#EXTM3U\n');
    const summary = await run(p, { concurrency: 1, streams: ['cam1', 'nope'], deleteSource: true, signal: controller.signal });
    expect(summary).toMatchObject({ interrupted: true, failed: 0, failures: [], copied: 2, deleted: 2, processed: 3, total: null, unknownStreams: [] });
    expect(p.to.calls.filter((c) => c.startsWith('write'))).toEqual(['write hls/cam1/segment_0.ts', 'write hls/cam1/segment_1.ts', 'write hls/cam1/segment_2.ts']);
    expect(await p.to.files()).toEqual(['hls/cam1/segment_0.ts', 'hls/cam1/segment_1.ts']);
    expect(await p.from.files()).toEqual([...segments(6).slice(2), 'hls/cam1/index.m3u8'].sort());
    // The next stream's folder is not listed.
    expect(p.from.calls.filter((c) => c.startsWith('list'))).toEqual(['list hls/cam1/']);
  });

  it('an Interrupted error without Ctrl-C, or another error after it, is a failure', async () => {
    const p = await pair({
      to: {
        write: (key) => {
          if (key === 'hls/cam1/segment_1.ts') throw new StorageError('Interrupted', 'the server went away');
        },
      },
    });
    for (const key of segments(3)) await p.from.put(key);
    const summary = await run(p, { concurrency: 1 });
    expect(summary).toMatchObject({ interrupted: false, failed: 1, copied: 2 });
    expect(summary.failures).toMatchObject([{ key: 'hls/cam1/segment_1.ts', stage: 'write', error: { code: 'Interrupted' } }]);

    const controller = new AbortController();
    const q = await pair({
      to: {
        write: (key) => {
          if (key !== 'hls/cam1/segment_1.ts') return;
          controller.abort();
          throw new StorageError('Unavailable', 'disk gone');
        },
      },
    });
    for (const key of segments(3)) await q.from.put(key);
    const stopped = await run(q, { concurrency: 1, signal: controller.signal });
    expect(stopped).toMatchObject({ interrupted: true, failed: 1, copied: 1 });
    expect(stopped.failures).toMatchObject([{ key: 'hls/cam1/segment_1.ts', stage: 'write', error: { code: 'Unavailable' } }]);
  });

  it('an abort before the run lists nothing and copies nothing', async () => {
    const p = await pair();
    for (const key of segments(2)) await p.from.put(key);
    const controller = new AbortController();
    controller.abort();
    const error = await run(p, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'Interrupted' });
    expect(await p.to.files()).toEqual([]);
  });
});

describe('migrate --delete-source', () => {
  it('deletes proven sources in batches of 500, the rest at the end; a dry run deletes nothing', async () => {
    const p = await pair();
    const keys = Array.from({ length: 1001 }, (_, i) => `hls/cam1/segment_${i}.ts`);
    await Promise.all(keys.map((key) => p.from.put(key, 'x')));
    const planned = await run(p, { deleteSource: true, dryRun: true, concurrency: 8 });
    expect(planned).toMatchObject({ copied: 1001, deleted: 0 });
    expect(p.from.batches).toEqual([]);
    const summary = await run(p, { deleteSource: true, concurrency: 8 });
    expect(summary).toMatchObject({ copied: 1001, deleted: 1001, failed: 0 });
    expect(p.from.batches).toEqual([500, 500, 1]);
    expect(await p.from.files()).toEqual([]);
    // Nothing left to delete: no empty batch is sent.
    const again = await run(p, { deleteSource: true });
    expect(again).toMatchObject({ copied: 0, deleted: 0 });
    expect(p.from.batches).toEqual([500, 500, 1]);
  });

  it('a key the batch could not delete, or a whole batch that fails, is a delete failure of each key', async () => {
    const p = await pair({ from: { deleteMany: (keys) => ({ deleted: keys.filter((k) => !k.endsWith('_1.ts')), failed: [{ key: 'hls/cam1/segment_1.ts', error: new StorageError('Unavailable', 'busy') }] }) } });
    for (let i = 0; i < 3; i++) await p.from.put(`hls/cam1/segment_${i}.ts`);
    await p.from.put('hls/cam1/index.m3u8', '#EXTM3U\n');
    const summary = await run(p, { deleteSource: true, concurrency: 1 });
    expect(summary).toMatchObject({ copied: 4, deleted: 3, failed: 1 });
    expect(summary.failures).toMatchObject([{ key: 'hls/cam1/segment_1.ts', stage: 'delete', error: { code: 'Unavailable', key: 'hls/cam1/segment_1.ts' } }]);

    const q = await pair({
      from: {
        deleteMany: () => {
          throw new StorageError('Unavailable', 'the store is down');
        },
      },
    });
    for (let i = 0; i < 2; i++) await q.from.put(`hls/cam1/segment_${i}.ts`);
    const failed = await run(q, { deleteSource: true });
    expect(failed).toMatchObject({ copied: 2, deleted: 0, failed: 2 });
    expect(failed.failures.map((f) => [f.key, f.stage, f.error.code]).sort()).toEqual([
      ['hls/cam1/segment_0.ts', 'delete', 'Unavailable'],
      ['hls/cam1/segment_1.ts', 'delete', 'Unavailable'],
    ]);
    expect(await q.from.files()).toHaveLength(2);
  });
  it('a failed delete batch does not hold the playlists back (only failed copies do)', async () => {
    let first = true;
    const p = await pair({
      from: {
        deleteMany: () => {
          if (!first) return undefined;
          first = false;
          throw new StorageError('Unavailable', 'the store is busy');
        },
      },
    });
    await Promise.all(Array.from({ length: 501 }, (_, i) => p.from.put(`hls/cam1/segment_${i}.ts`, 'x')));
    await p.from.put('hls/cam1/index.m3u8', '#EXTM3U\n');
    const summary = await run(p, { deleteSource: true, concurrency: 4 });
    expect(summary).toMatchObject({ copied: 502, deleted: 2, failed: 500 });
    expect(summary.failures.every((f) => f.stage === 'delete' && f.error.code === 'Unavailable')).toBe(true);
    expect(p.from.batches).toEqual([500, 2]);
    expect(await p.to.files()).toContain('hls/cam1/index.m3u8');
    expect(await p.from.files()).not.toContain('hls/cam1/index.m3u8');
  });
});

describe('the dry-run plan', () => {
  it('per stream in name order, with the keys only when asked; other files planned under their first path part', async () => {
    const p = await pair();
    for (const stream of ['zeta', 'alpha', 'mid']) {
      await p.from.put(`hls/${stream}/segment_1.ts`, '12345');
      await p.from.put(`hls/${stream}/segment_2.ts`, '123');
    }
    await p.to.put('hls/alpha/segment_1.ts', '12345');
    await p.from.put('hls/loose.bin', 'xy');
    // A file in a stream's folder that is no segment or playlist: planned with the stream, counted as other.
    await p.from.put('hls/mid/notes.txt', 'n');
    const summary = await run(p, { dryRun: true, keepPlannedKeys: true });
    expect(summary.plan?.streams).toEqual([
      { stream: 'alpha', copy: 1, copyBytes: 3, skip: 1 },
      { stream: 'loose.bin', copy: 1, copyBytes: 2, skip: 0 },
      { stream: 'mid', copy: 3, copyBytes: 9, skip: 0 },
      { stream: 'zeta', copy: 2, copyBytes: 8, skip: 0 },
    ]);
    expect(summary.plan?.keys?.sort()).toEqual(['hls/alpha/segment_2.ts', 'hls/loose.bin', 'hls/mid/notes.txt', 'hls/mid/segment_1.ts', 'hls/mid/segment_2.ts', 'hls/zeta/segment_1.ts', 'hls/zeta/segment_2.ts']);
    expect(summary).toMatchObject({ dryRun: true, copied: 7, skipped: 1, bytes: 22, others: 2, planned: 8 });
    expect(await p.to.files()).toEqual(['hls/alpha/segment_1.ts']);
    const unkept = await run(p, { dryRun: true });
    expect(unkept).toMatchObject({ failed: 0, copied: 7 });
    expect(unkept.plan).toStrictEqual({ streams: summary.plan?.streams });
    // Streams named in another order are listed in that order, and planned in name order.
    const named = await run(p, { dryRun: true, streams: ['zeta', 'mid', 'alpha'] });
    expect(p.from.calls.filter((c) => c.startsWith('list')).slice(-3)).toEqual(['list hls/zeta/', 'list hls/mid/', 'list hls/alpha/']);
    expect(named.plan?.streams.map((plan) => plan.stream)).toEqual(['alpha', 'mid', 'zeta']);
    const real = await run(p, { keepPlannedKeys: true });
    expect(real).toMatchObject({ dryRun: false, plan: undefined, copied: 7 });
  });
});

describe('migrate progress', () => {
  it('reports at most every 250 ms while copying, then once more with the final figures; the total early from a second listing', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const p = await pair({ to: { write: (key) => (key.endsWith('_0.ts') ? held : undefined) } });
    for (let i = 0; i < 40; i++) await p.from.put(`hls/cam1/segment_${i}.ts`, '1234');
    await p.from.put('hls/cam1/segment_40.ts.tmp', 'half');
    await p.from.put('elsewhere/x.bin', 'not under the layout');
    // Under the layout but of no stream: counted (and copied) as an other file.
    await p.from.put('hls/loose.bin', 'ab');
    const reports: MigrateProgress[] = [];
    const began = performance.now();
    const running = run(p, { concurrency: 1, onProgress: (progress) => reports.push(progress) });
    // The copying listing is held back by the first write; the counting one has found everything.
    await expect.poll(() => reports.at(-1)?.total, { timeout: 10_000 }).toEqual({ objects: 41, bytes: 162 });
    expect(reports.at(-1)).toMatchObject({ listingDone: false, processed: 0 });
    const during = reports.length;
    release();
    const summary = await running;
    const wall = performance.now() - began;
    const last = reports.at(-1)!;
    expect(last).toMatchObject({ listed: 41, listingDone: true, total: { objects: 41, bytes: 162 }, processed: 41, processedBytes: 162, copied: 41, bytes: 162 });
    // The final report comes after the summary's figures were taken, and none is older than the run.
    expect(last.elapsedMs).toBeGreaterThanOrEqual(summary.elapsedMs);
    expect(last.elapsedMs).toBeLessThanOrEqual(wall);
    // Paced: timer reports (every 250 ms), reports after an object at least 250 ms after the last, and the final one.
    const times = reports.map((r) => r.elapsedMs);
    expect(reports.length).toBeLessThanOrEqual(2 * (Math.ceil(summary.elapsedMs / 250) + 1) + 1);
    expect(during).toBeGreaterThan(0);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
    expect(summary).toMatchObject({ planned: 41, temp: { count: 1 }, others: 1, failed: 0 });
    // The run is over: no report comes after it.
    const after = reports.length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(reports.length).toBe(after);
  });

  it('a short run still ends with a report of its final figures', async () => {
    const p = await pair();
    for (let i = 0; i < 5; i++) await p.from.put(`hls/cam1/segment_${i}.ts`, 'abc');
    const reports: MigrateProgress[] = [];
    const summary = await run(p, { onProgress: (progress) => reports.push(progress) });
    expect(summary).toMatchObject({ copied: 5 });
    expect(reports.at(-1)).toMatchObject({ listingDone: true, processed: 5, copied: 5, bytes: 15, total: { objects: 5, bytes: 15 } });
  });

  it('the counting listing is stopped when the run ends, not left to run on', async () => {
    let listings = 0;
    let stopped = false;
    const p = await pair({
      from: {
        list: (_prefix, options) => {
          // The counting listing (the first) hangs until it is aborted.
          if (++listings !== 1) return;
          return new Promise<void>((_resolve, reject) => {
            options?.signal?.addEventListener('abort', () => {
              stopped = true;
              reject(new StorageError('Interrupted', 'listing stopped'));
            });
          });
        },
      },
    });
    await p.from.put('hls/cam1/segment_1.ts');
    const reports: MigrateProgress[] = [];
    expect(await run(p, { onProgress: (progress) => reports.push(progress) })).toMatchObject({ copied: 1, failed: 0, total: { objects: 1, bytes: 21 } });
    await expect.poll(() => stopped, { timeout: 2_000 }).toBe(true);
  });
});

describe('which streams', () => {
  it('--shard: only the streams of the shard, named or not; a file outside a stream folder goes by its first path part', async () => {
    const { shardOf } = await import('../../src/segments/shard.js');
    const streams = Array.from({ length: 8 }, (_, i) => `cam${i}`);
    const mine = streams.filter((s) => shardOf(s, 2) === 1);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBeLessThan(streams.length);
    const loose = ['a.bin', 'b.bin', 'c.bin', 'd.bin'];
    const p = await pair();
    for (const stream of streams) await p.from.put(`hls/${stream}/segment_1.ts`);
    for (const name of loose) await p.from.put(`hls/${name}`);
    const all = await run(p, { shard: { index: 1, count: 2 }, dryRun: true, keepPlannedKeys: true });
    expect(all.plan?.keys?.sort()).toEqual([...mine.map((s) => `hls/${s}/segment_1.ts`), ...loose.filter((n) => shardOf(n, 2) === 1).map((n) => `hls/${n}`)].sort());
    const named = await run(p, { shard: { index: 1, count: 2 }, streams, dryRun: true, keepPlannedKeys: true });
    expect(named.plan?.keys?.sort()).toEqual(mine.map((s) => `hls/${s}/segment_1.ts`).sort());
    expect(named.unknownStreams).toEqual([]);
    expect(p.from.calls.filter((c) => c.startsWith('list') && c !== 'list hls/').sort()).toEqual(mine.map((s) => `list hls/${s}/`).sort());
  });

  it('a variant layout: `cam1` takes its master and every variant, nothing else of its folder; `cam1/v0` only that variant', async () => {
    const layout = layoutOf('ffmpeg-variants');
    const p = await pair();
    const cam1 = ['cam1/index.m3u8', 'cam1/v0/index.m3u8', 'cam1/v0/index1.ts', 'cam1/v1/index.m3u8', 'cam1/v1/index1.ts'];
    for (const key of [...cam1, 'cam1/notes.txt', 'cam10/v0/index1.ts', 'cam10/index.m3u8']) await p.from.put(key);
    const summary = await run(p, { layout, streams: ['cam1'] });
    expect(summary).toMatchObject({ copied: 5, failed: 0, unknownStreams: [] });
    expect(await p.to.files()).toEqual(cam1);
    const writes = p.to.calls.filter((c) => c.startsWith('wrote'));
    // The master playlist once both variant playlists are written, these after every segment.
    expect(writes.at(-1)).toBe('wrote cam1/index.m3u8');
    expect(writes.slice(2, 4).sort()).toEqual(['wrote cam1/v0/index.m3u8', 'wrote cam1/v1/index.m3u8']);
    const q = await pair();
    for (const key of cam1) await q.from.put(key);
    expect(await run(q, { layout, streams: ['cam1/v0'] })).toMatchObject({ copied: 2, unknownStreams: [] });
    expect(await q.to.files()).toEqual(['cam1/v0/index.m3u8', 'cam1/v0/index1.ts']);
  });

  it('streams the source holds nothing of are reported, unless a listing failed', async () => {
    const p = await pair();
    await p.from.put('hls/cam1/segment_1.ts');
    expect(await run(p, { streams: ['cam1', 'ghost', 'cam2'] })).toMatchObject({ copied: 1, unknownStreams: ['ghost', 'cam2'] });
    expect(await run(p, {})).toMatchObject({ unknownStreams: [] });
    const q = await pair({
      from: {
        list: (prefix) => {
          if (prefix === 'hls/ghost/') throw new StorageError('Unavailable', 'listing failed');
        },
      },
    });
    await q.from.put('hls/cam1/segment_1.ts');
    const failed = await run(q, { streams: ['cam1', 'ghost', 'cam2'] });
    expect(failed).toMatchObject({ copied: 1, failed: 1, unknownStreams: [] });
    expect(failed.failures).toMatchObject([{ key: 'hls/ghost/', stage: 'list', error: { code: 'Unavailable' } }]);
  });
});

describe('init files (fMP4)', () => {
  it('an init file listed after a segment is still copied first, once, and counted once', async () => {
    const layout = layoutOf('ffmpeg-fmp4');
    const p = await pair();
    for (const key of ['cam1/index0.m4s', 'cam1/index1.m4s', 'cam1/init.mp4', 'cam1/index.m3u8']) await p.from.put(key);
    const summary = await run(p, { layout, concurrency: 4 });
    expect(summary).toMatchObject({ copied: 4, listed: 4, planned: 4, failed: 0, total: { objects: 4, bytes: 58 } });
    const writes = p.to.calls.filter((c) => c.startsWith('write '));
    expect(writes).toHaveLength(4);
    expect(p.to.calls.indexOf('wrote cam1/init.mp4')).toBeLessThan(p.to.calls.indexOf('write cam1/index0.m4s'));
    expect(writes.at(-1)).toBe('write cam1/index.m3u8');
  });

  it('a stream without an init file is copied without one; an init file that cannot be read is a read failure and holds the playlists back', async () => {
    const layout = layoutOf('ffmpeg-fmp4');
    const p = await pair();
    for (const key of ['cam1/index0.m4s', 'cam1/index.m3u8']) await p.from.put(key);
    expect(await run(p, { layout })).toMatchObject({ copied: 2, failed: 0, listed: 2 });
    const q = await pair({
      from: {
        stat: (key) => {
          if (key === 'cam1/init.mp4') throw new StorageError('Unavailable', 'disk busy');
        },
      },
    });
    for (const key of ['cam1/index0.m4s', 'cam1/index.m3u8']) await q.from.put(key);
    const summary = await run(q, { layout });
    expect(summary).toMatchObject({ copied: 1, failed: 2, listed: 2 });
    expect(summary.failures.map((f) => [f.key, f.stage, f.error.code])).toEqual([
      ['cam1/init.mp4', 'read', 'Unavailable'],
      ['cam1/index.m3u8', 'write', 'Interrupted'],
    ]);
    expect(summary.failures[1]!.error.message).toBe('key "cam1/index.m3u8": playlist not copied, because some files of the run failed: re-run to finish');
    expect(await q.to.files()).toEqual(['cam1/index0.m4s']);
  });
});

describe('playlists and masters go last', () => {
  it('after a failed segment, playlists and masters are failed with the reason, not copied', async () => {
    const layout = layoutOf('ffmpeg-variants');
    const p = await pair({ to: { write: (key) => { if (key.endsWith('index1.ts')) throw new StorageError('Unavailable', 'disk full'); } } });
    for (const key of ['cam1/index.m3u8', 'cam1/v0/index.m3u8', 'cam1/v0/index1.ts', 'cam1/v0/index2.ts']) await p.from.put(key);
    const summary = await run(p, { layout });
    expect(summary.failures.map((f) => [f.key, f.stage, f.error.code, f.error.message])).toEqual([
      ['cam1/v0/index1.ts', 'write', 'Unavailable', expect.any(String)],
      ['cam1/v0/index.m3u8', 'write', 'Interrupted', 'key "cam1/v0/index.m3u8": playlist not copied, because some files of the run failed: re-run to finish'],
      ['cam1/index.m3u8', 'write', 'Interrupted', 'key "cam1/index.m3u8": master playlist not copied, because some files of the run failed: re-run to finish'],
    ]);
    expect(summary).toMatchObject({ failed: 3, copied: 1 });
    expect(await p.to.files()).toEqual(['cam1/v0/index2.ts']);
  });

  it('a master waits for every playlist to be written, with several in flight', async () => {
    const layout = layoutOf('ffmpeg-variants');
    const p = await pair({ to: { write: (key) => (key === 'cam1/v0/index.m3u8' ? new Promise((resolve) => setTimeout(resolve, 200)) : undefined) } });
    for (const key of ['cam1/index.m3u8', 'cam1/v0/index.m3u8', 'cam1/v1/index.m3u8', 'cam1/v2/index.m3u8', 'cam1/v0/index1.ts']) await p.from.put(key);
    expect(await run(p, { layout, concurrency: 4 })).toMatchObject({ copied: 5, failed: 0 });
    const at = (call: string) => p.to.calls.indexOf(call);
    expect(at('write cam1/index.m3u8')).toBeGreaterThan(at('wrote cam1/v0/index.m3u8'));
    // The playlists were written side by side: v1 and v2 started while v0 was held.
    expect(at('write cam1/v1/index.m3u8')).toBeLessThan(at('wrote cam1/v0/index.m3u8'));
    expect(at('write cam1/v2/index.m3u8')).toBeLessThan(at('wrote cam1/v0/index.m3u8'));
  });
});

describe("the summary's figures", () => {
  it('a rate of bytes per second; temp files counted whole, their first 100 keys kept', async () => {
    const p = await pair();
    for (let i = 0; i < 3; i++) await p.from.put(`hls/cam1/segment_${i}.ts`, Buffer.alloc(1000));
    for (let i = 0; i < 101; i++) await p.from.put(`hls/cam1/segment_${100 + i}.ts.tmp`, 'ab');
    const began = performance.now();
    const summary = await run(p, {});
    const wall = performance.now() - began;
    expect(summary).toMatchObject({ copied: 3, bytes: 3000, planned: 3, temp: { count: 101, bytes: 202 } });
    expect(summary.temp.keys).toHaveLength(100);
    expect(summary.temp.keys[0]).toBe('hls/cam1/segment_100.ts.tmp');
    expect(summary.elapsedMs).toBeGreaterThan(0);
    expect(summary.elapsedMs).toBeLessThanOrEqual(wall);
    expect(summary.rate).toBeCloseTo(3000 / (summary.elapsedMs / 1000), 6);
    const none = await run(await pair(), {});
    expect(none).toMatchObject({ rate: 0, bytes: 0, total: { objects: 0, bytes: 0 } });
  });
});

describe('the early total', () => {
  it("counts only the chosen streams' files of a shared folder, temp files aside", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const p = await pair({ to: { write: (key) => (key === 'cam1-0.ts' ? gate : undefined) } });
    for (const key of ['cam1-0.ts', 'cam1-1.ts', 'cam1.m3u8', 'cam10-0.ts', 'cam2-0.ts', 'cam2.m3u8', 'cam1-2.ts.tmp']) await p.from.put(key);
    const reports: MigrateProgress[] = [];
    const running = run(p, { layout: layoutOf('nginx-rtmp'), streams: ['cam1'], concurrency: 1, onProgress: (progress) => reports.push(progress) });
    await expect.poll(() => reports.at(-1)?.total, { timeout: 10_000 }).toEqual({ objects: 3, bytes: 27 });
    expect(reports.at(-1)?.listingDone).toBe(false);
    release();
    expect(await running).toMatchObject({ copied: 3, total: { objects: 3, bytes: 27 }, temp: { count: 1 } });
  });

  it('a counting listing that fails gives no total until the copying listing is done', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let listings = 0;
    const p = await pair({
      from: {
        // The counting listing starts first (the copying one after it, in the same tick): it fails.
        // That the run copies everything without a failure shows it was the counting one.
        list: () => {
          if (++listings === 1) throw new StorageError('Unavailable', 'listing refused');
        },
      },
      to: { write: (key) => (key.endsWith('_0.ts') ? gate : undefined) },
    });
    for (let i = 0; i < 3; i++) await p.from.put(`hls/cam1/segment_${i}.ts`, '12');
    const reports: MigrateProgress[] = [];
    const running = run(p, { concurrency: 1, onProgress: (progress) => reports.push(progress) });
    await expect.poll(() => reports.length, { timeout: 10_000 }).toBeGreaterThan(1);
    expect(reports.every((r) => r.total === null)).toBe(true);
    release();
    expect(await running).toMatchObject({ copied: 3, failed: 0, total: { objects: 3, bytes: 6 } });
    expect(reports.at(-1)?.total).toEqual({ objects: 3, bytes: 6 });
  });
});

describe('more on streams and init files', () => {
  it('SRS: a stream without an app (`cam1`) is only that stream, not the app folder of the same name', async () => {
    const p = await pair();
    for (const key of ['cam1-0.ts', 'cam1.m3u8', 'cam1/x-0.ts', 'cam1/x.m3u8']) await p.from.put(key);
    expect(await run(p, { layout: layoutOf('srs'), streams: ['cam1'] })).toMatchObject({ copied: 2, failed: 0, unknownStreams: [] });
    expect(await p.to.files()).toEqual(['cam1-0.ts', 'cam1.m3u8']);
  });

  it('an init file listed before its segments is copied from the listing, without a stat; a stream of only an init file has it copied', async () => {
    const layout = layoutOf('flux-fmp4');
    const p = await pair();
    for (const key of ['hls/cam1/init.mp4', 'hls/cam1/segment_0.m4s', 'hls/cam2/init.mp4', 'hls/cam2/index.m3u8', 'hls/loose.bin']) await p.from.put(key);
    const summary = await run(p, { layout });
    expect(summary).toMatchObject({ copied: 5, failed: 0, others: 1 });
    expect(await p.to.files()).toEqual(['hls/cam1/init.mp4', 'hls/cam1/segment_0.m4s', 'hls/cam2/index.m3u8', 'hls/cam2/init.mp4', 'hls/loose.bin']);
    expect(p.from.calls.filter((c) => c.startsWith('stat'))).toEqual([]);
  });

  it('Ctrl-C while the init file is looked up: the lookup is cut short, and the init file is not copied', async () => {
    const layout = layoutOf('ffmpeg-fmp4');
    const controller = new AbortController();
    const p = await pair({
      from: {
        stat: (key, options) =>
          key !== 'cam1/init.mp4'
            ? undefined
            : new Promise<void>((resolve, reject) => {
                // Answers after 300 ms, unless the call is aborted first.
                const timer = setTimeout(resolve, 300);
                options?.signal?.addEventListener('abort', () => {
                  clearTimeout(timer);
                  reject(new StorageError('Interrupted', 'cut short'));
                });
                controller.abort();
              }),
      },
    });
    for (const key of ['cam1/index0.m4s', 'cam1/init.mp4']) await p.from.put(key);
    const summary = await run(p, { layout, signal: controller.signal });
    expect(summary).toMatchObject({ interrupted: true, failed: 0, copied: 0 });
    expect(await p.to.files()).toEqual([]);
  });

  it('a stream asked for is reported unknown also when other files failed (only a failed listing hides it)', async () => {
    const p = await pair({
      to: {
        write: () => {
          throw new StorageError('Unavailable', 'disk full');
        },
      },
    });
    await p.from.put('hls/cam1/segment_1.ts');
    expect(await run(p, { streams: ['cam1', 'ghost'] })).toMatchObject({ failed: 1, unknownStreams: ['ghost'] });
  });

  it('an object listed larger than memory can hold fails alone at the write step; the others are copied', async () => {
    const p = await pair();
    const huge = await pool('huge-src');
    await huge.put('hls/cam1/segment_1.ts', 'a');
    await huge.put('hls/cam1/segment_2.ts', 'b');
    const inner = new LocalBackend({ type: 'local', root: huge.root, fsync: false, concurrency: 8 });
    const lying = Object.assign(Object.create(inner) as StorageBackend, {
      async *list(prefix: string, options?: CallOptions): AsyncGenerator<ObjectInfo> {
        for await (const info of inner.list(prefix, options)) yield info.key.endsWith('_1.ts') ? { ...info, size: 2 ** 50 } : info;
      },
    });
    const from = new StoragePool({ ...POOL_DEFAULTS, name: 'lying', retries: 0 }, lying);
    const summary = await migrate({ from, to: p.to.pool, layout: new SegmentLayout(), concurrency: 2, deleteSource: false, dryRun: false, checksum: false });
    expect(summary).toMatchObject({ copied: 1, failed: 1 });
    expect(summary.failures).toMatchObject([{ key: 'hls/cam1/segment_1.ts', stage: 'write', error: { key: 'hls/cam1/segment_1.ts' } }]);
    expect(await p.to.files()).toEqual(['hls/cam1/segment_2.ts']);
  });
});
