// `serve` on the layouts real producers write, as players use it: the built binary serves stores
// that ffmpeg filled under each producer's names (configured by one `layout` line), ffmpeg plays
// the live and VOD playlists over HTTP, `/` lists the layout's streams, a stream's page plays the
// playlist the producer stored, and nothing outside the layout is served. SRS (`live/cam1`, moved
// to S3 by migrate), ffmpeg fMP4 (its own playlist name, an init file), nginx-rtmp flat, variants.

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegPlays, makeStream } from '../support/ffmpeg.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';
import { cli, workdir } from './run.js';

const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));

interface Served {
  url: string;
  child: ChildProcess;
}

/** The built binary's `serve --port 0` in `cwd`; resolves with the URL it printed. */
async function startServe(cwd: string): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], { cwd, env: { PATH: process.env.PATH }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const match = / at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
      if (match !== null) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { url, child };
}

const localPool = { name: 'disk', priority: 2, backend: { type: 'local', root: './disk', createRoot: true } };
const streamsOf = async (url: string): Promise<string[]> =>
  ((await (await fetch(`${url}/`, { headers: { Accept: 'application/json' } })).json()) as { streams: { stream: string }[] }).streams.map((s) => s.stream);
/** The live playlist path a stream's page plays (the page's `paths.live`). */
const livePathOf = async (url: string, page: string): Promise<string> => {
  const html = await (await fetch(`${url}/${page}`)).text();
  return (JSON.parse(/const paths = (\{[^\n]*\});/.exec(html)![1]!) as { live: string }).live;
};
const statusOf = async (url: string): Promise<number> => (await fetch(url)).status;

describe('serve on producer layouts', () => {
  const served: Served[] = [];
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
  });
  afterAll(async () => {
    for (const { child } of served) child.kill('SIGKILL');
    await s3?.close();
  });

  it('srs: live/cam1, moved from disk to S3 by migrate, is played by ffmpeg (live and VOD); / lists app/stream names; its page plays live/cam1.m3u8', async () => {
    const cwd = await workdir({ layout: 'srs', pools: [{ name: 's3', priority: 1, backend: s3.poolOptions() }, localPool] });
    for (const stream of ['cam1', 'cam2']) await makeStream(path.join(cwd, 'disk/live'), { segment: `${stream}-%d.ts`, playlist: `${stream}.m3u8`, seconds: 4 });
    await writeFile(path.join(cwd, 'disk/live/cam1-4.ts.tmp'), 'half a segment');
    const moved = await cli(['migrate', '--from', 'disk', '--to', 's3', '--stream', 'live/cam1', '--delete-source', '--json'], { cwd });
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.json()).toMatchObject({ copied: 5, deleted: 5, temp: { count: 1 } });
    const server = await startServe(cwd);
    served.push(server);
    const { url } = server;
    expect(await streamsOf(url)).toEqual(['live/cam1', 'live/cam2']);
    expect(await livePathOf(url, 'live/cam1/')).toBe('/live/cam1.m3u8');
    for (const playlist of ['live/cam1.m3u8', 'live/cam1/vod.m3u8', 'live/cam2.m3u8']) expect(await ffmpegPlays(`${url}/${playlist}`), playlist).toEqual({ ok: true, stderr: '' });
    const vod = await (await fetch(`${url}/live/cam1/vod.m3u8`)).text();
    expect(vod.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual(['/live/cam1-0.ts', '/live/cam1-1.ts', '/live/cam1-2.ts', '/live/cam1-3.ts']);
    const segment = await fetch(`${url}/live/cam1-0.ts`);
    expect([segment.status, segment.headers.get('content-type')]).toEqual([200, 'video/mp2t']);
    // The producer's temporary file is held by the disk pool, and still not served.
    expect(await statusOf(`${url}/live/cam1-4.ts.tmp`)).toBe(404);
  }, 120_000);

  it('ffmpeg-fmp4: the page plays the playlist ffmpeg named (out.m3u8); ffmpeg plays it and the VOD playlist, whose EXT-X-MAP is the init file; a stored cam2/vod.m3u8 is served as stored', async () => {
    const cwd = await workdir({ layout: 'ffmpeg-fmp4', pools: [localPool] });
    await makeStream(path.join(cwd, 'disk/cam1'), { segment: 'out%d.m4s', playlist: 'out.m3u8', fmp4Init: 'init.mp4', seconds: 4 });
    // ffmpeg told to name its playlist vod.m3u8: a playlist of the layout, not the VOD route's.
    await makeStream(path.join(cwd, 'disk/cam2'), { segment: 'vod%d.m4s', playlist: 'vod.m3u8', fmp4Init: 'init.mp4', seconds: 3 });
    const server = await startServe(cwd);
    served.push(server);
    const { url } = server;
    expect(await streamsOf(url)).toEqual(['cam1', 'cam2']);
    expect(await livePathOf(url, 'cam1/')).toBe('/cam1/out.m3u8');
    for (const playlist of ['cam1/out.m3u8', 'cam1/vod.m3u8']) expect(await ffmpegPlays(`${url}/${playlist}`), playlist).toEqual({ ok: true, stderr: '' });
    const vod = await (await fetch(`${url}/cam1/vod.m3u8`)).text();
    expect(vod).toContain('#EXT-X-MAP:URI="/cam1/init.mp4"');
    expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    const init = await fetch(`${url}/cam1/init.mp4`);
    expect([init.status, init.headers.get('content-type')]).toEqual([200, 'video/mp4']);
    const stored = await (await fetch(`${url}/cam2/vod.m3u8`)).text();
    expect(stored).not.toContain('EXT-X-PLAYLIST-TYPE:VOD');
    expect(stored).toContain('#EXT-X-MAP:URI="init.mp4"');
  }, 120_000);

  it('nginx-rtmp flat: / lists the streams of the shared folder, each VOD names only its own segments, and other files of the folder are 404', async () => {
    const cwd = await workdir({ layout: 'nginx-rtmp', pools: [localPool] });
    for (const stream of ['cam1', 'cam10']) await makeStream(path.join(cwd, 'disk'), { segment: `${stream}-%d.ts`, playlist: `${stream}.m3u8`, seconds: 3 });
    await writeFile(path.join(cwd, 'disk/notes.txt'), 'not a stream');
    await writeFile(path.join(cwd, 'disk/cam1.m3u8.bak'), '#EXTM3U\n');
    const server = await startServe(cwd);
    served.push(server);
    const { url } = server;
    expect(await streamsOf(url)).toEqual(['cam1', 'cam10']);
    expect(await livePathOf(url, 'cam1/')).toBe('/cam1.m3u8');
    const vod = await (await fetch(`${url}/cam1/vod.m3u8`)).text();
    expect(vod.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual(['/cam1-0.ts', '/cam1-1.ts', '/cam1-2.ts']);
    expect(await ffmpegPlays(`${url}/cam10.m3u8`)).toEqual({ ok: true, stderr: '' });
    for (const other of ['notes.txt', 'cam1.m3u8.bak', 'storage.config.json']) expect(await statusOf(`${url}/${other}`), other).toBe(404);
  }, 120_000);

  it('ffmpeg-variants: / lists the master\'s stream and each variant; cam1\'s page plays its master, which ffmpeg plays; a variant\'s VOD plays', async () => {
    const cwd = await workdir({ layout: 'ffmpeg-variants', pools: [localPool] });
    await makeStream(path.join(cwd, 'disk'), { segment: 'cam1/v%v/index%d.ts', playlist: 'cam1/v%v/index.m3u8', seconds: 3, variants: { count: 2, master: 'master.m3u8' } });
    const server = await startServe(cwd);
    served.push(server);
    const { url } = server;
    expect(await streamsOf(url)).toEqual(['cam1', 'cam1/v0', 'cam1/v1']);
    expect(await livePathOf(url, 'cam1/')).toBe('/cam1/master.m3u8');
    expect(await livePathOf(url, 'cam1/v1/')).toBe('/cam1/v1/index.m3u8');
    for (const playlist of ['cam1/master.m3u8', 'cam1/v1/vod.m3u8']) expect(await ffmpegPlays(`${url}/${playlist}`), playlist).toEqual({ ok: true, stderr: '' });
    // The master's stream has no segments of its own, so no VOD playlist: the path is a master's name no pool holds.
    expect(await statusOf(`${url}/cam1/vod.m3u8`)).toBe(404);
  }, 120_000);
});
