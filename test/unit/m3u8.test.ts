// The playlist reader: every URI a playlist names (lines and tag attributes), durations, target
// duration, master or media, and URIs resolved to store keys against the playlist's own key.

import { describe, expect, it } from 'vitest';
import { parseM3u8, uriToKey } from '../../src/segments/m3u8.js';

describe('parseM3u8', () => {
  it('names the URIs of lines and of tag attributes, with each entry\'s EXTINF', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"',
      '#EXTINF:3.96,',
      'seg1.m4s',
      '#EXT-X-PART:DURATION=1.0,URI="seg2.part1.m4s",INDEPENDENT=YES',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg2.part2.m4s"',
      '#EXT-X-RENDITION-REPORT:URI="../v1/index.m3u8",LAST-MSN=2',
      '# a comment naming nothing.ts',
      '#EXTINF:4.0,title',
      'seg2.m4s?token=1',
      '#EXT-X-ENDLIST',
    ].join('\r\n');
    const parsed = parseM3u8(text);
    expect(parsed).toMatchObject({ valid: true, master: false, targetDuration: 4, ended: true });
    expect(parsed.uris.map((u) => [u.uri, u.tag, u.duration])).toEqual([
      ['init.mp4', 'EXT-X-MAP', undefined],
      ['seg1.m4s', undefined, 3.96],
      ['seg2.part1.m4s', 'EXT-X-PART', undefined],
      ['seg2.part2.m4s', 'EXT-X-PRELOAD-HINT', undefined],
      ['../v1/index.m3u8', 'EXT-X-RENDITION-REPORT', undefined],
      ['seg2.m4s?token=1', undefined, 4],
    ]);
  });

  it('knows a master playlist and one that is not a playlist at all', () => {
    expect(parseM3u8('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/index.m3u8\n').master).toBe(true);
    expect(parseM3u8('<html>').valid).toBe(false);
    expect(parseM3u8('\uFEFF#EXTM3U\n').valid).toBe(true);
  });

  it('reads a million entries', () => {
    const lines = ['#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-PLAYLIST-TYPE:EVENT'];
    for (let i = 0; i < 1_000_000; i++) lines.push('#EXTINF:2.0,', `segment_${i}.ts`);
    const parsed = parseM3u8(lines.join('\n'));
    expect(parsed.uris).toHaveLength(1_000_000);
    expect(parsed.uris[999_999]).toMatchObject({ uri: 'segment_999999.ts', duration: 2 });
  });
});

describe('uriToKey', () => {
  it.each([
    ['segment_1.ts', 'hls/cam1/index.m3u8', 'hls/', 'hls/cam1/segment_1.ts'],
    ['../cam2/segment_1.ts', 'hls/cam1/index.m3u8', 'hls/', 'hls/cam2/segment_1.ts'],
    ['./a%20b.ts?x=1#t', 'hls/cam1/index.m3u8', 'hls/', 'hls/cam1/a b.ts'],
    ['/hls/cam1/segment_1.ts', 'hls/cam1/index.m3u8', 'hls/', 'hls/cam1/segment_1.ts'],
    ['https://cdn.example/live/hls/cam1/segment_9.ts', 'hls/cam1/index.m3u8', 'hls/', 'hls/cam1/segment_9.ts'],
    ['cam1-3.ts', 'cam1.m3u8', '', 'cam1-3.ts'],
    ['/cam1-3.ts', 'cam1.m3u8', '', 'cam1-3.ts'],
  ])('%s in %s is %s', (uri, playlist, root, key) => {
    expect(uriToKey(uri, playlist, root)).toBe(key);
  });

  it.each([
    ['../../../etc/passwd', 'hls/cam1/index.m3u8', 'hls/'],
    ['data:video/mp2t;base64,AAAA', 'hls/cam1/index.m3u8', 'hls/'],
    ['https://cdn.example/other/x.ts', 'hls/cam1/index.m3u8', 'hls/'],
    ['%E0%A4%A', 'hls/cam1/index.m3u8', 'hls/'],
  ])('%s names no key', (uri, playlist, root) => {
    expect(uriToKey(uri, playlist, root)).toBeUndefined();
  });
});
