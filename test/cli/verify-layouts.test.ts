// verify, du and playlist on the layouts real producers write: streams made by ffmpeg under each
// producer's names straight into a local pool's folder (as the producer would), configured by one
// `layout` line, then damaged on purpose. Flat (nginx-rtmp: every stream in one folder), app
// (SRS `live/cam1`), fMP4 (init files) and variants (a master playlist over `cam1/v0`, `cam1/v1`).

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ffprobeFormat, makeStream } from '../support/ffmpeg.js';
import { cli, workdir } from './run.js';

interface Report {
  streams: { stream: string; segments: number; findings: { kind: string; ids?: number[]; keys?: string[]; pools?: string[] }[] }[];
  findings: number;
}

/** A working folder whose config names `layout` over two local pools, `disk` (the producer's) and `spare`. */
async function store(layout: string): Promise<{ cwd: string; disk: string; spare: string; run: (args: string[]) => ReturnType<typeof cli> }> {
  const cwd = await workdir({
    layout,
    pools: [
      { name: 'disk', priority: 1, backend: { type: 'local', root: './disk', createRoot: true } },
      { name: 'spare', priority: 2, backend: { type: 'local', root: './spare', createRoot: true } },
    ],
  });
  return { cwd, disk: path.join(cwd, 'disk'), spare: path.join(cwd, 'spare'), run: (args) => cli(args, { cwd }) };
}

const kinds = (report: Report, stream: string): string[] => report.streams.find((s) => s.stream === stream)!.findings.map((f) => f.kind).sort();
const finding = (report: Report, stream: string, kind: string) => report.streams.find((s) => s.stream === stream)!.findings.find((f) => f.kind === kind);

describe('verify, du and playlist on producer layouts', () => {
  describe('nginx-rtmp (flat: every stream in one folder)', () => {
    let s: Awaited<ReturnType<typeof store>>;
    beforeAll(async () => {
      s = await store('nginx-rtmp');
      // cam1 and cam10 share the folder and a name prefix: nothing of one may be taken for the other's.
      for (const stream of ['cam1', 'cam10']) await makeStream(s.disk, { segment: `${stream}-%d.ts`, playlist: `${stream}.m3u8`, seconds: 5 });
      await writeFile(path.join(s.disk, 'notes.txt'), 'not a stream');
    }, 60_000);

    it('healthy streams: nothing found, each with its own segments; a removed named segment is a missing and a gap of that stream only', async () => {
      const healthy = await s.run(['verify', '--all', '--deep', '--json']);
      expect(healthy.code, healthy.stderr).toBe(0);
      expect(healthy.json<Report>().streams.map((r) => [r.stream, r.segments, r.findings.length])).toEqual([
        ['cam1', 5, 0],
        ['cam10', 5, 0],
      ]);
      await rm(path.join(s.disk, 'cam1-2.ts'));
      const damaged = await s.run(['verify', '--all', '--json']);
      expect(damaged.code).toBe(1);
      const report = damaged.json<Report>();
      expect(kinds(report, 'cam1')).toEqual(['gap', 'missing']);
      expect(finding(report, 'cam1', 'missing')).toMatchObject({ ids: [2], keys: ['cam1-2.ts'] });
      expect(finding(report, 'cam1', 'gap')).toMatchObject({ ids: [2] });
      expect(kinds(report, 'cam10')).toEqual([]);
    }, 60_000);

    it('du: a row per stream of the shared folder, its own objects only', async () => {
      const du = await s.run(['du', '--json']);
      expect(du.code, du.stderr).toBe(0);
      const rows = du.json<{ streams: { stream: string; pools: Record<string, { objects: number }>; total: { objects: number } }[] }>().streams;
      expect(rows.map((r) => [r.stream, r.pools.disk!.objects, r.pools.spare!.objects, r.total.objects])).toEqual([
        ['cam1', 5, 0, 5],
        ['cam10', 6, 0, 6],
      ]);
    });

    it('playlist: a VOD playlist of cam10 names only cam10\'s segments, relative to the shared folder, and ffprobe reads it', async () => {
      const out = path.join(s.disk, 'cam10-vod.m3u8');
      const result = await s.run(['playlist', 'cam10', '-o', out]);
      expect(result.code, result.stderr).toBe(0);
      const uris = (await readFile(out, 'utf8')).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      expect(uris).toEqual(['cam10-0.ts', 'cam10-1.ts', 'cam10-2.ts', 'cam10-3.ts', 'cam10-4.ts']);
      expect((await ffprobeFormat(out)).duration).toBeGreaterThan(4.5);
    }, 60_000);
  });

  describe('srs (app/stream) with a second pool', () => {
    let s: Awaited<ReturnType<typeof store>>;
    beforeAll(async () => {
      s = await store('srs');
      for (const stream of ['cam1', 'cam2']) await makeStream(path.join(s.disk, 'live'), { segment: `${stream}-%d.ts`, playlist: `${stream}.m3u8`, seconds: 5 });
      // The spare pool holds a copy of cam2-1.ts with other bytes, and the same bytes of cam2-0.ts.
      await mkdir(path.join(s.spare, 'live'), { recursive: true });
      await writeFile(path.join(s.spare, 'live/cam2-0.ts'), await readFile(path.join(s.disk, 'live/cam2-0.ts')));
      await writeFile(path.join(s.spare, 'live/cam2-1.ts'), Buffer.concat([await readFile(path.join(s.disk, 'live/cam2-1.ts')), Buffer.alloc(188, 0x47)]));
      // cam1: an empty segment (a producer that died) and a garbage one (an error page saved as a segment).
      await writeFile(path.join(s.disk, 'live/cam1-1.ts'), Buffer.alloc(0));
      await writeFile(path.join(s.disk, 'live/cam1-3.ts'), Buffer.from('<html><body>502 Bad Gateway</body></html>\n'.repeat(40)));
    }, 60_000);

    it('finds the empty and the garbage segment of live/cam1 and the copies of live/cam2 that differ between pools', async () => {
      const result = await s.run(['verify', 'live/cam1', 'live/cam2', '--json']);
      expect(result.code).toBe(1);
      const report = result.json<Report>();
      expect(kinds(report, 'live/cam1')).toEqual(['empty', 'not-mpegts']);
      expect(finding(report, 'live/cam1', 'empty')).toMatchObject({ ids: [1] });
      expect(finding(report, 'live/cam1', 'not-mpegts')).toMatchObject({ ids: [3], keys: ['live/cam1-3.ts'] });
      expect(kinds(report, 'live/cam2')).toEqual(['conflict']);
      expect(finding(report, 'live/cam2', 'conflict')).toMatchObject({ keys: ['live/cam2-1.ts'], pools: ['disk', 'spare'] });
      // The app/stream name is the layout's: a bare name of no stream is reported missing, a bad one is exit 2.
      expect((await s.run(['verify', 'live/cam1/x'])).code).toBe(2);
    }, 60_000);

    it('du: the matrix of app/stream rows by pool, with what both pools hold', async () => {
      const du = await s.run(['du', 'live/cam2', '--json']);
      expect(du.code, du.stderr).toBe(0);
      const [row] = du.json<{ streams: { stream: string; pools: Record<string, { objects: number }>; total: { objects: number }; multiplyHeld: { objects: number; extraBytes: number } }[] }>().streams;
      expect(row).toMatchObject({ stream: 'live/cam2', pools: { disk: { objects: 6 }, spare: { objects: 2 } }, total: { objects: 6 }, multiplyHeld: { objects: 2 } });
      expect(row!.multiplyHeld.extraBytes).toBeGreaterThan(0);
    });
  });

  describe('srs-fmp4 (init files)', () => {
    let s: Awaited<ReturnType<typeof store>>;
    beforeAll(async () => {
      s = await store('srs-fmp4');
      for (const stream of ['cam1', 'cam2']) {
        await makeStream(path.join(s.disk, 'live'), { segment: `${stream}-%d.m4s`, playlist: `${stream}.m3u8`, fmp4Init: `${stream}-init.mp4`, seconds: 4 });
      }
    }, 60_000);

    it('a healthy fMP4 stream gives nothing, --deep included; one without its init file, or with a garbage segment, is found', async () => {
      const healthy = await s.run(['verify', 'live/cam1', '--deep', '--json']);
      expect(healthy.code, healthy.stderr).toBe(0);
      expect(healthy.json<Report>().streams[0]).toMatchObject({ stream: 'live/cam1', segments: 4, findings: [] });
      await rm(path.join(s.disk, 'live/cam2-init.mp4'));
      await writeFile(path.join(s.disk, 'live/cam2-2.m4s'), Buffer.from('#EXTM3U\n'.repeat(400)));
      const result = await s.run(['verify', '--all', '--json']);
      expect(result.code).toBe(1);
      const report = result.json<Report>();
      expect(kinds(report, 'live/cam1')).toEqual([]);
      // The playlist's EXT-X-MAP names the init file no pool holds: missing, and no-init.
      expect(kinds(report, 'live/cam2')).toEqual(['missing', 'no-init', 'not-fmp4']);
      expect(finding(report, 'live/cam2', 'no-init')).toMatchObject({ keys: ['live/cam2-init.mp4'] });
      expect(finding(report, 'live/cam2', 'not-fmp4')).toMatchObject({ ids: [2] });
    }, 60_000);

    it('playlist: EXT-X-MAP names the stream\'s init file, segments relative to the app folder; ffprobe reads it', async () => {
      const out = path.join(s.disk, 'live/cam1-vod.m3u8');
      const result = await s.run(['playlist', 'live/cam1', '-o', out]);
      expect(result.code, result.stderr).toBe(0);
      const text = await readFile(out, 'utf8');
      expect(text).toContain('#EXT-X-MAP:URI="cam1-init.mp4"');
      expect(text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual(['cam1-0.m4s', 'cam1-1.m4s', 'cam1-2.m4s', 'cam1-3.m4s']);
      expect((await ffprobeFormat(out)).duration).toBeGreaterThan(3.5);
    }, 60_000);
  });

  describe('ffmpeg-variants (a master playlist over two variants)', () => {
    let s: Awaited<ReturnType<typeof store>>;
    beforeAll(async () => {
      s = await store('ffmpeg-variants');
      await makeStream(s.disk, { segment: 'cam1/v%v/index%d.ts', playlist: 'cam1/v%v/index.m3u8', seconds: 4, variants: { count: 2, master: 'master.m3u8' } });
      await makeStream(s.disk, { segment: 'cam2/v%v/index%d.ts', playlist: 'cam2/v%v/index.m3u8', seconds: 4, variants: { count: 2, master: 'master.m3u8' } });
    }, 60_000);

    it('verify --all checks each variant and each master; a master naming a missing variant playlist, and a variant playlist that is not one, are found', async () => {
      const healthy = await s.run(['verify', '--all', '--json']);
      expect(healthy.code, healthy.stderr).toBe(0);
      expect(healthy.json<Report>().streams.map((r) => [r.stream, r.segments, r.findings.length])).toEqual([
        ['cam1', 0, 0],
        ['cam1/v0', 4, 0],
        ['cam1/v1', 4, 0],
        ['cam2', 0, 0],
        ['cam2/v0', 4, 0],
        ['cam2/v1', 4, 0],
      ]);
      await rm(path.join(s.disk, 'cam2/v1/index.m3u8'));
      await writeFile(path.join(s.disk, 'cam2/v0/index.m3u8'), 'index0.ts\nindex1.ts\n');
      const result = await s.run(['verify', '--all', '--json']);
      expect(result.code).toBe(1);
      const report = result.json<Report>();
      expect(finding(report, 'cam2', 'missing')).toMatchObject({ keys: ['cam2/v1/index.m3u8'] });
      expect(kinds(report, 'cam2/v0')).toEqual(['bad-playlist']);
      expect(kinds(report, 'cam1')).toEqual([]);
      // The master's stream by name: its findings alone.
      const one = await s.run(['verify', 'cam2', '--json']);
      expect(one.json<Report>().streams.map((r) => [r.stream, r.findings.map((f) => f.kind)])).toEqual([['cam2', ['missing']]]);
    }, 60_000);

    it('du: a row for each variant and one for the master playlist', async () => {
      const du = await s.run(['du', 'cam1', 'cam1/v0', '--json']);
      expect(du.code, du.stderr).toBe(0);
      expect(du.json<{ streams: { stream: string; total: { objects: number } }[] }>().streams.map((r) => [r.stream, r.total.objects])).toEqual([
        ['cam1', 1],
        ['cam1/v0', 5],
      ]);
    });
  });
});
