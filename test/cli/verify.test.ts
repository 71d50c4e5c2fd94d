// verify, du and playlist on streams made by ffmpeg, stored across a local pool and an S3 pool
// (s3rver), then damaged on purpose: each kind of finding is found, healthy streams give none, and
// the VOD playlist's durations are those ffprobe measures.

import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobeFormat, makeStream } from '../support/ffmpeg.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';
import { cli, workdir } from './run.js';

interface Report {
  streams: { stream: string; segments: number; findings: { kind: string; ids?: number[]; keys?: string[]; pools?: string[] }[] }[];
  findings: number;
}

describe('verify, du, playlist', () => {
  let s3: S3TestServer;
  let cwd: string;
  const run = (args: string[]) => cli(args, { cwd });
  const segmentsOf = async (dir: string): Promise<string[]> =>
    (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0])).map((f) => path.join(dir, f));

  beforeAll(async () => {
    s3 = await startS3Server();
    cwd = await workdir({
      pools: [
        { name: 'disk', priority: 1, backend: { type: 'local', root: './disk', createRoot: true } },
        { name: 's3', priority: 2, backend: s3.poolOptions() },
      ],
    });
    const made = await makeStream(path.join(cwd, 'made'), { segment: 'segment_%d.ts', playlist: 'index.m3u8', seconds: 8 });
    const later = await makeStream(path.join(cwd, 'later'), { segment: 'segment_%d.ts', playlist: 'index.m3u8', seconds: 3, startAt: 500 });
    const files = await segmentsOf(made.dir);
    for (const stream of ['good', 'bad', 'jump']) expect((await run(['put', stream, ...files, made.playlist])).code).toBe(0);
    // good in S3 too, the same bytes: copies that agree are no finding.
    expect((await run(['put', 'good', ...files.slice(0, 3), '--pool', 's3'])).code).toBe(0);
    // bad: a named segment removed (and so a gap), an empty one, a garbage one, a copy that differs.
    expect((await run(['rm', 'bad', '3'])).code).toBe(0);
    await writeFile(path.join(cwd, 'disk/hls/bad/segment_5.ts'), Buffer.alloc(0));
    await writeFile(path.join(cwd, 'disk/hls/bad/segment_6.ts'), Buffer.from('<html><body>502 Bad Gateway</body></html>\n'.repeat(40)));
    await writeFile(path.join(cwd, 'other_1.ts'), Buffer.concat([await readFile(files[1]!), Buffer.alloc(188, 0x47)]));
    expect((await run(['put', 'bad', 'other_1.ts', '--id', '1', '--pool', 's3'])).code).toBe(0);
    // jump: segment 4 comes from a stream whose timestamps start at 500 s.
    await writeFile(path.join(cwd, 'disk/hls/jump/segment_4.ts'), await readFile((await segmentsOf(later.dir))[1]!));
  }, 90_000);

  afterAll(async () => {
    await s3?.close();
  });

  it('finds nothing on healthy ffmpeg streams, exit 0', async () => {
    const result = await run(['verify', 'good', '--deep', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json<Report>()).toMatchObject({ findings: 0, streams: [{ stream: 'good', segments: 8, findings: [] }] });
    const table = await run(['verify', 'good']);
    expect(table.code).toBe(0);
    expect(table.stderr).toMatch(/1 stream verified, 8 segments: nothing found/);
  }, 60_000);

  it('finds a missing named segment, a gap, an empty and a garbage segment, and copies that differ, exit 1', async () => {
    const result = await run(['verify', 'bad', '--json']);
    expect(result.code).toBe(1);
    const findings = result.json<Report>().streams[0]!.findings;
    const of = (kind: string) => findings.find((f) => f.kind === kind);
    expect(of('missing')).toMatchObject({ ids: [3], keys: ['hls/bad/segment_3.ts'] });
    expect(of('gap')).toMatchObject({ ids: [3] });
    expect(of('empty')).toMatchObject({ ids: [5] });
    expect(of('not-mpegts')).toMatchObject({ ids: [6] });
    expect(of('conflict')).toMatchObject({ keys: ['hls/bad/segment_1.ts'], pools: ['disk', 's3'] });
    expect(findings.map((f) => f.kind).sort()).toEqual(['conflict', 'empty', 'gap', 'missing', 'not-mpegts']);
    const table = await run(['verify', 'bad']);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/missing.*ids 3/);
    expect(table.stderr).toMatch(/5 findings/);
  }, 60_000);

  it('finds a timestamp jump only with --deep', async () => {
    expect((await run(['verify', 'jump'])).code).toBe(0);
    const deep = await run(['verify', 'jump', '--deep', '--json']);
    expect(deep.code).toBe(1);
    expect(deep.json<Report>().streams[0]!.findings).toEqual([expect.objectContaining({ kind: 'timestamp-jump', ids: [4, 5] })]);
  }, 60_000);

  it('reports a stream no pool holds, and usage errors with exit 2', async () => {
    const none = await run(['verify', 'nope', '--json']);
    expect(none.code).toBe(1);
    expect(none.json<Report>().streams[0]!.findings[0]!.kind).toBe('missing');
    expect((await run(['verify'])).code).toBe(2);
    expect((await run(['verify', '../x'])).code).toBe(2);
  });

  it('du counts each pool\'s copies, the distinct objects once, and what several pools hold', async () => {
    const result = await run(['du', 'good', 'bad', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = result.json<{ pools: string[]; streams: { stream: string; pools: Record<string, { objects: number }>; total: { objects: number }; multiplyHeld: { objects: number; extraBytes: number } }[] }>();
    expect(report.pools).toEqual(['disk', 's3']);
    const good = report.streams.find((s) => s.stream === 'good')!;
    expect(good.pools).toEqual({ disk: { objects: 9, bytes: expect.any(Number) }, s3: { objects: 3, bytes: expect.any(Number) } });
    expect(good.total.objects).toBe(9);
    expect(good.multiplyHeld.objects).toBe(3);
    expect(good.multiplyHeld.extraBytes).toBeGreaterThan(0);
    const table = await run(['du']);
    expect(table.stdout).toMatch(/total/);
  });

  it('playlist writes a VOD playlist with the durations ffprobe measures, that ffprobe reads whole', async () => {
    const out = path.join(cwd, 'disk/hls/good/vod.m3u8');
    const result = await run(['playlist', 'good', '--from', '1', '--to', '5', '-o', out]);
    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(out, 'utf8');
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(text).toContain('#EXT-X-ENDLIST');
    const entries = [...text.matchAll(/#EXTINF:([0-9.]+),\n(\S+)/g)].map((m) => ({ duration: Number(m[1]), uri: m[2]! }));
    expect(entries.map((e) => e.uri)).toEqual(['segment_1.ts', 'segment_2.ts', 'segment_3.ts', 'segment_4.ts', 'segment_5.ts']);
    for (const entry of entries) {
      const probed = await ffprobeFormat(path.join(cwd, 'disk/hls/good', entry.uri));
      expect(Math.abs(entry.duration - probed.duration), entry.uri).toBeLessThan(0.001);
    }
    const whole = await ffprobeFormat(out);
    expect(whole.duration).toBeGreaterThan(entries.reduce((sum, e) => sum + e.duration, 0) - 0.2);
    const jump = await run(['playlist', 'jump']);
    expect(jump.stdout).toMatch(/#EXT-X-DISCONTINUITY\n#EXTINF:[0-9.]+,\nsegment_4\.ts/);
    expect((await run(['playlist', 'good', '--from', '900'])).code).toBe(3);
  }, 60_000);
});
