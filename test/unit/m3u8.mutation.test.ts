// Playlist parsing at the edges Stryker found unasserted (test/MUTATION.md): where each URI's line
// number, tag and duration come from, what is skipped (blank lines, comments, an empty URI=""), a
// duration that belongs to the next URI line only, numbers that do not parse, attributes that only
// look like URI=, and uriToKey's schemes, origins and folder walks.

import { describe, expect, it } from 'vitest';
import { parseM3u8, uriToKey } from '../../src/segments/m3u8.js';

describe('parseM3u8 at its edges', () => {
  it('numbers lines from 1 counting blank and comment lines, and gives each EXTINF to the next URI line only', () => {
    const parsed = parseM3u8(['#EXTM3U', '', '# comment', '#EXTINF:2.5,', '', 'a.ts', 'b.ts', '  #EXTINF:1,  ', '  c.ts  ', ''].join('\n'));
    expect(parsed.uris).toEqual([
      { uri: 'a.ts', line: 6, duration: 2.5 },
      { uri: 'b.ts', line: 7 },
      { uri: 'c.ts', line: 9, duration: 1 },
    ]);
    // A URI line without a duration has no duration key at all.
    expect(Object.keys(parsed.uris[1]!)).toEqual(['uri', 'line']);
  });

  it('an EXTINF that is not a number gives no duration; a tag without a value is still read', () => {
    const parsed = parseM3u8(['#EXTM3U', '#EXTINF:abc,', 'a.ts', '#EXT-X-ENDLIST', '#EXT-X-TARGETDURATION:6'].join('\n'));
    expect(parsed.uris).toEqual([{ uri: 'a.ts', line: 3 }]);
    expect(parsed.ended).toBe(true);
    expect(parsed.targetDuration).toBe(6);
  });

  it('a playlist with no target duration, no end and no variants says so', () => {
    expect(parseM3u8('#EXTM3U\na.ts')).toEqual({ valid: true, master: false, targetDuration: undefined, ended: false, uris: [{ uri: 'a.ts', line: 2 }] });
    expect(parseM3u8('')).toEqual({ valid: false, master: false, targetDuration: undefined, ended: false, uris: [] });
  });

  it('the first line must be #EXTM3U itself (spaces around it are allowed, nothing else)', () => {
    expect(parseM3u8('#EXTM3U \r\na.ts').valid).toBe(true);
    expect(parseM3u8('x#EXTM3U\na.ts').valid).toBe(false);
    expect(parseM3u8('#EXTM3U-ish\na.ts').valid).toBe(false);
    // The first line is never a URI, even when it is not #EXTM3U.
    expect(parseM3u8('a.ts\nb.ts').uris.map((u) => u.uri)).toEqual(['b.ts']);
  });

  it('takes URI= only as an attribute of its own, first in the list or after a comma, and not when empty', () => {
    const parsed = parseM3u8(
      [
        '#EXTM3U',
        '#EXT-X-MAP:URI="init.mp4"',
        '#EXT-X-KEY:METHOD=AES-128,URI="key.bin"',
        '#EXT-X-DATERANGE:ID="a",X-URI="not-a-uri.ts"',
        '#EXT-X-PART:URI=""',
        '#EXT-X-SESSION-DATA:DATA-ID="x"',
        '#EXTX-NOT-A-TAG:URI="nope.ts"',
        '#EXT-X-MEDIA:TYPE=AUDIO,URI="audio/index.m3u8"',
      ].join('\n'),
    );
    expect(parsed.uris).toEqual([
      { uri: 'init.mp4', tag: 'EXT-X-MAP', line: 2 },
      { uri: 'key.bin', tag: 'EXT-X-KEY', line: 3 },
      { uri: 'nope.ts', tag: 'EXTX-NOT-A-TAG', line: 7 },
      { uri: 'audio/index.m3u8', tag: 'EXT-X-MEDIA', line: 8 },
    ]);
  });

  it('a comment line that does not start with #EXT names nothing, even with URI= in it', () => {
    expect(parseM3u8('#EXTM3U\n#X:URI="x.ts"\n#EX:URI="y.ts"').uris).toEqual([]);
  });
});

describe('uriToKey at its edges', () => {
  it.each([
    // Schemes: case-insensitive, and only http(s) name a path.
    ['HTTPS://cdn.example/hls/cam1/a.ts', 'hls/cam1/index.m3u8', 'hls', 'hls/cam1/a.ts'],
    ['http://cdn.example/live/hls/cam1/a.ts?t=1', 'hls/cam1/index.m3u8', 'hls', 'hls/cam1/a.ts'],
    // A folder walk that goes up and down inside the store.
    ['.././../hls/cam2/./b.ts', 'hls/cam1/index.m3u8', 'hls', 'hls/cam2/b.ts'],
    ['sub//c.ts', 'hls/cam1/index.m3u8', 'hls', 'hls/cam1/sub/c.ts'],
    // A playlist at the top of the store.
    ['d.ts', 'index.m3u8', '', 'd.ts'],
    // An origin path with the root deeper in it.
    ['/a/b/hls/cam1/e.ts', 'hls/cam1/index.m3u8', 'hls', 'hls/cam1/e.ts'],
    ['/hls/cam1/f.ts#frag', 'hls/cam1/index.m3u8', 'hls', 'hls/cam1/f.ts'],
    // A name that only looks like a scheme is a relative path.
    ['1a:b.ts', 'hls/cam1/index.m3u8', 'hls', 'hls/cam1/1a:b.ts'],
  ])('%s in %s (root %s) is %s', (uri, playlist, root, key) => {
    expect(uriToKey(uri, playlist, root)).toBe(key);
  });

  it.each([
    ['ftp://cdn.example/hls/cam1/a.ts', 'hls/cam1/index.m3u8', 'hls'],
    ['skd://key-id', 'hls/cam1/index.m3u8', 'hls'],
    ['http://[bad/hls/cam1/a.ts', 'hls/cam1/index.m3u8', 'hls'],
    ['/elsewhere/cam1/a.ts', 'hls/cam1/index.m3u8', 'hls'],
    ['..', 'index.m3u8', ''],
    ['.', 'index.m3u8', ''],
    ['/', 'index.m3u8', ''],
    ['?only-a-query', 'index.m3u8', ''],
  ])('%s in %s (root %s) names no key', (uri, playlist, root) => {
    expect(uriToKey(uri, playlist, root)).toBeUndefined();
  });
});
