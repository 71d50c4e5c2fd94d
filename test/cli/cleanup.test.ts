// cleanup: retention that never deletes what a player may still fetch, nor anything when unsure.

import * as v from 'valibot';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Backend } from '../../src/backends/s3/index.js';
import { s3OptionsSchema } from '../../src/backends/s3/options.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';
import { cli, workdir } from './run.js';

const playlist = (ids: number[]): string =>
  ['#EXTM3U', '#EXT-X-TARGETDURATION:2', `#EXT-X-MEDIA-SEQUENCE:${ids[0]}`, ...ids.flatMap((id) => ['#EXTINF:2.0,', `segment_${id}.ts`]), ''].join('\n');

/** Writes segments straight into a local pool's folder. */
async function seed(root: string, stream: string, ids: number[], playlistIds?: number[]): Promise<void> {
  const dir = path.join(root, 'hls', stream);
  await mkdir(dir, { recursive: true });
  await Promise.all(ids.map((id) => writeFile(path.join(dir, `segment_${id}.ts`), `segment ${id}`)));
  if (playlistIds !== undefined) await writeFile(path.join(dir, 'index.m3u8'), playlist(playlistIds));
}

async function ids(root: string, stream: string): Promise<number[]> {
  const dir = path.join(root, 'hls', stream);
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .map((name) => /^segment_(\d+)\.ts$/.exec(name)?.[1])
    .filter((id): id is string => id !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function twoPools(): Promise<{ cwd: string; a: string; b: string }> {
  const cwd = await workdir({
    pools: [
      { name: 'a', priority: 1, backend: { type: 'local', root: './a', createRoot: true } },
      { name: 'b', priority: 2, backend: { type: 'local', root: './b', createRoot: true } },
    ],
  });
  return { cwd, a: path.join(cwd, 'a'), b: path.join(cwd, 'b') };
}

describe('cleanup on local pools', () => {
  it('keeps the newest N, every playlist entry and one more than as many before it, and deletes the rest from every pool', async () => {
    const { cwd, a, b } = await twoPools();
    await seed(a, 'cam1', range(0, 19), [15, 16, 17]);
    await seed(b, 'cam1', range(0, 9));
    const result = await cli(['cleanup', 'cam1', '--keep', '2', '--json'], { cwd });
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({
      dryRun: false,
      streams: [{ stream: 'cam1', kept: [18, 19], protected: [11, 12, 13, 14, 15, 16, 17], deleted: range(0, 10), failed: [], listingFailed: [] }],
    });
    expect(await ids(a, 'cam1')).toEqual(range(11, 19));
    expect(await ids(b, 'cam1')).toEqual([]);
    expect(existsSync(path.join(a, 'hls/cam1/index.m3u8'))).toBe(true);
  });

  it('protects a playlist found in any pool, not only the first', async () => {
    const { cwd, a, b } = await twoPools();
    await seed(a, 'cam1', range(0, 9));
    await mkdir(path.join(b, 'hls/cam1'), { recursive: true });
    await writeFile(path.join(b, 'hls/cam1/index.m3u8'), playlist([4, 5]));
    expect((await cli(['cleanup', 'cam1', '--keep', '1'], { cwd })).code).toBe(0);
    // 4 and 5 named, 1 to 3 just before them (two entries, plus one), 6 to 9 after the last entry (the live edge).
    expect(await ids(a, 'cam1')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('deletes nothing for a stream when one pool cannot be listed, and exits 1 naming it', async () => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', range(0, 9));
    await writeFile(path.join(cwd, 'b'), 'pool b root is a file: its listing fails');
    for (const args of [['cleanup', 'cam1', '--keep', '1'], ['cleanup', '--all', '--keep', '1']]) {
      const result = await cli(args, { cwd });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/pool "b" \(local\).*not a directory/);
      expect(await ids(a, 'cam1')).toEqual(range(0, 9));
    }
  });

  it('--max-delete refuses the whole run when the plan exceeds it', async () => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', range(0, 9));
    await seed(a, 'cam2', range(0, 9));
    const result = await cli(['cleanup', '--all', '--keep', '5', '--max-delete', '9'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the plan deletes 10 segments, more than --max-delete 9: nothing was deleted/);
    expect(await ids(a, 'cam1')).toEqual(range(0, 9));
    expect(await ids(a, 'cam2')).toEqual(range(0, 9));
    expect((await cli(['cleanup', '--all', '--keep', '5', '--max-delete', '10'], { cwd })).code).toBe(0);
    expect(await ids(a, 'cam2')).toEqual(range(5, 9));
  });

  it('--dry-run prints the exact plan and deletes nothing', async () => {
    const { cwd, a, b } = await twoPools();
    await seed(a, 'cam1', range(0, 5));
    await seed(b, 'cam1', [0, 1]);
    const json = await cli(['cleanup', 'cam1', '--keep', '3', '--dry-run', '--json'], { cwd });
    expect(json.json()).toMatchObject({
      dryRun: true,
      streams: [{ stream: 'cam1', kept: [3, 4, 5], planned: [{ id: 0, pools: ['a', 'b'] }, { id: 1, pools: ['a', 'b'] }, { id: 2, pools: ['a'] }] }],
    });
    const text = await cli(['cleanup', 'cam1', '--keep', '3', '--dry-run'], { cwd });
    expect(text.stdout).toMatch(/would delete cam1 segments 0-1 from a, b/);
    expect(text.stdout).toMatch(/would delete cam1 segments 2 from a/);
    expect(await ids(a, 'cam1')).toEqual(range(0, 5));
    expect(await ids(b, 'cam1')).toEqual([0, 1]);
  });

  it('--min-age keeps recently modified segments', async () => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', range(0, 5));
    const old = new Date(Date.now() - 3600_000);
    for (const id of [0, 1, 2]) await utimes(path.join(a, `hls/cam1/segment_${id}.ts`), old, old);
    const result = await cli(['cleanup', 'cam1', '--keep', '0', '--min-age', '10m', '--json'], { cwd });
    expect(result.json()).toMatchObject({ streams: [{ deleted: [0, 1, 2], protected: [3, 4, 5] }] });
  });

  it('--older-than on sequence ids deletes by modified time, alone or beside --keep (a segment goes when both say so)', async () => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', range(0, 5));
    const old = new Date(Date.now() - 3 * 3600_000);
    for (const id of [0, 1, 2, 3]) await utimes(path.join(a, `hls/cam1/segment_${id}.ts`), old, old);
    const withKeep = await cli(['cleanup', 'cam1', '--keep', '3', '--older-than', '2h', '--json'], { cwd });
    expect(withKeep.json()).toMatchObject({ streams: [{ kept: [3, 4, 5], deleted: [0, 1, 2], protected: [] }] });
    const alone = await cli(['cleanup', 'cam1', '--older-than', '2h', '--json'], { cwd });
    expect(alone.json()).toMatchObject({ streams: [{ kept: [], deleted: [3], protected: [4, 5] }] });
    expect(await ids(a, 'cam1')).toEqual([4, 5]);
  });

  it('--older-than on time-named segments ({epoch}) keeps by the time in the name, and by a recent modified time', async () => {
    const cwd = await workdir({ layout: { segment: '{stream}/{epoch}.ts', playlist: '{stream}/index.m3u8' }, pools: [{ name: 'a', backend: { type: 'local', root: './a', createRoot: true } }] });
    const dir = path.join(cwd, 'a/cam1');
    await mkdir(dir, { recursive: true });
    const now = Math.floor(Date.now() / 1000);
    // Five segments named 4h, 3h, 2h, 30 min and 1 min ago; all but the newest two written long ago.
    const times = [4 * 3600, 3 * 3600, 2 * 3600, 1800, 60].map((ago) => now - ago);
    const old = new Date(Date.now() - 5 * 3600_000);
    for (const [index, time] of times.entries()) {
      await writeFile(path.join(dir, `${time}.ts`), `segment ${time}`);
      if (index < 3) await utimes(path.join(dir, `${time}.ts`), old, old);
    }
    // 3h ago by its name, but modified a minute ago (a copy, or a clock in another zone): kept.
    const copied = now - 3 * 3600 - 7;
    await writeFile(path.join(dir, `${copied}.ts`), 'copied');
    const result = await cli(['cleanup', 'cam1', '--older-than', '150m', '--json'], { cwd });
    expect(result.code).toBe(0);
    const left = [copied, ...times.slice(2)].sort((x, y) => x - y);
    expect(result.json()).toMatchObject({ streams: [{ deleted: times.slice(0, 2), protected: left }] });
    expect((await readdir(dir)).sort()).toEqual(left.map((t) => `${t}.ts`).sort());
  });

  it('cleans SRS streams named app/stream', async () => {
    const cwd = await workdir({ layout: 'srs', pools: [{ name: 'a', backend: { type: 'local', root: './a', createRoot: true } }] });
    await mkdir(path.join(cwd, 'a/live'), { recursive: true });
    for (const id of range(0, 4)) await writeFile(path.join(cwd, `a/live/cam1-${id}.ts`), 'x');
    for (const id of range(0, 4)) await writeFile(path.join(cwd, `a/live/cam2-${id}.ts`), 'x');
    const result = await cli(['cleanup', 'live/cam1', '--keep', '2', '--json'], { cwd });
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ streams: [{ stream: 'live/cam1', kept: [3, 4], deleted: [0, 1, 2] }] });
    expect((await readdir(path.join(cwd, 'a/live'))).sort()).toEqual(['cam1-3.ts', 'cam1-4.ts', ...range(0, 4).map((id) => `cam2-${id}.ts`)]);
  });

  it('--pool cleans that pool alone', async () => {
    const { cwd, a, b } = await twoPools();
    await seed(a, 'cam1', range(0, 5));
    await seed(b, 'cam1', range(0, 5));
    expect((await cli(['cleanup', 'cam1', '--keep', '1', '--pool', 'b'], { cwd })).code).toBe(0);
    expect(await ids(a, 'cam1')).toEqual(range(0, 5));
    expect(await ids(b, 'cam1')).toEqual([5]);
  });

  it('with --quiet, a successful run prints nothing at all', async () => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', range(0, 5));
    const result = await cli(['cleanup', '--all', '--keep', '2', '--quiet'], { cwd });
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await ids(a, 'cam1')).toEqual([4, 5]);
  });

  it('two runs at once converge', async () => {
    const { cwd, a, b } = await twoPools();
    for (let s = 0; s < 4; s++) {
      await seed(a, `cam${s}`, range(0, 199));
      await seed(b, `cam${s}`, range(0, 99));
    }
    const [first, second] = await Promise.all([
      cli(['cleanup', '--all', '--keep', '10', '--json'], { cwd }),
      cli(['cleanup', '--all', '--keep', '10', '--json'], { cwd }),
    ]);
    expect([first.code, second.code]).toEqual([0, 0]);
    for (let s = 0; s < 4; s++) {
      expect(await ids(a, `cam${s}`)).toEqual(range(190, 199));
      expect(await ids(b, `cam${s}`)).toEqual([]);
    }
  });

  it.each([
    [['cleanup', '--all', '--keep', '-1'], /--keep <n>.*'-1' is invalid/],
    [['cleanup', '--all', '--keep', 'x'], /must be a whole number/],
    [['cleanup', '--keep', '3'], /name the streams to clean, or give --all/],
    [['cleanup', 'cam1', '--all', '--keep', '3'], /either stream names or --all/],
    [['cleanup', '--all'], /say what to keep: --keep N .*--older-than DURATION/],
    [['cleanup', '--all', '--keep', '3', '--min-age', '10'], /duration with a unit/],
    [['cleanup', '--all', '--older-than', '-1h'], /--older-than <duration>.*'-1h' is invalid.*duration with a unit/],
    [['cleanup', '--all', '--older-than', 'soon'], /--older-than <duration>.*'soon' is invalid/],
    [['cleanup', '--all', '--older-than', '10'], /duration with a unit/],
    [['cleanup', 'live/cam1', '--keep', '3'], /invalid stream name "live\/cam1": this layout names streams stream,/],
    [['cleanup', '../x', '--keep', '3'], /invalid stream name/],
  ])('refuses %j with exit 2 and deletes nothing', async (args, message) => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', range(0, 5));
    const old = new Date(Date.now() - 30 * 86400_000);
    for (const id of range(0, 5)) await utimes(path.join(a, `hls/cam1/segment_${id}.ts`), old, old);
    const result = await cli(args, { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    // One line naming what was wrong (usage errors add the --help hint).
    expect(result.stderr.trim().split('\n').filter((line) => line !== '(add --help for usage)')).toHaveLength(1);
    expect(await ids(a, 'cam1')).toEqual(range(0, 5));
  });
});

describe('cleanup on S3', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    await s3?.close();
  });

  it('removes 10,000 segments with batch deletes: at most 10 delete requests plus the listing pages', async () => {
    const backend = new S3Backend(v.parse(s3OptionsSchema, s3.poolOptions()));
    const keys = range(0, 9999).map((i) => `hls/s${i % 10}/segment_${Math.floor(i / 10)}.ts`);
    // s3rver answers 500 to a DeleteObjects that empties a folder (two deletes race to remove it) and
    // the SDK's retry then doubles the count; a file cleanup never deletes keeps each folder.
    keys.push(...range(0, 9).map((s) => `hls/s${s}/notes.txt`));
    const body = Buffer.from('x');
    for (let i = 0; i < keys.length; i += 200) await Promise.all(keys.slice(i, i + 200).map((key) => backend.write(key, body)));
    await backend.close();
    const cwd = await workdir({ pools: [{ name: 's3', backend: s3.poolOptions() }] });
    await s3.resetRequests();
    const result = await cli(['cleanup', '--all', '--keep', '0', '--json'], { cwd });
    expect(result.code).toBe(0);
    const requests = await s3.requests();
    const deletes = requests.filter((r) => r.method === 'POST' && /(^|&)delete(=|&|$)/.test(r.query));
    const singleDeletes = requests.filter((r) => r.method === 'DELETE');
    const listings = requests.filter((r) => r.method === 'GET' && /list-type=2/.test(r.query));
    expect(deletes.length).toBeLessThanOrEqual(10);
    expect(deletes.length).toBeGreaterThanOrEqual(10); // 10,000 keys, 1,000 a request
    expect(singleDeletes).toEqual([]);
    expect(listings.length).toBeGreaterThanOrEqual(10);
    const others = requests.length - deletes.length - listings.length;
    expect(others).toBeLessThanOrEqual(10); // one playlist look-up (GET/HEAD) per stream
    const left = await cli(['ls', '--json'], { cwd });
    const streams = left.json<{ streams: { segments: number }[] }>().streams;
    expect(streams).toHaveLength(10);
    expect(streams.every((s) => s.segments === 0)).toBe(true);
  }, 120_000);
});

const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));

describe('cleanup: what protects (issue 9)', () => {
  it('--pool a: a playlist held only by pool b still protects its segments in a', async () => {
    const { cwd, a, b } = await twoPools();
    await seed(a, 'cam1', range(0, 9));
    await mkdir(path.join(b, 'hls/cam1'), { recursive: true });
    await writeFile(path.join(b, 'hls/cam1/index.m3u8'), playlist([4, 5]));
    const result = await cli(['cleanup', 'cam1', '--keep', '0', '--pool', 'a', '--json'], { cwd });
    expect(result.code).toBe(0);
    expect(await ids(a, 'cam1')).toEqual(range(1, 9));
  });

  it('the segments after the playlist\'s last entry (the live edge) survive --keep 0', async () => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', range(0, 8), [5, 6]);
    const result = await cli(['cleanup', 'cam1', '--keep', '0', '--json'], { cwd });
    expect(result.json()).toMatchObject({ streams: [{ deleted: [0, 1], protected: [2, 3, 4, 5, 6, 7, 8] }] });
    expect(await ids(a, 'cam1')).toEqual(range(2, 8));
  });

  it('URIs inside EXT-X-MAP, EXT-X-PART, EXT-X-PRELOAD-HINT and EXT-X-RENDITION-REPORT protect', async () => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', range(0, 30));
    const text = [
      '#EXTM3U',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MAP:URI="segment_2.ts"',
      '#EXTINF:2.0,',
      'segment_20.ts',
      '#EXT-X-PART:DURATION=0.5,URI="segment_5.ts",BYTERANGE=100@0',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="segment_8.ts"',
      '#EXT-X-RENDITION-REPORT:URI="segment_11.ts",LAST-MSN=11',
      '',
    ].join('\n');
    await writeFile(path.join(a, 'hls/cam1/index.m3u8'), text);
    const result = await cli(['cleanup', 'cam1', '--keep', '0', '--json'], { cwd });
    expect(result.code).toBe(0);
    // 0 and 1: the one entry's worth (plus one) before the first named id (2); 21-30: after the last (20).
    expect(await ids(a, 'cam1')).toEqual([0, 1, 2, 5, 8, 11, 20, ...range(21, 30)]);
  });

  it('a playlist of 1,000,000 entries is read without running out of stack', async () => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', range(0, 20));
    const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:10'];
    for (let id = 10; id < 1_000_010; id++) lines.push('#EXTINF:2.0,', `segment_${id}.ts`);
    await writeFile(path.join(a, 'hls/cam1/index.m3u8'), lines.join('\n'));
    const result = await cli(['cleanup', 'cam1', '--keep', '0', '--json'], { cwd });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // 10-20 named; the million entries' grace before the first covers 0-9.
    expect(result.json()).toMatchObject({ streams: [{ deleted: [], protected: range(0, 20) }] });
    expect(await ids(a, 'cam1')).toEqual(range(0, 20));
  }, 60_000);
});

describe('cleanup output (issue 11)', () => {
  it('--dry-run prints each stream\'s ranges wrapped to lines of at most 100 columns', async () => {
    const { cwd, a } = await twoPools();
    const odd = range(0, 1999).filter((id) => id % 2 === 0);
    await seed(a, 'cam1', [...odd, 5000]);
    const result = await cli(['cleanup', 'cam1', '--keep', '1', '--dry-run'], { cwd });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
    const plan = lines.filter((l) => l.startsWith('would delete') || l.startsWith('    '));
    expect(plan.length).toBeGreaterThan(10);
    expect(plan[0]).toMatch(/^would delete cam1 segments 0, 2, 4,/);
    expect(plan[plan.length - 1]).toMatch(/1998 from a$/);
    const listed = plan.join(' ').replace(/^would delete cam1 segments | from a$/g, '').split(/,\s*/).map(Number);
    expect(listed).toEqual(odd);
    expect(await ids(a, 'cam1')).toEqual([...odd, 5000]);
  });

  it('shows a spinner with progress in a terminal, and nothing of it with --quiet', async () => {
    const { cwd, a } = await twoPools();
    for (let s = 0; s < 20; s++) await seed(a, `cam${s}`, range(0, 49));
    const run = (extra: string): string =>
      // A pseudo-terminal of a real size (script's own has 0 columns, which no terminal has).
      execFileSync('script', ['-qec', `stty cols 100 rows 40; ${process.execPath} ${bin} cleanup --all --keep 5 ${extra}`, '/dev/null'], { cwd, env: { PATH: process.env.PATH, TERM: 'xterm' }, encoding: 'utf8', maxBuffer: 64 << 20 });
    const shown = run('');
    expect(shown).toMatch(/cleanup: (listing|\d+ streams planned)/);
    expect(shown).toMatch(/cam19/); // the table at the end
    for (let s = 0; s < 20; s++) await seed(a, `cam${s}`, range(0, 49));
    const quiet = run('--quiet');
    expect(quiet).not.toMatch(/cleanup:/);
    expect(quiet.trim()).toBe('');
  }, 60_000);

  it('prints a progress line every few seconds when stderr is not a terminal', async () => {
    // A pool whose server accepts connections and never answers: the listing waits for its deadline.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const cwd = await workdir({
        pools: [{ name: 'silent', timeoutMs: 7000, retries: 0, backend: { type: 'oss', endpoint: `http://127.0.0.1:${port}`, bucket: 'silent-bucket', accessKeyId: 'k', accessKeySecret: 's' } }],
      });
      const started = Date.now();
      const result = await cli(['cleanup', '--all', '--keep', '5'], { cwd });
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^cleanup: listing…$/m);
      const quiet = await cli(['cleanup', '--all', '--keep', '5', '--quiet'], { cwd });
      expect(quiet.stderr).not.toMatch(/cleanup: listing/);
    } finally {
      silent.close();
    }
  }, 60_000);
});

describe('ls of one stream (issue 11)', () => {
  it('ends with a footer (segments, bytes, first and last id, gaps), takes --limit and --tail, and exits 3 for an unknown stream', async () => {
    const { cwd, a } = await twoPools();
    await seed(a, 'cam1', [...range(1, 10), ...range(15, 20), 30]);
    const all = await cli(['ls', 'cam1'], { cwd });
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/17 segments, 161 B, ids 1-30, 2 gaps \(13 ids missing\)/);
    const tail = await cli(['ls', 'cam1', '--tail', '2'], { cwd });
    expect(tail.stdout).toMatch(/^\s*20\s/m);
    expect(tail.stdout).toMatch(/^\s*30\s/m);
    expect(tail.stdout).not.toMatch(/^\s*19\s/m);
    expect(tail.stdout).toMatch(/showing last 2 of 17 segments/);
    const limit = await cli(['ls', 'cam1', '--limit', '3', '--json'], { cwd });
    expect(limit.json<{ segments: { id: number }[]; summary: { segments: number; gaps: number } }>()).toMatchObject({ segments: [{ id: 1 }, { id: 2 }, { id: 3 }], summary: { segments: 17, gaps: 2 } });
    const unknown = await cli(['ls', 'cam9'], { cwd });
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/no pool holds a stream named "cam9"/);
    // With --pool, the pool named: cam1 is in pool a only.
    const elsewhere = await cli(['ls', 'cam1', '--pool', 'b'], { cwd });
    expect(elsewhere.code).toBe(3);
    expect(elsewhere.stderr).toMatch(/^error: pool "b" holds no stream named "cam1" \(see "flux-storage ls"/);
  });
});
