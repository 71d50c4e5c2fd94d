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

describe('protectedByPlaylist', () => {
  it('an empty playlist protects nothing', () => {
    expect(protectedAmong({ ids: [], entries: 0 }, [1, 2, 3])).toEqual([]);
  });

  it('protects its entries, exactly one more listed id than it has entries just before the first, and every id after the last', () => {
    expect(protectedAmong({ ids: [10, 11], entries: 2 }, [1, 2, 7, 8, 9, 10, 11, 12])).toEqual([7, 8, 9, 10, 11, 12]);
  });
});
