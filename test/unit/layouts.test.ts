// Layout templates and presets: every producer's names parse to the right stream, kind and id, new
// names are made by the template, ids order by number (or time), and ambiguous templates are refused.

import { describe, expect, it } from 'vitest';
import { SegmentLayout } from '../../src/segments/layout.js';
import { LAYOUT_PRESETS } from '../../src/segments/presets.js';

/** Keys as each producer writes them, with what they are. */
const WRITTEN: Record<string, [string, ReturnType<SegmentLayout['parse']>][]> = {
  flux: [
    ['hls/cam1/segment_7.ts', { stream: 'cam1', kind: 'segment', id: 7 }],
    ['hls/cam1/index.m3u8', { stream: 'cam1', kind: 'playlist' }],
    ['hls/cam1/notes.txt', { stream: 'cam1', kind: 'other' }],
  ],
  'flux-fmp4': [
    ['hls/cam1/segment_3.m4s', { stream: 'cam1', kind: 'segment', id: 3 }],
    ['hls/cam1/init.mp4', { stream: 'cam1', kind: 'init' }],
    ['hls/cam1/segment_3.ts', { stream: 'cam1', kind: 'other' }],
  ],
  'nginx-rtmp': [
    ['cam-1-12.ts', { stream: 'cam-1', kind: 'segment', id: 12 }],
    ['cam-1.m3u8', { stream: 'cam-1', kind: 'playlist' }],
    // hls_fragment_naming timestamp: ms since the epoch.
    ['cam1-1700000000123.ts', { stream: 'cam1', kind: 'segment', id: 1_700_000_000_123 }],
    ['cam1-3.ts.tmp', { stream: 'cam1', kind: 'temp' }],
  ],
  'nginx-rtmp-nested': [
    ['cam1/12.ts', { stream: 'cam1', kind: 'segment', id: 12 }],
    ['cam1/index.m3u8', { stream: 'cam1', kind: 'playlist' }],
    ['cam1/x.bak', { stream: 'cam1', kind: 'other' }],
  ],
  srs: [
    ['live/livestream-0.ts', { stream: 'live/livestream', kind: 'segment', id: 0 }],
    ['live/livestream.m3u8', { stream: 'live/livestream', kind: 'playlist' }],
    ['livestream-4.ts', { stream: 'livestream', kind: 'segment', id: 4 }],
  ],
  'srs-fmp4': [
    ['live/cam-3.m4s', { stream: 'live/cam', kind: 'segment', id: 3 }],
    ['live/cam-init.mp4', { stream: 'live/cam', kind: 'init' }],
  ],
  ffmpeg: [
    ['cam1/out0.ts', { stream: 'cam1', kind: 'segment', id: 0 }],
    ['cam1/out_00012.ts', { stream: 'cam1', kind: 'segment', id: 12 }],
    ['cam1/stream.m3u8', { stream: 'cam1', kind: 'playlist' }],
    ['cam1/42.ts', { stream: 'cam1', kind: 'segment', id: 42 }],
  ],
  'ffmpeg-fmp4': [
    ['cam1/init.mp4', { stream: 'cam1', kind: 'init' }],
    ['cam1/out7.m4s', { stream: 'cam1', kind: 'segment', id: 7 }],
    ['cam1/out.m3u8', { stream: 'cam1', kind: 'playlist' }],
  ],
  // -var_stream_map "v:0,a:0 v:1,a:1" -master_pl_name master.m3u8 -hls_segment_filename cam1/%v/index%d.ts cam1/%v/index.m3u8
  'ffmpeg-variants': [
    ['cam1/0/index3.ts', { stream: 'cam1/0', kind: 'segment', id: 3 }],
    ['cam1/1/index.m3u8', { stream: 'cam1/1', kind: 'playlist' }],
    ['cam1/master.m3u8', { stream: 'cam1', kind: 'master' }],
    ['cam1/0/index4.ts.tmp', { stream: 'cam1/0', kind: 'temp' }],
  ],
  // The same with -hls_segment_type fmp4: ffmpeg names each variant's init file init_%v.mp4.
  'ffmpeg-fmp4-variants': [
    ['cam1/0/index3.m4s', { stream: 'cam1/0', kind: 'segment', id: 3 }],
    ['cam1/0/init_0.mp4', { stream: 'cam1/0', kind: 'init' }],
    ['cam1/1/init_0.mp4', { stream: 'cam1/1', kind: 'other' }],
    ['cam1/v1/init_v1.mp4', { stream: 'cam1/v1', kind: 'init' }],
    ['cam1/master.m3u8', { stream: 'cam1', kind: 'master' }],
  ],
  // MediaMTX (gohlslib) with hlsDirectory: `{12 hex digits}_{track}_seg{N}.mp4`, a stem that may end
  // in a digit since "_seg" follows it; each track (video1, audio2) is a variant of the path.
  mediamtx: [
    ['cam1/5d0a2f1b3c49_video1_seg12.mp4', { stream: 'cam1/video1', kind: 'segment', id: 12 }],
    ['cam1/5d0a2f1b3c49_audio2_seg12.mp4', { stream: 'cam1/audio2', kind: 'segment', id: 12 }],
    ['cam1/5d0a2f1b3c49_video1_init.mp4', { stream: 'cam1/video1', kind: 'init' }],
    ['cam1/video1_stream.m3u8', { stream: 'cam1/video1', kind: 'playlist' }],
    ['cam1/index.m3u8', { stream: 'cam1', kind: 'master' }],
    ['cam1/5d0a2f1b3c49_video1_seg13.mp4.tmp', { stream: 'cam1/video1', kind: 'temp' }],
  ],
};

describe('layout presets', () => {
  it('has a test for every preset', () => {
    expect(Object.keys(LAYOUT_PRESETS).sort()).toEqual(Object.keys(WRITTEN).sort());
  });

  describe.each(Object.entries(WRITTEN))('%s', (preset, keys) => {
    const layout = new SegmentLayout(preset);
    it.each(keys)('reads %s', (key, expected) => {
      expect(layout.parse(key)).toEqual(expected);
    });

    it('names new segments and playlists so that they read back', () => {
      const stream = layout.templates.segment.includes('{app}') ? 'live/cam-2' : layout.hasVariant ? 'cam-2/v0' : 'cam-2';
      expect(layout.parse(layout.segmentKey(stream, 31))).toEqual({ stream, kind: 'segment', id: 31 });
      expect(layout.parse(layout.playlistKey(stream))).toEqual({ stream, kind: 'playlist' });
      const init = layout.initKey(stream);
      if (init !== undefined) expect(layout.parse(init)).toEqual({ stream, kind: 'init' });
      const master = layout.masterKey(stream);
      if (master !== undefined) expect(layout.parse(master)).toEqual({ stream: stream.replace(/\/v0$/, ''), kind: 'master' });
      expect(layout.segmentKey(stream, 31).startsWith(layout.streamPrefix(stream))).toBe(true);
    });
  });

  it('keeps the default layout as it was', () => {
    const layout = new SegmentLayout();
    expect(layout.segmentKey('cam1', 3)).toBe('hls/cam1/segment_3.ts');
    expect(layout.playlistKey('cam1')).toBe('hls/cam1/index.m3u8');
    expect(layout.streamPrefix('cam1')).toBe('hls/cam1/');
    expect(layout.playlist).toBe('index.m3u8');
    expect(layout.folderPerStream).toBe(true);
    expect(layout.parse('hls/cam1/segment_010.ts')).toEqual({ stream: 'cam1', kind: 'other' });
    expect(layout.parse('.flux-storage/probe/x')).toBeUndefined();
  });

  it('names the flat layouts folder as shared by streams', () => {
    expect(new SegmentLayout('nginx-rtmp').folderPerStream).toBe(false);
    expect(new SegmentLayout('srs').folderPerStream).toBe(false);
    // The tracks of a MediaMTX path share its folder.
    expect(new SegmentLayout('mediamtx').folderPerStream).toBe(false);
    expect(new SegmentLayout('mediamtx').streamPrefix('cam1/video1')).toBe('cam1/');
    expect(new SegmentLayout('ffmpeg-variants').folderPerStream).toBe(true);
    expect(new SegmentLayout('nginx-rtmp').streamPrefix('cam1')).toBe('');
    expect(new SegmentLayout({ preset: 'srs', prefix: 'data' }).streamPrefix('live/cam1')).toBe('data/live/');
    expect(new SegmentLayout({ preset: 'srs', prefix: 'data' }).segmentKey('live/cam1', 5)).toBe('data/live/cam1-5.ts');
  });
});

describe('layout templates', () => {
  it('pads {seq:N} and reads padded names', () => {
    const layout = new SegmentLayout({ segment: '{stream}/seg_{seq:5}.ts', playlist: '{stream}/live.m3u8' });
    expect(layout.segmentKey('cam1', 42)).toBe('cam1/seg_00042.ts');
    expect(layout.parse('cam1/seg_00042.ts')).toEqual({ stream: 'cam1', kind: 'segment', id: 42 });
    expect(layout.parse('cam1/seg_123456.ts')).toEqual({ stream: 'cam1', kind: 'segment', id: 123456 });
    expect(layout.parse('cam1/seg_42.ts')).toEqual({ stream: 'cam1', kind: 'other' });
  });

  it('reads strftime names as epoch seconds (UTC) and writes them back', () => {
    const layout = new SegmentLayout({ segment: '{stream}/{time:%Y%m%d-%H%M%S}.ts', playlist: '{stream}/index.m3u8' });
    expect(layout.idKind).toBe('time');
    expect(layout.parse('cam1/20261201-223000.ts')).toEqual({ stream: 'cam1', kind: 'segment', id: Date.UTC(2026, 11, 1, 22, 30, 0) / 1000 });
    expect(layout.segmentKey('cam1', Date.UTC(2026, 0, 2, 3, 4, 5) / 1000)).toBe('cam1/20260102-030405.ts');
    expect(layout.parse('cam1/20260231-000000.ts')).toEqual({ stream: 'cam1', kind: 'other' });
  });

  it('makes {variant} part of the stream name', () => {
    const layout = new SegmentLayout({ segment: '{stream}/{variant}/{seq}.ts', playlist: '{stream}/{variant}/index.m3u8' });
    expect(layout.parse('cam1/v0/3.ts')).toEqual({ stream: 'cam1/v0', kind: 'segment', id: 3 });
    expect(layout.segmentKey('cam1/v1', 4)).toBe('cam1/v1/4.ts');
    expect(() => layout.segmentKey('cam1', 4)).toThrow(/stream\/variant/);
  });

  it('validates stream names against the layout', () => {
    const srs = new SegmentLayout('srs');
    expect(() => srs.segmentKey('live/../x', 1)).toThrow(/invalid stream name/);
    expect(() => srs.segmentKey('a/b/c', 1)).toThrow(/invalid stream name/);
    expect(() => new SegmentLayout().segmentKey('a/b', 1)).toThrow(/invalid stream name/);
  });

  it.each([
    [{ segment: '{stream}{seq}.ts', playlist: '{stream}.m3u8' }, /ambiguous: "a12.ts".*stream "a1" id 2/],
    [{ segment: '{stream}-{seq}.ts', playlist: '{stream}-{name}.m3u8' }, /ambiguous: "a-seg-.m3u8", the playlist of stream "a".*stream "a-seg"/],
    [{ segment: '{stream}/x.ts', playlist: '{stream}/i.m3u8' }, /exactly one id field/],
    [{ segment: '{seq}.ts', playlist: 'i.m3u8' }, /needs a \{stream\} field/],
    [{ segment: '{stream}/{bogus}.ts', playlist: '{stream}/i.m3u8' }, /unknown field \{bogus\}/],
    [{ segment: '../{stream}/{seq}.ts', playlist: '{stream}/i.m3u8' }, /relative path/],
    [{ segment: '{stream}/{seq}.ts', playlist: '{stream}/{seq}.m3u8' }, /only segment names carry an id/],
    [{ segment: 'x/{app}/{stream}-{seq}.ts', playlist: '{stream}.m3u8' }, /\{app\} must be the first path part/],
    [{ preset: 'wowza' }, /unknown preset "wowza"; the presets are flux, /],
    [{ prefix: '.flux-storage' }, /collides with flux-storage's own/],
    [{ segment: '{stream}/{time:%H%M}.ts', playlist: '{stream}/i.m3u8' }, /%Y, %m and %d/],
  ])('refuses %j', (config, message) => {
    expect(() => new SegmentLayout(config)).toThrow(message);
  });
});
