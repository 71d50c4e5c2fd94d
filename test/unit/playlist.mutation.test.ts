// Playlist parsing's edges, found by mutation testing (npm run mutation): what a URI line must be to
// name a segment (the whole line, a query or fragment allowed, whitespace around it ignored), comment
// lines, lines that name something else, and ids beyond what a number holds exactly.

import { describe, expect, it } from 'vitest';
import { SegmentLayout } from '../../src/segments/layout.js';
import { playlistReferences, protectedByPlaylist } from '../../src/segments/playlist.js';

const parsePlaylist = (text: string) => playlistReferences(text, new SegmentLayout(), 'cam1', 'hls/cam1/index.m3u8');
const protectedAmong = (playlist: { ids: number[]; entries: number }, listed: number[]) => listed.filter(protectedByPlaylist(playlist, listed));

describe('parsePlaylist', () => {
  it('names a segment by its whole URI line, with a query or fragment, whitespace around it ignored', () => {
    const text = ['#EXTM3U', 'segment_1.ts', '  segment_2.ts  ', 'https://cdn.example/live/cam1/segment_3.ts', 'segment_4.ts?token=abc', 'segment_5.ts#t=1', 'segment_6.ts\r', ''].join('\n');
    expect(parsePlaylist(text).ids).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('ignores comments, other files, near-miss names and ids too big to hold exactly', () => {
    const text = ['#EXTM3U', '#/segment_8.ts', 'init.mp4', 'segment_9.ts.bak', 'xsegment_10.ts', 'segment_11.tsx', 'segment_012.ts', 'segment_99999999999999999999.ts', 'segment_7.ts'].join('\n');
    expect(parsePlaylist(text).ids).toEqual([7]);
  });
});

describe('playlistReferences: entries, order, other layouts', () => {
  it('counts as entries only URI lines, not the URIs of tags (parts, preload hints)', () => {
    const text = ['#EXTM3U', '#EXTINF:2,', 'segment_7.ts', '#EXT-X-PART:DURATION=1,URI="segment_8.ts"', '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="segment_9.ts"'].join('\n');
    expect(parsePlaylist(text)).toEqual({ ids: [7, 8, 9], entries: 1 });
  });

  it('gives the ids in numeric order, each once, whatever the playlist\'s order and repeats', () => {
    const text = ['#EXTM3U', 'segment_10.ts', 'segment_9.ts', 'segment_10.ts', '#EXT-X-PART:DURATION=1,URI="segment_9.ts"', 'segment_100.ts'].join('\n');
    expect(parsePlaylist(text)).toEqual({ ids: [9, 10, 100], entries: 4 });
  });

  it('on a flat layout (nginx-rtmp), a URI counts only for this stream\'s segments; a CDN URL counts by its file name, query or fragment cut', () => {
    const layout = new SegmentLayout('nginx-rtmp');
    const text = ['#EXTM3U', 'https://cdn.example/live/cam2-5.ts', 'https://cdn.example/live/cam1-6.ts?token=a', 'https://cdn.example/live/cam1-7.ts#t=1', 'https://cdn.example/live/readme.txt', 'https://cdn.example/live/', 'cam2-8.ts'].join('\n');
    expect(playlistReferences(text, layout, 'cam1', 'cam1.m3u8').ids).toEqual([6, 7]);
  });

  it('a URI counts by its key where its file name alone names no segment (ids in folders)', () => {
    const layout = new SegmentLayout({ segment: '{stream}/{seq}/segment.ts', playlist: '{stream}/index.m3u8' });
    expect(playlistReferences(['#EXTM3U', '5/segment.ts', '6/segment.ts'].join('\n'), layout, 'cam1', 'cam1/index.m3u8').ids).toEqual([5, 6]);
  });
});

describe('protectedByPlaylist', () => {
  it('an empty playlist protects nothing', () => {
    expect(protectedAmong({ ids: [], entries: 0 }, [1, 2, 3])).toEqual([]);
  });

  it('protects its entries, exactly one more listed id than it has entries just before the first, and every id after the last', () => {
    expect(protectedAmong({ ids: [10, 11], entries: 2 }, [1, 2, 7, 8, 9, 10, 11, 12])).toEqual([7, 8, 9, 10, 11, 12]);
  });

  it('does not protect a listed id between its first and last entries that it does not name', () => {
    expect(protectedAmong({ ids: [10, 12], entries: 2 }, [7, 8, 9, 10, 11, 12, 13])).toEqual([7, 8, 9, 10, 12, 13]);
  });
});
