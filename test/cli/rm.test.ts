// rm: failures grouped by cause, id ranges, playlists.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, workdir } from './run.js';

async function segments(dir: string, ids: number[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await writeFile(path.join(dir, `segment_${id}.ts`), Buffer.alloc(100, id)), `segment_${id}.ts`)));
}

describe('rm', () => {
  it('reports failures one line per cause, and every failure in --json', async () => {
    const cwd = await workdir({
      pools: [
        { name: 'broken', priority: 1, backend: { type: 'local', root: './a-file' } },
        { name: 'good', priority: 2, backend: { type: 'local', root: './good', createRoot: true } },
      ],
    });
    await writeFile(path.join(cwd, 'a-file'), 'not a folder');
    const ids = [1, 2, 3, 4, 5];
    expect((await cli(['put', 'cam1', ...(await segments(cwd, ids))], { cwd })).code).toBe(0);
    const result = await cli(['rm', 'cam1', ...ids.map(String)], { cwd });
    expect(result.code).toBe(1);
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: 5 segments of cam1 not deleted: Unavailable \(could not delete from broken .*\), e\.g\. 1, 2, 3 and 2 more$/);
    const json = await cli(['rm', 'cam1', ...ids.map(String), '--json'], { cwd });
    expect(json.json<{ failed: { id: number }[] }>().failed.map((f) => f.id)).toEqual(ids);
  });
});

async function twoPools(): Promise<string> {
  const cwd = await workdir({
    pools: [
      { name: 'a', priority: 1, backend: { type: 'local', root: './a', createRoot: true } },
      { name: 'b', priority: 2, backend: { type: 'local', root: './b', createRoot: true } },
    ],
  });
  const ids = Array.from({ length: 30 }, (_, i) => i + 1);
  await segments(cwd, ids);
  await writeFile(path.join(cwd, 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nsegment_30.ts\n');
  for (const pool of ['a', 'b']) {
    const result = await cli(['put', 'cam1', ...ids.map((id) => `segment_${id}.ts`), 'index.m3u8', '--pool', pool], { cwd });
    expect(result.code, result.stderr).toBe(0);
  }
  expect((await cli(['put', 'cam2', 'segment_1.ts'], { cwd })).code).toBe(0);
  await writeFile(path.join(cwd, 'a/hls/cam1/thumbnail.jpg'), 'jpeg');
  return cwd;
}

async function keys(cwd: string, pool: string, stream: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const { existsSync } = await import('node:fs');
  const dir = path.join(cwd, pool, 'hls', stream);
  return existsSync(dir) ? (await readdir(dir)).sort() : [];
}

describe('playlists', () => {
  it('get --playlist prints the stored playlist, to a terminal too, or to a file', async () => {
    const cwd = await twoPools();
    const shown = await cli(['get', 'cam1', '--playlist'], { cwd, stdoutIsTTY: true });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nsegment_30.ts\n');
    const json = await cli(['get', 'cam1', '--playlist', '--json'], { cwd });
    expect(json.json()).toMatchObject({ stream: 'cam1', key: 'hls/cam1/index.m3u8', pool: 'a', text: expect.stringMatching(/^#EXTM3U/) });
    expect((await cli(['get', 'cam1', '--playlist', '-o', 'copy.m3u8'], { cwd })).code).toBe(0);
    expect((await cli(['get', 'cam2', '--playlist'], { cwd })).code).toBe(3);
    expect((await cli(['get', 'cam1', '3', '--playlist'], { cwd })).code).toBe(2);
    expect((await cli(['get', 'cam1'], { cwd })).stderr).toMatch(/name the segment id, or give --playlist/);
  });

  it('rm --playlist removes it from every pool; a second time is exit 3', async () => {
    const cwd = await twoPools();
    const result = await cli(['rm', 'cam1', '--playlist', '--json'], { cwd });
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ playlist: { key: 'hls/cam1/index.m3u8', deletedFrom: ['a', 'b'] }, removed: [] });
    for (const pool of ['a', 'b']) expect(await keys(cwd, pool, 'cam1')).not.toContain('index.m3u8');
    expect(await keys(cwd, 'b', 'cam1')).toHaveLength(30);
    const again = await cli(['rm', 'cam1', '--playlist'], { cwd });
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/stream cam1: no pool holds its playlist/);
  });
});

describe('rm of id ranges', () => {
  it('removes the listed segments of a range from every pool, and nothing else', async () => {
    const cwd = await twoPools();
    const result = await cli(['rm', 'cam1', '10-20', '25', '--json'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const removed = result.json<{ removed: { id: number; deletedFrom: string[] }[] }>().removed;
    expect(removed.map((r) => r.id)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 25]);
    expect(removed.every((r) => r.deletedFrom.join() === 'a,b')).toBe(true);
    for (const pool of ['a', 'b']) {
      const left = (await keys(cwd, pool, 'cam1')).filter((k) => k.startsWith('segment_')).map((k) => Number(/\d+/.exec(k)![0])).sort((x, y) => x - y);
      expect(left).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 21, 22, 23, 24, 26, 27, 28, 29, 30]);
    }
    expect((await cli(['rm', 'cam1', '5-30', '1'], { cwd })).stdout).toBe('removed segments 1, 5-9, 21-24, 26-30 of cam1 from a, b\n');
  });

  it('a range with no segment is exit 3; a backwards range is exit 2, nothing deleted', async () => {
    const cwd = await twoPools();
    const empty = await cli(['rm', 'cam1', '100-200', '--json'], { cwd });
    expect(empty.code).toBe(3);
    expect(empty.json()).toMatchObject({ emptyRanges: ['100-200'], removed: [] });
    const backwards = await cli(['rm', 'cam1', '20-10'], { cwd });
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toMatch(/id range 20-10 runs backwards: write it 10-20/);
    expect((await cli(['rm', 'cam1', '1-x'], { cwd })).code).toBe(2);
    expect(await keys(cwd, 'b', 'cam1')).toHaveLength(31);
    expect((await cli(['rm', 'cam1'], { cwd })).stderr).toMatch(/name the segment ids \(42, or a range 10-20\) or give --playlist/);
  });
});

describe('purge', () => {
  it('--dry-run shows everything of the stream and deletes nothing; --max-delete refuses the whole run', async () => {
    const cwd = await twoPools();
    const dry = await cli(['purge', 'cam1', '--dry-run'], { cwd });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would delete cam1: 30 segments \(1-30\), 1 playlist, 1 other file from a, b/);
    const json = await cli(['purge', 'cam1', '-n', '--json'], { cwd });
    const planned = json.json<{ streams: { planned: { key: string; kind: string; pools: string[] }[] }[] }>().streams[0]!.planned;
    expect(planned).toHaveLength(32);
    expect(planned[0]).toMatchObject({ key: 'hls/cam1/index.m3u8', kind: 'playlist', pools: ['a', 'b'] });
    expect(planned.find((p) => p.kind === 'other')).toMatchObject({ key: 'hls/cam1/thumbnail.jpg', pools: ['a'] });
    const limited = await cli(['purge', 'cam1', 'cam2', '--max-delete', '32'], { cwd });
    expect(limited.code).toBe(1);
    expect(limited.stderr).toMatch(/purge would delete 33 objects, more than the limit of 32: nothing was deleted/);
    expect(await keys(cwd, 'a', 'cam1')).toHaveLength(32);
    expect(await keys(cwd, 'b', 'cam1')).toHaveLength(31);
  });

  it('removes segments, playlists and other files from every pool; other streams stay; exit 3 for a stream in no pool', async () => {
    const cwd = await twoPools();
    const result = await cli(['purge', 'cam1', 'ghost', '--json'], { cwd });
    expect(result.code).toBe(3);
    const streams = result.json<{ streams: { stream: string; found: boolean; deleted: string[]; failed: unknown[] }[] }>().streams;
    expect(streams.map((s) => [s.stream, s.found, s.deleted.length, s.failed.length])).toEqual([
      ['cam1', true, 32, 0],
      ['ghost', false, 0, 0],
    ]);
    expect(result.stderr).toMatch(/stream ghost: no pool holds anything of it/);
    for (const pool of ['a', 'b']) expect(await keys(cwd, pool, 'cam1')).toEqual([]);
    expect(await keys(cwd, 'a', 'cam2')).toEqual(['segment_1.ts']);
    // Nothing of cam1 is left in any pool: ls of it is an unknown stream (exit 3).
    expect((await cli(['ls', 'cam1', '--json'], { cwd })).code).toBe(3);
    expect((await cli(['purge', 'cam1'], { cwd })).code).toBe(3);
    const table = await cli(['purge', 'cam2'], { cwd });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/deleted cam2: 1 segment \(1\) from a/);
  });

  it('a pool whose listing fails is named, exit 1, and the others are purged', async () => {
    const cwd = await twoPools();
    const { readFile } = await import('node:fs/promises');
    const config = JSON.parse(await readFile(path.join(cwd, 'storage.config.json'), 'utf8'));
    config.pools.push({ name: 'broken', priority: 3, backend: { type: 'local', root: './a-file' } });
    await writeFile(path.join(cwd, 'storage.config.json'), JSON.stringify(config));
    await writeFile(path.join(cwd, 'a-file'), 'not a folder');
    const result = await cli(['purge', 'cam1'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/stream cam1: listing failed, its objects there were not deleted: pool "broken"/);
    expect(await keys(cwd, 'b', 'cam1')).toEqual([]);
  });
});
