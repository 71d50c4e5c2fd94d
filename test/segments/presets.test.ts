// SegmentStorage and retention on every layout preset, with streams that ffmpeg (Debian package)
// writes under the names each producer gives its files: listing (ids by number across 10, each
// stream's files by kind, variants and their master), and retention keeping what the live playlist
// names, its RFC 8216 grace and live edge, fMP4 init files, master playlists, producers' temporary
// files and other files. Each case runs on a local pool, s3rver and a private redis-server.

import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { redisOptionsSchema } from '../../src/backends/redis/options.js';
import { S3Backend } from '../../src/backends/s3/index.js';
import { s3OptionsSchema } from '../../src/backends/s3/options.js';
import type { StorageBackend } from '../../src/backends/types.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS } from '../../src/pool/pool.js';
import { parseM3u8 } from '../../src/segments/m3u8.js';
import { LAYOUT_PRESETS } from '../../src/segments/presets.js';
import { runRetention } from '../../src/segments/retention.js';
import { SegmentLayout } from '../../src/segments/layout.js';
import { SegmentStorage, type StreamContents } from '../../src/segments/segment-storage.js';
import { makeStream, type MakeStreamOptions } from '../support/ffmpeg.js';
import { startRedis, type RedisTestServer } from '../support/redis.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';

/** Seconds of video (1 s segments), the live window, and the first number: ids 8-17 cross 10, where string order is wrong. */
const SECONDS = 10;
const WINDOW = 3;
const FIRST = 8;

interface ProducerCase {
  /** ffmpeg runs, each writing one stream (or one stream's variants) the way the producer names it. */
  runs: MakeStreamOptions[];
  /** The streams that have segments. */
  streams: string[];
  /** A stream (of a variant layout) holding only the master playlist. */
  masterStream?: string;
  /** A producer's temporary file, written beside the segments, and the stream it belongs to. */
  temp: [string, string];
  /** A file that matches no template, in a stream's folder (layouts with a folder per stream). */
  other?: [string, string];
}

const live = { seconds: SECONDS, listSize: WINDOW, startNumber: FIRST };
const variants = { count: 2, master: 'master.m3u8' };

/** What each producer writes (README presets table; ffmpeg's own options for the names). */
const PRODUCERS: Record<string, ProducerCase> = {
  flux: { runs: [{ ...live, segment: 'hls/cam1/segment_%d.ts', playlist: 'hls/cam1/index.m3u8' }], streams: ['cam1'], temp: ['hls/cam1/segment_18.ts.tmp', 'cam1'], other: ['hls/cam1/notes.txt', 'cam1'] },
  'flux-fmp4': {
    runs: [{ ...live, segment: 'hls/cam1/segment_%d.m4s', playlist: 'hls/cam1/index.m3u8', fmp4Init: 'init.mp4' }],
    streams: ['cam1'],
    temp: ['hls/cam1/index.m3u8.tmp', 'cam1'],
    other: ['hls/cam1/poster.jpg', 'cam1'],
  },
  // Flat: every stream's files in one folder, told apart by name only.
  'nginx-rtmp': {
    runs: [
      { ...live, segment: 'cam1-%d.ts', playlist: 'cam1.m3u8' },
      { ...live, segment: 'cam1-2-%d.ts', playlist: 'cam1-2.m3u8' },
    ],
    streams: ['cam1', 'cam1-2'],
    temp: ['cam1-18.ts.tmp', 'cam1'],
  },
  'nginx-rtmp-nested': { runs: [{ ...live, segment: 'cam1/%d.ts', playlist: 'cam1/index.m3u8' }], streams: ['cam1'], temp: ['cam1/18.ts.bak', 'cam1'], other: ['cam1/README', 'cam1'] },
  srs: {
    runs: [
      { ...live, segment: 'live/cam1-%d.ts', playlist: 'live/cam1.m3u8' },
      { ...live, segment: 'live/cam2-%d.ts', playlist: 'live/cam2.m3u8' },
    ],
    streams: ['live/cam1', 'live/cam2'],
    temp: ['live/cam2.m3u8.tmp', 'live/cam2'],
  },
  'srs-fmp4': { runs: [{ ...live, segment: 'live/cam1-%d.m4s', playlist: 'live/cam1.m3u8', fmp4Init: 'cam1-init.mp4' }], streams: ['live/cam1'], temp: ['live/cam1-18.m4s.tmp', 'live/cam1'] },
  // ffmpeg's -hls_segment_filename with a padded counter and a stem of its own.
  ffmpeg: { runs: [{ ...live, segment: 'cam1/out_%03d.ts', playlist: 'cam1/out.m3u8' }], streams: ['cam1'], temp: ['cam1/out.m3u8.tmp', 'cam1'], other: ['cam1/thumbs/1.jpg', 'cam1'] },
  'ffmpeg-fmp4': { runs: [{ ...live, segment: 'cam1/index%d.m4s', playlist: 'cam1/index.m3u8', fmp4Init: 'init.mp4' }], streams: ['cam1'], temp: ['cam1/index18.m4s.part', 'cam1'], other: ['cam1/notes.txt', 'cam1'] },
  'ffmpeg-variants': {
    runs: [{ ...live, segment: 'cam1/%v/index%d.ts', playlist: 'cam1/%v/index.m3u8', variants }],
    streams: ['cam1/0', 'cam1/1'],
    masterStream: 'cam1',
    temp: ['cam1/1/index18.ts.tmp', 'cam1/1'],
    other: ['cam1/0/notes.txt', 'cam1/0'],
  },
  // ffmpeg names each variant's init file init_%v.mp4 (from -hls_fmp4_init_filename init.mp4).
  'ffmpeg-fmp4-variants': {
    runs: [{ ...live, segment: 'cam1/%v/index%d.m4s', playlist: 'cam1/%v/index.m3u8', fmp4Init: 'init.mp4', variants }],
    streams: ['cam1/0', 'cam1/1'],
    masterStream: 'cam1',
    temp: ['cam1/0/index.m3u8.tmp', 'cam1/0'],
    other: ['cam1/1/init_0.mp4', 'cam1/1'],
  },
  // MediaMTX's hlsDirectory: every track's files in the stream's folder, `{prefix}_{track}_seg{N}.mp4`.
  mediamtx: {
    runs: [{ ...live, segment: 'cam1/5d0a2f_%v_seg%d.mp4', playlist: 'cam1/%v_stream.m3u8', fmp4Init: '5d0a2f_%v_init.mp4', variants: { count: 2, master: 'index.m3u8' } }],
    streams: ['cam1/0', 'cam1/1'],
    masterStream: 'cam1',
    temp: ['cam1/5d0a2f_1_seg18.mp4.tmp', 'cam1/1'],
  },
};

/** Every file under `dir`, as keys relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/')).sort();
}

interface Made {
  dir: string;
  keys: string[];
}

/** The files ffmpeg wrote for each preset, made once for the file. */
const made = new Map<string, Made>();

interface BackendFixture {
  name: string;
  /** A fresh, empty backend for one test. */
  open(): Promise<StorageBackend>;
}

async function storageOn(backend: StorageBackend, preset: string): Promise<SegmentStorage> {
  const manager = StorageManager.fromBackends([[{ ...POOL_DEFAULTS, name: 'p1', priority: 1 }, backend]]);
  return new SegmentStorage(manager, new SegmentLayout(preset));
}

/** Stores what ffmpeg wrote, under the same keys, plus the case's temporary and other files. */
async function seed(storage: SegmentStorage, preset: string): Promise<string[]> {
  const { dir, keys } = made.get(preset)!;
  const producer = PRODUCERS[preset]!;
  const extra = [producer.temp[0], ...(producer.other === undefined ? [] : [producer.other[0]])];
  for (const key of keys) await storage.manager.write(key, await readFile(path.join(dir, key)));
  for (const key of extra) await storage.manager.write(key, Buffer.from(`written by hand: ${key}`));
  return [...keys, ...extra].sort();
}

async function listAll(storage: SegmentStorage): Promise<StreamContents[]> {
  const all: StreamContents[] = [];
  for await (const contents of storage.streams()) all.push(contents);
  return all;
}

async function storedKeys(storage: SegmentStorage): Promise<string[]> {
  const { objects } = await storage.manager.list('');
  return [...objects.keys()].sort();
}

/** The segment ids ffmpeg wrote for a stream, read from its file names with the producer's own pattern (not the layout's parser). */
function writtenIds(preset: string, stream: string): number[] {
  const producer = PRODUCERS[preset]!;
  const variant = stream.split('/').pop()!;
  const ids: number[] = [];
  for (const run of producer.runs) {
    const pattern = run.segment.replace('%v', variant).replace(/\./g, '\\.').replace('%03d', '(\\d{3})').replace('%d', '(\\d+)');
    for (const key of made.get(preset)!.keys) {
      const m = new RegExp(`^${pattern}$`).exec(key);
      if (m !== null && (producer.runs.length === 1 || runStream(preset, run) === stream)) ids.push(Number(m[1]));
    }
  }
  return ids.sort((a, b) => a - b);
}

function runStream(preset: string, run: MakeStreamOptions): string {
  return PRODUCERS[preset]!.streams[PRODUCERS[preset]!.runs.indexOf(run)]!;
}

const BACKENDS: BackendFixture[] = [];
let s3: S3TestServer | undefined;
let redis: RedisTestServer | undefined;

BACKENDS.push({
  name: 'local',
  open: async () => new LocalBackend({ type: 'local', root: await mkdtemp(path.join(tmpdir(), 'flux-presets-')), fsync: false, concurrency: 8 }),
});
BACKENDS.push({
  name: 's3rver',
  open: async () => {
    const backend = new S3Backend(v.parse(s3OptionsSchema, s3!.poolOptions()));
    // One bucket for the file: each test starts from an empty one.
    const keys: string[] = [];
    for await (const info of backend.list('')) keys.push(info.key);
    if (keys.length > 0) await backend.deleteMany(keys);
    return backend;
  },
});
BACKENDS.push({
  name: 'redis',
  // A key prefix of its own per call: an empty store.
  open: async () => new RedisBackend(v.parse(redisOptionsSchema, redis!.poolOptions())),
});

const opened: StorageBackend[] = [];
async function open(fixture: BackendFixture, preset: string): Promise<SegmentStorage> {
  const backend = await fixture.open();
  opened.push(backend);
  return storageOn(backend, preset);
}

beforeAll(async () => {
  [s3, redis] = await Promise.all([startS3Server(), startRedis()]);
  const root = await mkdtemp(path.join(tmpdir(), 'flux-ffmpeg-'));
  for (const [preset, producer] of Object.entries(PRODUCERS)) {
    const dir = path.join(root, preset);
    await mkdir(dir, { recursive: true });
    for (const run of producer.runs) await makeStream(dir, run);
    made.set(preset, { dir, keys: await filesUnder(dir) });
  }
}, 300_000);

afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close?.()));
  await Promise.all([s3?.close(), redis?.close()]);
  for (const { dir } of made.values()) await rm(dir, { recursive: true, force: true });
});

it('has a producer case for every preset', () => {
  expect(Object.keys(PRODUCERS).sort()).toEqual(Object.keys(LAYOUT_PRESETS).sort());
});

describe.each(Object.keys(PRODUCERS))('preset %s', (preset) => {
  const producer = PRODUCERS[preset]!;
  const layout = new SegmentLayout(preset);

  it('ffmpeg wrote the producer names: segments from 8 to 17 per stream, an init file per fMP4 stream, a master for variants', () => {
    for (const stream of producer.streams) expect(writtenIds(preset, stream)).toEqual(Array.from({ length: SECONDS }, (_, i) => FIRST + i));
    const { keys } = made.get(preset)!;
    const inits = keys.filter((key) => layout.parse(key)?.kind === 'init');
    expect(inits.length).toBe(layout.hasInit ? producer.streams.length : 0);
    const master = producer.runs[0]!.variants?.master;
    expect(keys.filter((key) => layout.parse(key)?.kind === 'master')).toEqual(producer.masterStream === undefined ? [] : [`${producer.masterStream}/${master}`]);
    // Nothing ffmpeg wrote is left unnamed by the layout.
    expect(keys.filter((key) => layout.parse(key) === undefined || layout.parse(key)?.kind === 'other')).toEqual([]);
  });

  describe.each(BACKENDS)('on $name', (fixture) => {
    it('lists each stream with its ids in numeric order, its playlist, and its init, temporary, master and other files by kind', async () => {
      const storage = await open(fixture, preset);
      const stored = await seed(storage, preset);
      const all = await listAll(storage);
      const expected = [...producer.streams, ...(producer.masterStream === undefined ? [] : [producer.masterStream])].sort();
      expect(all.map((c) => c.stream).sort()).toEqual(expected);
      for (const contents of all) {
        expect(contents.failures).toEqual([]);
        if (contents.stream === producer.masterStream) {
          expect(contents).toMatchObject({ segments: [], playlists: [], others: 0 });
          expect(contents.files.map((f) => [f.kind, f.key])).toEqual([['master', `${producer.masterStream}/${producer.runs[0]!.variants!.master}`]]);
          continue;
        }
        expect(contents.segments.map((s) => s.id)).toEqual(writtenIds(preset, contents.stream));
        expect(contents.playlists).toHaveLength(1);
        const kinds = contents.files.map((f) => f.kind).sort();
        const wanted = [
          ...(layout.hasInit ? ['init'] : []),
          ...(producer.temp[1] === contents.stream ? ['temp'] : []),
          ...(producer.other?.[1] === contents.stream ? ['other'] : []),
        ].sort();
        expect(kinds).toEqual(wanted);
        expect(contents.others).toBe(wanted.filter((k) => k === 'other').length);
        for (const file of contents.files) expect(file).toMatchObject({ pools: ['p1'], size: expect.any(Number) as number });
      }
      // Every stored key is in exactly one stream's contents.
      const listed = all.flatMap((c) => [...c.segments.map((s) => s.key), ...c.playlists.map((p) => p.key), ...c.files.map((f) => f.key)]).sort();
      expect(listed).toEqual(stored);
      for (const stream of producer.streams) {
        const { items, found } = await storage.listSegments(stream);
        expect(found).toBe(true);
        expect(items.map((s) => s.id)).toEqual(writtenIds(preset, stream));
      }
    });

    it('retention with --keep 0 deletes only segments outside the live playlist and its RFC 8216 grace; init, temporary, master and other files stay', async () => {
      const storage = await open(fixture, preset);
      const stored = await seed(storage, preset);
      const result = await runRetention(storage, { keepNewest: 0 });
      expect(result.failures).toEqual([]);
      const expectedDeleted: string[] = [];
      for (const stream of producer.streams) {
        // What the producer's playlist names, read here with the parser only: its window of ids.
        const playlistKey = stored.find((key) => { const p = layout.parse(key); return p?.kind === 'playlist' && p.stream === stream; })!;
        const text = await readFile(path.join(made.get(preset)!.dir, playlistKey), 'utf8');
        const entries = parseM3u8(text).uris.filter((u) => u.tag === undefined).length;
        expect(entries).toBe(WINDOW);
        const ids = writtenIds(preset, stream);
        const firstNamed = ids.length - WINDOW;
        // The window (15-17), one more than its entries before it (11-14: RFC 8216 §6.2.2), nothing after (the stream ended).
        const deleted = ids.slice(0, firstNamed - (entries + 1));
        expect(deleted).toEqual([8, 9, 10]);
        const outcome = result.streams.find((s) => s.stream === stream)!;
        expect(outcome.deleted.map((d) => d.id)).toEqual(deleted);
        expect(outcome.protected).toEqual(ids.slice(deleted.length));
        expectedDeleted.push(...outcome.deleted.map((d) => d.key));
      }
      expect(await storedKeys(storage)).toEqual(stored.filter((key) => !expectedDeleted.includes(key)));
      for (const key of expectedDeleted) expect(layout.parse(key)?.kind).toBe('segment');
    });
  });
});

describe('retention of producers\' temporary files and time-named segments (local pool)', () => {
  it('never deletes a temporary file, however old, nor takes it for a segment', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'flux-presets-'));
    const storage = await storageOn(new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 }), 'nginx-rtmp');
    for (const id of [1, 2, 3]) await storage.manager.write(`cam1-${id}.ts`, Buffer.from('x'));
    for (const name of ['cam1-4.ts.tmp', 'cam1.m3u8.bak', 'cam1-5.ts.part']) await storage.manager.write(name, Buffer.from('half'));
    const { utimes } = await import('node:fs/promises');
    const old = new Date(Date.now() - 30 * 86400_000);
    for (const name of ['cam1-1.ts', 'cam1-2.ts', 'cam1-3.ts', 'cam1-4.ts.tmp', 'cam1.m3u8.bak', 'cam1-5.ts.part']) await utimes(path.join(root, name), old, old);
    const [contents] = await listAll(storage);
    expect(contents!.segments.map((s) => s.id)).toEqual([1, 2, 3]);
    expect(contents!.files.map((f) => f.kind)).toEqual(['temp', 'temp', 'temp']);
    const result = await runRetention(storage, { keepNewest: 0, olderThanMs: 60_000 });
    expect(result.streams[0]!.deleted.map((d) => d.id)).toEqual([1, 2, 3]);
    expect((await readdir(root)).filter((name) => !name.startsWith('.')).sort()).toEqual(['cam1-4.ts.tmp', 'cam1-5.ts.part', 'cam1.m3u8.bak']);
  });

  it.each([
    ['{time:%Y%m%d-%H%M%S}', (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)],
    ['{epoch}', (ms: number) => String(Math.floor(ms / 1000))],
    ['{epoch_ms}', (ms: number) => String(ms)],
  ])('olderThanMs keeps segments named %s by the time in the name (UTC), beside keepNewest', async (field, name) => {
    const root = await mkdtemp(path.join(tmpdir(), 'flux-presets-'));
    const layout = new SegmentLayout({ segment: `{stream}/${field}.ts`, playlist: '{stream}/index.m3u8' });
    const storage = new SegmentStorage(StorageManager.fromBackends([[{ ...POOL_DEFAULTS, name: 'p1', priority: 1 }, new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 })]]), layout);
    const now = Date.UTC(2026, 11, 2, 12, 0, 0);
    const times = [5, 4, 3, 2, 1].map((hours) => now - hours * 3600_000);
    for (const time of times) await storage.manager.write(`cam1/${name(time)}.ts`, Buffer.from('x'));
    const { utimes } = await import('node:fs/promises');
    // Written long before `now`, so only the name's time tells their ages apart.
    const old = new Date(now - 10 * 3600_000);
    for (const time of times) await utimes(path.join(root, `cam1/${name(time)}.ts`), old, old);
    const byAge = await runRetention(storage, { keepNewest: 0, olderThanMs: 150 * 60_000, now: new Date(now), dryRun: true });
    expect(byAge.streams[0]!.delete.map((d) => layout.idTimeMs(d.id))).toEqual(times.slice(0, 3));
    const both = await runRetention(storage, { keepNewest: 4, olderThanMs: 150 * 60_000, now: new Date(now) });
    expect(both.streams[0]!.deleted.map((d) => layout.idTimeMs(d.id))).toEqual(times.slice(0, 1));
    expect((await readdir(path.join(root, 'cam1'))).sort()).toEqual(times.slice(1).map((t) => `${name(t)}.ts`).sort());
  });

  it.each([
    ['{stream}/{time:%Y-%m-%d/%H%M%S}.ts', (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', '/').replace(/:/g, '')],
    ['{stream}/{seq}/segment.ts', (_ms: number, seq: number) => `${seq}/segment`],
  ])('a stream whose ids are in folders (%s) is listed and cleaned up whole, not one folder of it', async (segment, name) => {
    const root = await mkdtemp(path.join(tmpdir(), 'flux-presets-'));
    const layout = new SegmentLayout({ segment, playlist: '{stream}/index.m3u8' });
    const storage = new SegmentStorage(StorageManager.fromBackends([[{ ...POOL_DEFAULTS, name: 'p1', priority: 1 }, new LocalBackend({ type: 'local', root, fsync: false, concurrency: 8 })]]), layout);
    // Five segments an hour apart across midnight: two days' folders (or a folder per id).
    const times = [0, 1, 2, 3, 4].map((hours) => Date.UTC(2026, 11, 1, 22, 0, 0) + hours * 3600_000);
    const keys = times.map((time, seq) => `cam1/${name(time, seq + 1)}.ts`);
    for (const key of keys) await storage.manager.write(key, Buffer.from('x'));
    expect(layout.streamPrefix('cam1')).toBe('cam1/');
    const listed = (await storage.listSegments('cam1')).items.map((s) => s.key);
    expect(listed).toEqual(keys);
    const result = await runRetention(storage, { keepNewest: 2, streams: ['cam1'] });
    expect(result.streams[0]!.deleted.map((d) => d.key)).toEqual(keys.slice(0, 3));
    expect((await filesUnder(root)).filter((key) => !key.startsWith('.'))).toEqual(keys.slice(3).sort());
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses olderThanMs %s (InvalidArgument) before listing anything', async (olderThanMs) => {
    const storage = await storageOn(new LocalBackend({ type: 'local', root: path.join(tmpdir(), 'flux-presets-never-made'), fsync: false, concurrency: 8 }), 'flux');
    await expect(runRetention(storage, { keepNewest: 0, olderThanMs })).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringMatching(/older-than age must be a duration of 0 ms or more/) as unknown as string });
  });
});
