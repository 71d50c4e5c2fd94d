// Segment checks and timing on real streams made by ffmpeg: MPEG-TS durations as ffprobe reports
// them (within 1 ms), fMP4 durations as ffmpeg's own playlist states them, heads of damaged
// segments refused, and VOD playlists that ffprobe reads whole.

import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { containerOf, headProblem, HEAD_BYTES, segmentTiming } from '../../src/media/timing.js';
import { isDiscontinuity, vodPlaylist, type VodSegment } from '../../src/segments/vod.js';
import { ffprobeFormat, makeStream } from '../support/ffmpeg.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'flux-media-'));
  await makeStream(path.join(dir, 'ts'), { segment: 'cam1-%d.ts', playlist: 'cam1.m3u8', seconds: 5 });
  await makeStream(path.join(dir, 'mp4'), { segment: 'out%d.m4s', playlist: 'out.m3u8', seconds: 5, fmp4Init: 'init.mp4' });
}, 60_000);

const extinfs = (text: string): number[] => [...text.matchAll(/#EXTINF:([0-9.]+)/g)].map((m) => Number(m[1]));

describe('MPEG-TS', () => {
  it('measures each segment as ffprobe does, within 1 ms', async () => {
    const files = (await readdir(path.join(dir, 'ts'))).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const full = path.join(dir, 'ts', file);
      const timing = segmentTiming('mpegts', await readFile(full))!;
      const probed = await ffprobeFormat(full);
      expect(Math.abs(timing.duration - probed.duration), file).toBeLessThan(0.001);
      expect(Math.abs(timing.start - probed.start), file).toBeLessThan(0.001);
    }
  });

  it('takes a healthy head and refuses empty, garbage and shifted bytes', async () => {
    const data = await readFile(path.join(dir, 'ts', 'cam1-1.ts'));
    expect(headProblem('mpegts', data.subarray(0, HEAD_BYTES), false)).toBeUndefined();
    expect(headProblem('mpegts', data, true)).toBeUndefined();
    expect(headProblem('mpegts', Buffer.alloc(0), true)).toBe('empty');
    expect(headProblem('mpegts', Buffer.from('<html>not found</html>'.repeat(20)), true)).toMatch(/no MPEG-TS sync byte \(0x47\) at byte 0/);
    expect(headProblem('mpegts', Buffer.concat([Buffer.from([0]), data]).subarray(0, HEAD_BYTES), false)).toMatch(/at byte 0/);
    const damaged = Buffer.from(data);
    damaged[188 * 3] = 0;
    expect(headProblem('mpegts', damaged, true)).toMatch(/at byte 564/);
  });

  it('has no timing for bytes without timestamps', () => {
    expect(segmentTiming('mpegts', Buffer.alloc(188 * 4, 0x47))).toBeUndefined();
  });
});

describe('fMP4', () => {
  it('measures each segment as ffmpeg wrote its EXTINF, with the init file\'s timescales', async () => {
    const init = await readFile(path.join(dir, 'mp4', 'init.mp4'));
    const stated = extinfs(await readFile(path.join(dir, 'mp4', 'out.m3u8'), 'utf8'));
    expect(stated.length).toBeGreaterThanOrEqual(4);
    for (const [i, extinf] of stated.entries()) {
      const timing = segmentTiming('fmp4', await readFile(path.join(dir, 'mp4', `out${i}.m4s`)), init)!;
      expect(Math.abs(timing.duration - extinf), `out${i}.m4s`).toBeLessThan(0.001);
      expect(timing.start).toBeCloseTo(i, 2);
    }
  });

  it('takes init files and segments, and refuses garbage and cut boxes', async () => {
    const init = await readFile(path.join(dir, 'mp4', 'init.mp4'));
    const segment = await readFile(path.join(dir, 'mp4', 'out1.m4s'));
    expect(headProblem('fmp4', init, true)).toBeUndefined();
    expect(headProblem('fmp4', segment, true)).toBeUndefined();
    expect(headProblem('fmp4', segment.subarray(0, 100), false)).toBeUndefined();
    expect(headProblem('fmp4', segment.subarray(0, segment.length - 10), true)).toMatch(/past the end/);
    expect(headProblem('fmp4', Buffer.from('garbage, not boxes at all'), true)).toMatch(/no MP4 box at byte 0/);
    expect(segmentTiming('fmp4', segment)).toBeUndefined();
  });

  it('knows containers by extension', () => {
    expect(containerOf('hls/a/segment_1.ts')).toBe('mpegts');
    expect(containerOf('a/out1.m4s')).toBe('fmp4');
    expect(containerOf('a/init.mp4')).toBe('fmp4');
    expect(containerOf('a/x.aac')).toBeUndefined();
  });
});

describe('VOD playlists', () => {
  const at = (id: number, start: number, duration = 1): VodSegment => ({ id, uri: `s${id}.ts`, start, duration });

  it('marks a discontinuity where ids jump or timestamps restart, not elsewhere', () => {
    expect(isDiscontinuity(at(1, 10), at(2, 11), 'sequence')).toBe(false);
    expect(isDiscontinuity(at(1, 10), at(3, 11), 'sequence')).toBe(true);
    expect(isDiscontinuity(at(1, 10), at(2, 0), 'sequence')).toBe(true);
    expect(isDiscontinuity(at(100, 10), at(200, 11), 'time')).toBe(false);
    expect(isDiscontinuity(at(1, 10, 1), at(2, 11.4), 'sequence')).toBe(false);
    expect(isDiscontinuity(at(1, 10, 1), at(2, 11.6), 'sequence')).toBe(true);
  });

  it('writes a playlist that ffprobe reads whole, with measured durations', async () => {
    const folder = path.join(dir, 'ts');
    const segments: VodSegment[] = [];
    for (const id of [0, 1, 2, 3]) {
      const timing = segmentTiming('mpegts', await readFile(path.join(folder, `cam1-${id}.ts`)))!;
      segments.push({ id, uri: `cam1-${id}.ts`, ...timing });
    }
    const text = vodPlaylist(segments, { idKind: 'sequence' });
    expect(text).toMatch(/^#EXTM3U\n/);
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(text.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(text).not.toContain('DISCONTINUITY');
    expect(extinfs(text)).toEqual(segments.map((s) => Number(s.duration.toFixed(6))));
    const file = path.join(folder, 'vod.m3u8');
    await writeFile(file, text);
    const probed = await ffprobeFormat(file);
    const total = segments.reduce((sum, s) => sum + s.duration, 0);
    expect(Math.abs(probed.duration - total)).toBeLessThan(0.1);
  });

  it('names the init file of fMP4 once, and a target duration that covers every EXTINF', () => {
    const text = vodPlaylist([at(0, 0, 1.02), at(1, 1.02, 2.6)], { idKind: 'sequence', init: 'init.mp4' });
    expect(text.match(/#EXT-X-MAP:URI="init.mp4"/g)).toHaveLength(1);
    expect(text).toContain('#EXT-X-VERSION:7');
    expect(text).toContain('#EXT-X-TARGETDURATION:3');
  });
});
