// Every command on every preset, through the built binary: streams made by ffmpeg and named the way
// each producer names them are put, listed (ls, ls --all), fetched, checked (verify, du, cleanup
// --dry-run), removed and purged, on a local pool for each preset and on s3rver for a flat and an
// app layout. A second stream shares the folder (or the master) so that each command is seen to
// touch only the stream it was given.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYOUT_PRESETS } from '../../src/segments/presets.js';
import { makeStream, type MakeStreamOptions } from '../support/ffmpeg.js';
import { startS3Server, type S3rverTestServer } from '../support/s3rver.js';
import { BIN } from './terminal.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cwd: string, args: string[]): Promise<Run> {
  return promisify(execFile)(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH }, maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

async function json<T = Record<string, unknown>>(cwd: string, args: string[]): Promise<T> {
  const result = await run(cwd, [...args, '--json']);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** Every file under `dir`, as `/`-separated paths relative to it. */
async function walk(dir: string, under = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, under), { withFileTypes: true }).catch(() => [])) {
    const rel = under === '' ? entry.name : `${under}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await walk(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** How a producer names the files of one stream, as ffmpeg options relative to the producer's folder. */
interface ProducerCase {
  /** The stream as the layout names it. */
  stream: string;
  /** A second stream in the same folder (flat, app) or of the same master (variants). */
  neighbour: string;
  /** ffmpeg runs that make both streams' files, named as the producer names them. */
  make: MakeStreamOptions[];
  /** Paths (relative to the producer's folder) of the files of `stream` that put stores; the others are the neighbour's, or the master. */
  filesOf: (stream: string, all: string[]) => string[];
  /** A file the layout names no kind for, in the stream's folder (folder-per-stream layouts only). */
  other?: string;
  /** A producer's temporary file of the stream. */
  temp: string;
  /** A master playlist the producer writes beside the streams (path and text), stored behind flux-storage's back. */
  master?: [string, string];
}

const START = 8;
const ts = { seconds: 4, startNumber: START };
const flat = (name: (s: string) => string, playlist: (s: string) => string, init?: (s: string) => string) => (stream: string): MakeStreamOptions => ({
  ...ts,
  segment: name(stream),
  playlist: playlist(stream),
  ...(init === undefined ? {} : { fmp4Init: init(stream) }),
});
const under = (folder: string) => (stream: string, all: string[]) => all.filter((file) => file.startsWith(`${folder.replace('{s}', stream)}`));

/** One case per preset: the test fails when a preset has none. */
const CASES: Record<string, ProducerCase> = {
  flux: {
    stream: 'cam1',
    neighbour: 'cam2',
    make: ['cam1', 'cam2'].map(flat((s) => `${s}/segment_%d.ts`, (s) => `${s}/index.m3u8`)),
    filesOf: under('{s}/'),
    other: 'cam1/notes.txt',
    temp: 'cam1/index.m3u8.tmp',
  },
  'flux-fmp4': {
    stream: 'cam1',
    neighbour: 'cam2',
    make: ['cam1', 'cam2'].map(flat((s) => `${s}/segment_%d.m4s`, (s) => `${s}/index.m3u8`, () => 'init.mp4')),
    filesOf: under('{s}/'),
    other: 'cam1/notes.txt',
    temp: 'cam1/segment_12.m4s.tmp',
  },
  'nginx-rtmp': {
    stream: 'cam1',
    neighbour: 'cam2',
    make: ['cam1', 'cam2'].map(flat((s) => `${s}-%d.ts`, (s) => `${s}.m3u8`)),
    filesOf: (s, all) => all.filter((file) => file.startsWith(`${s}-`) || file === `${s}.m3u8`),
    temp: 'cam1.m3u8.tmp',
  },
  'nginx-rtmp-nested': {
    stream: 'cam1',
    neighbour: 'cam2',
    make: ['cam1', 'cam2'].map(flat((s) => `${s}/%d.ts`, (s) => `${s}/index.m3u8`)),
    filesOf: under('{s}/'),
    other: 'cam1/notes.txt',
    temp: 'cam1/12.ts.tmp',
  },
  srs: {
    stream: 'live/cam1',
    neighbour: 'live/cam2',
    make: ['cam1', 'cam2'].map(flat((s) => `live/${s}-%d.ts`, (s) => `live/${s}.m3u8`)),
    filesOf: (s, all) => all.filter((file) => file.startsWith(`${s}-`) || file === `${s}.m3u8`),
    temp: 'live/cam1.m3u8.tmp',
  },
  'srs-fmp4': {
    stream: 'live/cam1',
    neighbour: 'live/cam2',
    make: ['cam1', 'cam2'].map(flat((s) => `live/${s}-%d.m4s`, (s) => `live/${s}.m3u8`, (s) => `${s}-init.mp4`)),
    filesOf: (s, all) => all.filter((file) => file.startsWith(`${s}-`) || file === `${s}.m3u8`),
    temp: 'live/cam1-12.m4s.tmp',
  },
  ffmpeg: {
    stream: 'cam1',
    neighbour: 'cam2',
    // A stem of its own ("out"), not the layout's default: put must keep it.
    make: ['cam1', 'cam2'].map(flat((s) => `${s}/out%d.ts`, (s) => `${s}/out.m3u8`)),
    filesOf: under('{s}/'),
    other: 'cam1/notes.txt',
    temp: 'cam1/out12.ts.tmp',
  },
  'ffmpeg-fmp4': {
    stream: 'cam1',
    neighbour: 'cam2',
    make: ['cam1', 'cam2'].map(flat((s) => `${s}/out%d.m4s`, (s) => `${s}/out.m3u8`, () => 'init.mp4')),
    filesOf: under('{s}/'),
    other: 'cam1/notes.txt',
    temp: 'cam1/out12.m4s.tmp',
  },
  // MediaMTX names each track of a path a variant: `{prefix}_{track}_seg{N}.mp4`, its init file and
  // `{track}_stream.m3u8`, under the path's `index.m3u8`; ffmpeg writes fMP4 under those names.
  mediamtx: {
    stream: 'cam1/video1',
    neighbour: 'cam1/audio2',
    make: ['video1', 'audio2'].map((track) => ({ ...ts, segment: `cam1/a1b2c3d4e5f6_${track}_seg%d.mp4`, playlist: `cam1/${track}_stream.m3u8`, fmp4Init: `a1b2c3d4e5f6_${track}_init.mp4` })),
    filesOf: (s, all) => all.filter((file) => file.includes(`_${s.split('/')[1]}_`) || file === `${s.split('/')[0]}/${s.split('/')[1]}_stream.m3u8`),
    temp: 'cam1/a1b2c3d4e5f6_video1_seg12.mp4.tmp',
    master: ['cam1/index.m3u8', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=200000\nvideo1_stream.m3u8\n'],
  },
  'ffmpeg-variants': {
    stream: 'cam1/0',
    neighbour: 'cam1/1',
    make: [{ ...ts, segment: 'cam1/%v/out%d.ts', playlist: 'cam1/%v/out.m3u8', variants: { count: 2, master: 'master.m3u8' } }],
    filesOf: under('{s}/'),
    other: 'cam1/0/notes.txt',
    temp: 'cam1/0/out12.ts.tmp',
  },
  'ffmpeg-fmp4-variants': {
    stream: 'cam1/0',
    neighbour: 'cam1/1',
    make: [{ ...ts, segment: 'cam1/%v/out%d.m4s', playlist: 'cam1/%v/out.m3u8', fmp4Init: 'init_%v.mp4', variants: { count: 2, master: 'master.m3u8' } }],
    filesOf: under('{s}/'),
    other: 'cam1/0/notes.txt',
    temp: 'cam1/0/out12.m4s.tmp',
  },
};

/** The store a pool keeps its objects in, read and written behind flux-storage's back (as the producer and an operator would). */
interface Store {
  pool: Record<string, unknown>;
  keys(): Promise<string[]>;
  write(key: string, data: Buffer): Promise<void>;
}

function localStore(cwd: string): Store {
  const root = path.join(cwd, 'store');
  return {
    pool: { type: 'local', root: './store', createRoot: true },
    keys: () => walk(root),
    write: async (key, data) => {
      await mkdir(path.dirname(path.join(root, key)), { recursive: true });
      await writeFile(path.join(root, key), data);
    },
  };
}

function s3Store(s3: S3rverTestServer): Store {
  const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  const bucket = path.join(s3.directory, s3.bucket);
  return {
    pool: s3.poolOptions(),
    keys: async () => (await walk(bucket)).filter((file) => file.endsWith('._S3rver_object')).map((file) => file.slice(0, -'._S3rver_object'.length)),
    write: async (key, data) => void (await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: data }))),
  };
}

/** Numbers in order, as the ids of a stream must be listed (8, 9, 10, 11: never "10" before "8"). */
const idsOf = (keys: string[]): number[] => keys.map((key) => Number(/(\d+)\.(ts|m4s|mp4)$/.exec(key)![1])).sort((a, b) => a - b);
/** Segment files: `.ts`, `.m4s`, or MediaMTX's `_seg{N}.mp4` (other `.mp4` files are init files). */
const isSegment = (file: string): boolean => /(\.(ts|m4s)|_seg\d+\.mp4)$/.test(file);

/** `prefix`: the layout as `{ preset, prefix }` (keys under it); without it, the preset's name alone. */
async function everyCommand(preset: string, makeStore: (cwd: string) => Store, ownPrefix?: string): Promise<void> {
  const c = CASES[preset]!;
  const cwd = await mkdtemp(path.join(tmpdir(), `flux-preset-${preset}-`));
  const producer = path.join(cwd, 'producer');
  const raw = makeStore(cwd);
  const store: Store = { ...raw, keys: async () => (await raw.keys()).filter((key) => ownPrefix === undefined || key.startsWith(`${ownPrefix}/`)) };
  const layout = ownPrefix === undefined ? preset : { preset, prefix: ownPrefix };
  await writeFile(path.join(cwd, 'storage.config.json'), JSON.stringify({ layout, pools: [{ name: 'p', backend: store.pool }] }));
  for (const options of c.make) await makeStream(producer, options);
  if (c.master !== undefined) await writeFile(path.join(producer, c.master[0]), c.master[1]);
  const all = await walk(producer);
  const presetPrefix = ownPrefix ?? LAYOUT_PRESETS[preset]!.prefix;
  const prefix = presetPrefix === '' ? '' : `${presetPrefix}/`;
  const mine = c.filesOf(c.stream, all);
  const theirs = c.filesOf(c.neighbour, all);
  const segmentsOf = (files: string[]) => files.filter(isSegment);
  expect(segmentsOf(mine).length).toBeGreaterThanOrEqual(3);
  expect(idsOf(segmentsOf(mine))[0]).toBe(START);

  // put: each file stored under the producer's own name (stems kept), nothing else written.
  for (const [stream, files] of [[c.stream, mine], [c.neighbour, theirs]] as const) {
    const put = await json<{ segments: { key: string; error: unknown }[] }>(cwd, ['put', stream, ...files.map((file) => path.join(producer, file))]);
    expect(put.segments.map((s) => s.key).sort()).toEqual(files.map((file) => prefix + file).sort());
  }
  const master = all.filter((file) => !mine.includes(file) && !theirs.includes(file));
  for (const file of master) await store.write(prefix + file, await readFile(path.join(producer, file)));
  expect(await store.keys()).toEqual(all.map((file) => prefix + file).sort());
  await store.write(prefix + c.temp, Buffer.from('half a segment'));
  if (c.other !== undefined) await store.write(prefix + c.other, Buffer.from('an operator note'));

  // ls: both streams by the layout's names, ids in numeric order, the other file counted.
  const streams = (await json<{ streams: { stream: string; segments: number; firstId: number; lastId: number; others: number }[] }>(cwd, ['ls'])).streams;
  const row = (stream: string) => streams.find((s) => s.stream === stream);
  const myIds = idsOf(segmentsOf(mine));
  expect(row(c.stream)).toMatchObject({ segments: myIds.length, firstId: myIds[0], lastId: myIds.at(-1), others: c.other === undefined ? 0 : 1 });
  expect(row(c.neighbour)).toMatchObject({ segments: segmentsOf(theirs).length, others: 0 });
  const table = await run(cwd, ['ls']);
  if (c.other !== undefined) expect(table.stdout).toMatch(/^STREAM +SEGMENTS +SIZE +FIRST +LAST +POOLS +OTHER$/m);
  const listed = await json<{ segments: { id: number; key: string }[]; others: number }>(cwd, ['ls', c.stream]);
  expect(listed.segments.map((s) => s.id)).toEqual(myIds);
  expect(listed.segments.map((s) => s.key).sort()).toEqual(segmentsOf(mine).map((file) => prefix + file).sort());

  // ls --all: the playlist, init, temporary and other files with their kinds.
  const files = (await json<{ files: { key: string; kind: string }[] }>(cwd, ['ls', c.stream, '--all'])).files;
  const expected = [
    ...mine.filter((file) => file.endsWith('.m3u8')).map((file) => ({ kind: 'playlist', key: prefix + file })),
    ...mine.filter((file) => file.endsWith('.mp4') && !isSegment(file)).map((file) => ({ kind: 'init', key: prefix + file })),
    { kind: 'temp', key: prefix + c.temp },
    ...(c.other === undefined ? [] : [{ kind: 'other', key: prefix + c.other }]),
  ];
  expect(files.map(({ kind, key }) => ({ kind, key })).sort((a, b) => a.key.localeCompare(b.key))).toEqual(expected.sort((a, b) => a.key.localeCompare(b.key)));

  // get: a segment's bytes and the playlist, found under the producer's names.
  const segmentFile = segmentsOf(mine).find((file) => idsOf([file])[0] === START + 1)!;
  expect((await run(cwd, ['get', c.stream, String(START + 1), '-o', 'got.bin'])).code).toBe(0);
  expect((await readFile(path.join(cwd, 'got.bin'))).equals(await readFile(path.join(producer, segmentFile)))).toBe(true);
  const playlistFile = mine.find((file) => file.endsWith('.m3u8'))!;
  const playlist = await run(cwd, ['get', c.stream, '--playlist']);
  expect(playlist.code, playlist.stderr).toBe(0);
  expect(playlist.stdout).toBe(await readFile(path.join(producer, playlistFile), 'utf8'));

  // verify, du, cleanup --dry-run and pools status read the stream as it is.
  const verify = await run(cwd, ['verify', c.stream]);
  expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  // playlist: a VOD playlist over the stored segments, its EXT-X-MAP naming the init file the stream holds.
  const vod = await run(cwd, ['playlist', c.stream]);
  expect(vod.code, vod.stderr).toBe(0);
  expect(vod.stdout).toContain('#EXT-X-ENDLIST');
  const init = mine.find((file) => /init[^/]*\.mp4$/.test(file));
  if (init !== undefined) expect(vod.stdout).toContain(`#EXT-X-MAP:URI="${path.posix.basename(init)}"`);
  else expect(vod.stdout).not.toContain('#EXT-X-MAP');
  const du = await run(cwd, ['du', c.stream, '--json']);
  expect(du.code, du.stderr).toBe(0);
  expect(du.stdout).toContain(c.stream);
  const before = await store.keys();
  const cleanup = await run(cwd, ['cleanup', c.stream, '--keep', '1', '--dry-run']);
  expect(cleanup.code, cleanup.stderr).toBe(0);
  expect((await run(cwd, ['pools', 'status'])).code).toBe(0);
  expect(await store.keys()).toEqual(before);

  // rm: the one segment of this stream; the neighbour's segment of the same id stays.
  const rm = await run(cwd, ['rm', c.stream, String(START + 2)]);
  expect(rm.code, rm.stderr).toBe(0);
  const removed = prefix + segmentsOf(mine).find((file) => idsOf([file])[0] === START + 2)!;
  const afterRm = await store.keys();
  expect(before.filter((key) => !afterRm.includes(key))).toEqual([removed]);

  // purge: everything of this stream, nothing of the neighbour's (nor the master).
  const purge = await run(cwd, ['purge', c.stream]);
  expect(purge.code, purge.stderr).toBe(0);
  const left = await store.keys();
  expect(left).toEqual([...theirs, ...master].map((file) => prefix + file).sort());
  expect((await run(cwd, ['ls', c.stream])).code).toBe(3);
}

describe('every command on every preset (local pool)', () => {
  it('has a case for every preset', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(LAYOUT_PRESETS).sort());
  });

  it.each(Object.keys(LAYOUT_PRESETS))('%s: put, ls, ls --all, get, verify, playlist, du, cleanup --dry-run, pools status, rm, purge', async (preset) => {
    await everyCommand(preset, localStore);
  }, 180_000);
});

describe('every command on S3 (s3rver)', () => {
  let s3: S3rverTestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    await s3?.close();
  });

  it.each(['nginx-rtmp', 'srs'])('%s: put, ls, ls --all, get, verify, playlist, du, cleanup --dry-run, pools status, rm, purge', async (preset) => {
    await everyCommand(preset, () => s3Store(s3), `s3-${preset}`);
  }, 180_000);
});

describe('a free stem (ffmpeg)', () => {
  it('put says which stem a name that does not fit is stored with; get and rm of an id with two names exit 2 naming both, nothing deleted', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'flux-stem-'));
    const store = localStore(cwd);
    await writeFile(path.join(cwd, 'storage.config.json'), JSON.stringify({ layout: 'ffmpeg', pools: [{ name: 'p', backend: store.pool }] }));
    await writeFile(path.join(cwd, 'out.m3u8'), '#EXTM3U\n#EXTINF:1,\nout3.ts\n');
    await writeFile(path.join(cwd, 'out3.ts'), 'three');
    await writeFile(path.join(cwd, 'chunk.bin'), 'four');
    const put = await run(cwd, ['put', 'cam1', 'out.m3u8', 'out3.ts']);
    expect(put.code, put.stderr).toBe(0);
    const odd = await run(cwd, ['put', 'cam1', 'chunk.bin', '--id', '4']);
    expect(odd.code, odd.stderr).toBe(0);
    expect(odd.stderr).toContain('1 file of cam1 do not fit the layout\'s names: stored with the stem "index" (the layout\'s default), such as chunk.bin → cam1/index4.ts');
    expect(await store.keys()).toEqual(['cam1/index4.ts', 'cam1/out.m3u8', 'cam1/out3.ts']);
    // A second output in the folder, with another stem: id 3 has two names.
    await store.write('cam1/seg3.ts', Buffer.from('other three'));
    for (const args of [['get', 'cam1', '3', '-o', 'x.ts'], ['rm', 'cam1', '3']]) {
      const result = await run(cwd, args);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual(['error: segment 3 of cam1 has two names, cam1/out3.ts and cam1/seg3.ts: two outputs with other stems share the folder; move one to a stream folder of its own']);
    }
    expect(await store.keys()).toEqual(['cam1/index4.ts', 'cam1/out.m3u8', 'cam1/out3.ts', 'cam1/seg3.ts']);
    const got = await run(cwd, ['get', 'cam1', '4', '-o', 'four.ts']);
    expect(got.code, got.stderr).toBe(0);
    expect(await readFile(path.join(cwd, 'four.ts'), 'utf8')).toBe('four');
    expect((await run(cwd, ['ls', 'live/cam1'])).code).toBe(2);
  }, 60_000);
});

describe('time-named ids', () => {
  it.each([
    [{ segment: '{stream}-{epoch_ms}.ts', playlist: '{stream}.m3u8' }, ['cam1-1700000009123.ts', 'cam1-1700000010123.ts', 'cam1-999999999999.ts'], [999_999_999_999, 1_700_000_009_123, 1_700_000_010_123]],
    [{ segment: '{stream}/{time:%Y%m%d-%H%M%S}.ts', playlist: '{stream}/index.m3u8' }, ['20240101-120009.ts', '20240101-120010.ts'], [1_704_110_409, 1_704_110_410]],
  ])('%j: the id shown and accepted is the time, as a number, in time order', async (layout, files, ids) => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'flux-time-'));
    const store = localStore(cwd);
    await writeFile(path.join(cwd, 'storage.config.json'), JSON.stringify({ layout, pools: [{ name: 'p', backend: store.pool }] }));
    for (const file of files) await writeFile(path.join(cwd, file), `bytes of ${file}`);
    const put = await run(cwd, ['put', 'cam1', ...files]);
    expect(put.code, put.stderr).toBe(0);
    const listed = await json<{ segments: { id: number; key: string }[] }>(cwd, ['ls', 'cam1']);
    expect(listed.segments.map((s) => s.id)).toEqual(ids);
    const last = listed.segments.at(-1)!;
    expect((await run(cwd, ['get', 'cam1', String(last.id), '-o', 'got.ts'])).code).toBe(0);
    expect(await readFile(path.join(cwd, 'got.ts'), 'utf8')).toBe(`bytes of ${path.basename(last.key)}`);
  }, 60_000);
});
