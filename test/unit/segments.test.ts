// SegmentStorage and its layout: numeric ordering, stream summaries, and validation before any I/O.

import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBackend } from '../../src/backends/local/index.js';
import { StorageManager } from '../../src/pool/manager.js';
import { POOL_DEFAULTS } from '../../src/pool/pool.js';
import { SegmentLayout } from '../../src/segments/layout.js';
import { SegmentStorage } from '../../src/segments/segment-storage.js';

async function storage(pools = ['p1']): Promise<{ segments: SegmentStorage; dirs: string[] }> {
  const dirs = await Promise.all(pools.map(() => mkdtemp(path.join(tmpdir(), 'flux-seg-'))));
  const manager = StorageManager.fromBackends(
    pools.map((name, i) => [{ ...POOL_DEFAULTS, name, priority: i + 1 }, new LocalBackend({ type: 'local', root: dirs[i]!, fsync: false, concurrency: 8 })] as const),
  );
  return { segments: new SegmentStorage(manager), dirs };
}

describe('SegmentLayout', () => {
  const layout = new SegmentLayout();

  it('builds hls/{stream}/segment_{id}.ts and the playlist key', () => {
    expect(layout.segmentKey('cam-1.main_2', 42)).toBe('hls/cam-1.main_2/segment_42.ts');
    expect(layout.playlistKey('cam1')).toBe('hls/cam1/index.m3u8');
    expect(new SegmentLayout({ prefix: 'live/hls', playlist: 'live.m3u8' }).segmentKey('a', 0)).toBe('live/hls/a/segment_0.ts');
  });

  it('parses keys back to stream and id', () => {
    expect(layout.parse('hls/cam1/segment_10.ts')).toEqual({ stream: 'cam1', kind: 'segment', id: 10 });
    expect(layout.parse('hls/cam1/index.m3u8')).toEqual({ stream: 'cam1', kind: 'playlist' });
    expect(layout.parse('hls/cam1/segment_010.ts')).toEqual({ stream: 'cam1', kind: 'other' });
    expect(layout.parse('other/cam1/segment_1.ts')).toBeUndefined();
  });

  it.each([
    ['..', 'path traversal'],
    ['.', 'a dot'],
    ['a/b', 'a slash'],
    ['a b', 'a space'],
    ['', 'empty'],
    ['x'.repeat(129), '129 characters'],
    ['caf\u00e9', 'non-ASCII'],
  ])('rejects the stream name %j (%s)', (stream) => {
    expect(() => layout.segmentKey(stream, 1)).toThrow(/invalid stream name/);
  });

  it('accepts 128 characters', () => {
    expect(layout.segmentKey('x'.repeat(128), 1)).toContain('x'.repeat(128));
  });

  it.each([-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN])('rejects the id %s', (id) => {
    expect(() => layout.segmentKey('cam1', id)).toThrow(/invalid segment id/);
  });
});

describe('SegmentStorage', () => {
  it('lists ids in numeric order (2 before 10)', async () => {
    const { segments } = await storage();
    for (const id of [10, 2, 1, 100, 20]) await segments.save('cam1', id, Buffer.from(`seg ${id}`));
    const { items } = await segments.listSegments('cam1');
    expect(items.map((s) => s.id)).toEqual([1, 2, 10, 20, 100]);
    expect(items[0]).toMatchObject({ key: 'hls/cam1/segment_1.ts', size: 5, pools: ['p1'] });
  });

  it('saves, loads and deletes, saying which pool', async () => {
    const { segments } = await storage(['p1', 'p2']);
    const saved = await segments.save('cam1', 7, Buffer.from('seven'));
    expect(saved).toMatchObject({ key: 'hls/cam1/segment_7.ts', pool: 'p1', size: 5 });
    expect((await segments.load('cam1', 7)).data.toString()).toBe('seven');
    expect(await segments.delete('cam1', 7)).toEqual({ key: 'hls/cam1/segment_7.ts', deletedFrom: ['p1'] });
    await expect(segments.load('cam1', 7)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('summarises streams across pools', async () => {
    const { segments } = await storage(['p1', 'p2']);
    await segments.save('b', 3, Buffer.alloc(10));
    await segments.save('b', 12, Buffer.alloc(20), { pool: 'p2' });
    await segments.save('a', 5, Buffer.alloc(1), { pool: 'p2' });
    await segments.savePlaylist('a', '#EXTM3U\n');
    const { items } = await segments.listStreams();
    expect(items).toEqual([
      { stream: 'a', segments: 1, bytes: 1, firstId: 5, lastId: 5, pools: ['p2'], hasPlaylist: true, files: 0, others: 0 },
      { stream: 'b', segments: 2, bytes: 30, firstId: 3, lastId: 12, pools: ['p1', 'p2'], hasPlaylist: false, files: 0, others: 0 },
    ]);
  });

  it('lists the init, temporary and other files of a stream in files, by kind; others counts the other ones', async () => {
    const { segments: flux } = await storage(['p1', 'p2']);
    const segments = new SegmentStorage(flux.manager, new SegmentLayout('flux-fmp4'));
    await segments.save('cam1', 2, Buffer.alloc(3));
    await segments.manager.write('hls/cam1/init.mp4', Buffer.alloc(7), { pool: 'p2' });
    await segments.manager.write('hls/cam1/segment_3.m4s.tmp', Buffer.alloc(2));
    await segments.manager.write('hls/cam1/notes.txt', Buffer.alloc(1));
    const all = [];
    for await (const contents of segments.streams()) all.push(contents);
    expect(all).toHaveLength(1);
    expect(all[0]!.segments.map((s) => s.id)).toEqual([2]);
    expect(all[0]!.files.map(({ key, kind, size, pools }) => ({ key, kind, size, pools }))).toEqual([
      { key: 'hls/cam1/init.mp4', kind: 'init', size: 7, pools: ['p2'] },
      { key: 'hls/cam1/notes.txt', kind: 'other', size: 1, pools: ['p1'] },
      { key: 'hls/cam1/segment_3.m4s.tmp', kind: 'temp', size: 2, pools: ['p1'] },
    ]);
    expect(all[0]!.files.every((f) => f.modified instanceof Date)).toBe(true);
    expect(all[0]!.others).toBe(1);
  });

  it('lists each variant as a stream, and the master playlist under the stream that names them', async () => {
    const { segments: flux } = await storage(['p1', 'p2']);
    const segments = new SegmentStorage(flux.manager, new SegmentLayout('ffmpeg-variants'));
    await segments.manager.write('cam1/master.m3u8', Buffer.from('#EXTM3U\n'), { pool: 'p2' });
    for (const variant of ['0', '1']) {
      for (const id of [10, 9]) await segments.save(`cam1/${variant}`, id, Buffer.alloc(1));
      await segments.savePlaylist(`cam1/${variant}`, '#EXTM3U\n');
    }
    const all = [];
    for await (const contents of segments.streams()) all.push({ stream: contents.stream, ids: contents.segments.map((s) => s.id), playlists: contents.playlists.length, files: contents.files.map((f) => `${f.kind} ${f.key}`) });
    expect(all).toEqual([
      { stream: 'cam1', ids: [], playlists: 0, files: ['master cam1/master.m3u8'] },
      { stream: 'cam1/0', ids: [9, 10], playlists: 1, files: [] },
      { stream: 'cam1/1', ids: [9, 10], playlists: 1, files: [] },
    ]);
    expect((await segments.listSegments('cam1/1')).items.map((s) => s.key)).toEqual(['cam1/1/index9.ts', 'cam1/1/index10.ts']);
  });

  it('rejects a traversal stream name before touching any pool', async () => {
    const { segments, dirs } = await storage();
    await expect(segments.save('..', 1, Buffer.from('x'))).rejects.toMatchObject({ code: 'InvalidKey' });
    await expect(segments.save('../../etc', 1, Buffer.from('x'))).rejects.toMatchObject({ code: 'InvalidKey' });
    expect(await readdir(dirs[0]!)).toEqual([]);
  });
});
