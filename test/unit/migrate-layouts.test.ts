// migrate on the layouts real producers write, with streams made by ffmpeg under each producer's
// names: the order the destination (s3rver) receives its writes in (a stream's init file first,
// playlists after their segments, the master playlist last), producers' temporary files left out,
// other files copied and counted, one stream of a shared folder copied alone, and the proof before
// a source is deleted.

import * as v from 'valibot';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import { S3Backend } from '../../src/backends/s3/index.js';
import { s3OptionsSchema } from '../../src/backends/s3/options.js';
import type { StorageBackend, WriteOptions, WriteReceipt } from '../../src/backends/types.js';
import { migrate, type MigrateOptions } from '../../src/migrate/migrate.js';
import { POOL_DEFAULTS, StoragePool } from '../../src/pool/pool.js';
import { SegmentLayout, type LayoutConfig } from '../../src/segments/layout.js';
import { makeStream } from '../support/ffmpeg.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';

/** ffmpeg's own variant naming: a folder per variant under the stream's, a master beside them. */
const VARIANTS: LayoutConfig = { segment: '{stream}/{variant}/{name}{seq:1}.ts', playlist: '{stream}/{variant}/{name}.m3u8', master: '{stream}/{name}.m3u8' };

const pool = (name: string, backend: StorageBackend): StoragePool => new StoragePool({ ...POOL_DEFAULTS, name, retries: 0 }, backend);

async function localBackend(): Promise<LocalBackend> {
  const root = await mkdtemp(path.join(tmpdir(), 'flux-migrate-layouts-'));
  return new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 } as ConstructorParameters<typeof LocalBackend>[0]);
}

/** Every file under a local root, as keys. */
async function keysUnder(root: string): Promise<string[]> {
  return ((await readdir(root, { recursive: true, withFileTypes: true })) as import('node:fs').Dirent[])
    .filter((e) => e.isFile() && !path.relative(root, e.parentPath).startsWith('.flux-storage'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

describe('migrate on producer layouts', () => {
  let s3: S3TestServer;
  let backend: S3Backend;
  beforeAll(async () => {
    s3 = await startS3Server();
    backend = new S3Backend(v.parse(s3OptionsSchema, s3.poolOptions()));
  });
  afterAll(async () => {
    await backend?.close();
    await s3?.close();
  });
  beforeEach(async () => {
    const keys: string[] = [];
    for await (const info of backend.list('')) keys.push(info.key);
    await backend.deleteMany(keys);
    await s3.resetRequests();
  });

  const run = (source: LocalBackend, layout: LayoutConfig, extra: Partial<MigrateOptions> = {}) =>
    migrate({ from: pool('disk', source), to: pool('s3', backend), layout: new SegmentLayout(layout), concurrency: 8, deleteSource: false, dryRun: false, checksum: false, ...extra });

  /** The layout keys s3rver was sent PUTs of, in the order they arrived. */
  async function putOrder(): Promise<string[]> {
    const prefix = `/${s3.bucket}/`;
    return (await s3.requests())
      .filter((r) => r.method === 'PUT' && r.path.startsWith(prefix) && !r.path.includes('.flux-storage'))
      .map((r) => decodeURIComponent(r.path.slice(prefix.length)));
  }

  async function s3Keys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const info of backend.list('')) keys.push(info.key);
    return keys.sort();
  }

  it('ffmpeg fMP4: the init file is written before any segment, the playlist after every one; a temp file is left out, another file copied and counted', async () => {
    const source = await localBackend();
    await makeStream(path.join(source.root, 'cam1'), { segment: 'index%d.m4s', playlist: 'index.m3u8', fmp4Init: 'init.mp4', seconds: 6 });
    await writeFile(path.join(source.root, 'cam1/index6.m4s.tmp'), 'half a segment');
    await writeFile(path.join(source.root, 'cam1/notes.txt'), 'camera on the roof');
    const all = await keysUnder(source.root);
    expect(all).toContain('cam1/init.mp4');

    const summary = await run(source, 'ffmpeg-fmp4');
    expect(summary).toMatchObject({ failed: 0, others: 1, temp: { count: 1, keys: ['cam1/index6.m4s.tmp'] } });
    const order = await putOrder();
    const segments = order.filter((k) => k.endsWith('.m4s'));
    expect(segments).toHaveLength(6);
    // The init file sorts after `index0.m4s`..., yet is written first; the playlist last.
    expect(order[0]).toBe('cam1/init.mp4');
    expect(order.at(-1)).toBe('cam1/index.m3u8');
    expect(order).not.toContain('cam1/index6.m4s.tmp');
    expect(await s3Keys()).toEqual(all.filter((k) => !k.endsWith('.tmp')));
    for (const key of await s3Keys()) expect(await backend.read(key)).toEqual(await readFile(path.join(source.root, key)));
  }, 60_000);

  it('variants (ffmpeg -var_stream_map): `cam1` takes its master and every variant; each variant playlist after its segments, the master playlist last', async () => {
    const source = await localBackend();
    for (const stream of ['cam1', 'cam2']) {
      await makeStream(source.root, { segment: `${stream}/v%v/index%d.ts`, playlist: `${stream}/v%v/index.m3u8`, seconds: 4, variants: { count: 2, master: 'master.m3u8' } });
    }
    const all = await keysUnder(source.root);
    expect(all).toEqual(expect.arrayContaining(['cam1/master.m3u8', 'cam1/v0/index.m3u8', 'cam1/v1/index3.ts']));
    const cam1 = all.filter((k) => k.startsWith('cam1/'));

    const summary = await run(source, 'ffmpeg-variants', { streams: ['cam1'] });
    expect(summary).toMatchObject({ failed: 0, others: 0, copied: cam1.length, unknownStreams: [] });
    const order = await putOrder();
    expect(order.at(-1)).toBe('cam1/master.m3u8');
    for (const variant of ['v0', 'v1']) {
      const playlistAt = order.indexOf(`cam1/${variant}/index.m3u8`);
      const lastSegmentAt = Math.max(...order.flatMap((k, i) => (k.startsWith(`cam1/${variant}/`) && k.endsWith('.ts') ? [i] : [])));
      expect(playlistAt, variant).toBeGreaterThan(lastSegmentAt);
    }
    expect(await s3Keys()).toEqual(cam1);
    // The whole store (the same order), cam1 already there.
    await s3.resetRequests();
    expect(await run(source, VARIANTS)).toMatchObject({ failed: 0, copied: all.length - cam1.length, skipped: cam1.length });
    expect((await putOrder()).at(-1)).toBe('cam2/master.m3u8');
    expect(await s3Keys()).toEqual(all);
  }, 60_000);

  it('SRS fMP4, two streams in one app folder: one stream is migrated alone, init first, and --delete-source deletes only its proven files', async () => {
    const source = await localBackend();
    for (const stream of ['cam1', 'cam2']) {
      await makeStream(path.join(source.root, 'live'), { segment: `${stream}-%d.m4s`, playlist: `${stream}.m3u8`, fmp4Init: `${stream}-init.mp4`, seconds: 3 });
    }
    const before = await keysUnder(source.root);
    expect(before).toEqual(expect.arrayContaining(['live/cam1-init.mp4', 'live/cam1-0.m4s', 'live/cam2.m3u8']));

    const summary = await run(source, 'srs-fmp4', { streams: ['live/cam1'], deleteSource: true });
    expect(summary).toMatchObject({ failed: 0, unknownStreams: [] });
    const cam1 = before.filter((k) => k.startsWith('live/cam1'));
    expect(await s3Keys()).toEqual(cam1);
    const order = await putOrder();
    expect(order[0]).toBe('live/cam1-init.mp4');
    expect(order.at(-1)).toBe('live/cam1.m3u8');
    // Source: cam1's files gone, cam2's (in the same folder) all there.
    expect(await keysUnder(source.root)).toEqual(before.filter((k) => !k.startsWith('live/cam1')));
  }, 60_000);

  it('nginx-rtmp flat: `--stream cam1` copies only cam1 of the shared folder, and nothing else is listed as its', async () => {
    const source = await localBackend();
    for (const stream of ['cam1', 'cam10', 'cam2']) await makeStream(source.root, { segment: `${stream}-%d.ts`, playlist: `${stream}.m3u8`, seconds: 2 });
    const before = await keysUnder(source.root);
    const summary = await run(source, 'nginx-rtmp', { streams: ['cam1'], deleteSource: true });
    expect(summary).toMatchObject({ failed: 0, planned: 3 });
    expect(await s3Keys()).toEqual(['cam1-0.ts', 'cam1-1.ts', 'cam1.m3u8']);
    expect(await keysUnder(source.root)).toEqual(before.filter((k) => !/^cam1[-.]/.test(k)));
    // Two streams of the one folder: it is listed once, each file planned and copied once.
    const both = await run(source, 'nginx-rtmp', { streams: ['cam10', 'cam2'] });
    expect(both).toMatchObject({ failed: 0, planned: 6, copied: 6, skipped: 0 });
  }, 60_000);

  it('--delete-source on SRS fMP4 with a destination disk that corrupts the init file: its source is kept, the playlist is neither copied nor deleted', async () => {
    const source = await localBackend();
    await makeStream(path.join(source.root, 'live'), { segment: 'cam1-%d.m4s', playlist: 'cam1.m3u8', fmp4Init: 'cam1-init.mp4', seconds: 3 });
    const before = await keysUnder(source.root);
    const local = await localBackend();
    const faulty: StorageBackend = Object.assign(Object.create(local) as StorageBackend, {
      write: (key: string, data: Uint8Array, options?: WriteOptions): Promise<WriteReceipt> => {
        if (!key.endsWith('-init.mp4')) return local.write(key, data, options);
        const stored = Buffer.from(data);
        stored[0] = stored[0]! ^ 0xff;
        return local.write(key, stored, options);
      },
    });
    const summary = await migrate({ from: pool('disk', source), to: pool('faulty', faulty), layout: new SegmentLayout('srs-fmp4'), concurrency: 4, deleteSource: true, dryRun: false, checksum: false });
    expect(summary.failures.map((f) => [f.key, f.stage])).toEqual([
      ['live/cam1-init.mp4', 'verify'],
      ['live/cam1.m3u8', 'write'],
    ]);
    // The segments were proven and deleted; the init file and the playlist are still at the source.
    expect(await keysUnder(source.root)).toEqual(['live/cam1-init.mp4', 'live/cam1.m3u8']);
    expect(await keysUnder(local.root)).toEqual(before.filter((k) => k.endsWith('.m4s') || k.endsWith('-init.mp4')).sort());
  }, 60_000);

  it('a dry run on a layout plans the same files, temp files aside, and writes nothing', async () => {
    const source = await localBackend();
    await mkdir(path.join(source.root, 'live'), { recursive: true });
    await makeStream(path.join(source.root, 'live'), { segment: 'cam1-%d.ts', playlist: 'cam1.m3u8', seconds: 2 });
    await writeFile(path.join(source.root, 'live/cam1.m3u8.tmp'), '#EXTM3U\n');
    const summary = await run(source, 'srs', { dryRun: true, keepPlannedKeys: true });
    expect(summary.plan?.keys?.sort()).toEqual(['live/cam1-0.ts', 'live/cam1-1.ts', 'live/cam1.m3u8']);
    expect(summary.plan?.streams).toEqual([{ stream: 'live/cam1', copy: 3, copyBytes: expect.any(Number), skip: 0 }]);
    expect(summary.temp).toMatchObject({ count: 1, keys: ['live/cam1.m3u8.tmp'] });
    expect(await putOrder()).toEqual([]);
  }, 60_000);
});
