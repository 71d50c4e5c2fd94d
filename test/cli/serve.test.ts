// `serve` as players use it: the built binary serves a stream whose segments are split between an S3
// pool (s3rver) and a local pool, ffmpeg plays it over HTTP, and every HTTP rule of the origin
// (types, ranges, caching, 404s, nothing outside the layout, 503 for a silent pool, metrics, a
// clean stop on SIGTERM that lets responses under way finish) is checked on the wire.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chromium } from '../support/chromium.js';
import { makeStream } from '../support/ffmpeg.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';
import { cli, workdir } from './run.js';

const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));
const run = promisify(execFile);

export interface Served {
  url: string;
  child: ChildProcess;
  stderr: () => string;
}

/** Starts the built binary's `serve --port 0` in `cwd`; resolves with the URL it printed. */
export async function startServe(cwd: string, args: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], { cwd, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const match = / at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
      if (match !== null) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { url, child, stderr: () => err };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('serve', () => {
  let s3: S3TestServer;
  let cwd: string;
  let served: Served;
  let files: string[];

  beforeAll(async () => {
    s3 = await startS3Server();
    cwd = await workdir({
      pools: [
        { name: 's3', priority: 1, backend: s3.poolOptions() },
        { name: 'disk', priority: 2, backend: { type: 'local', root: './disk', createRoot: true } },
      ],
    });
    const stream = await makeStream(path.join(cwd, 'made'), { segment: 'segment_%d.ts', playlist: 'index.m3u8', seconds: 6 });
    files = (await readdir(stream.dir)).filter((f) => f.endsWith('.ts')).sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
    const at = (f: string): string => path.join('made', f);
    // cam1: its first segments in S3, the rest and the playlist on disk; cam2: all in S3.
    const half = Math.floor(files.length / 2);
    for (const [args, code] of [
      [['put', 'cam1', ...files.slice(0, half).map(at), '--pool', 's3'], 0],
      [['put', 'cam1', ...files.slice(half).map(at), at('index.m3u8'), '--pool', 'disk'], 0],
      [['put', 'cam2', ...files.map(at), at('index.m3u8'), '--pool', 's3'], 0],
    ] as const) {
      const result = await cli([...args], { cwd });
      expect(result.code, result.stderr).toBe(code);
    }
    await writeFile(path.join(cwd, 'big.ts'), Buffer.alloc(8 * 1024 * 1024, 0x47));
    expect((await cli(['put', 'big', 'big.ts', '--id', '1', '--pool', 'disk'], { cwd })).code).toBe(0);
    served = await startServe(cwd);
  }, 90_000);

  afterAll(async () => {
    served?.child.kill('SIGKILL');
    await s3?.close();
  });

  it('is played by ffmpeg from a stream split between S3 and disk, and from S3 alone', async () => {
    for (const stream of ['cam1', 'cam2']) {
      const { stderr } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', `${served.url}/hls/${stream}/index.m3u8`, '-f', 'null', '-'], { timeout: 60_000 });
      expect(stderr, stream).toBe('');
    }
  }, 120_000);

  it('serves segments and playlists with HLS types, lengths, tags and cache rules', async () => {
    const segment = await fetch(`${served.url}/hls/cam1/segment_0.ts`);
    expect(segment.status).toBe(200);
    expect(segment.headers.get('content-type')).toBe('video/mp2t');
    expect(segment.headers.get('cache-control')).toContain('immutable');
    expect(segment.headers.get('accept-ranges')).toBe('bytes');
    const body = Buffer.from(await segment.arrayBuffer());
    expect(Number(segment.headers.get('content-length'))).toBe(body.length);
    expect(body[0]).toBe(0x47);
    const etag = segment.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect((await fetch(`${served.url}/hls/cam1/segment_0.ts`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    const playlist = await fetch(`${served.url}/hls/cam1/index.m3u8`);
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(playlist.headers.get('cache-control')).toBe('no-cache');
    expect(await playlist.text()).toMatch(/^#EXTM3U/);
  });

  it('answers byte ranges with 206, HEAD without a body, and 416 past the end', async () => {
    const whole = Buffer.from(await (await fetch(`${served.url}/hls/cam1/segment_0.ts`)).arrayBuffer());
    const part = await fetch(`${served.url}/hls/cam1/segment_0.ts`, { headers: { Range: 'bytes=188-375' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 188-375/${whole.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(188, 376))).toBe(true);
    const tail = await fetch(`${served.url}/hls/cam1/segment_0.ts`, { headers: { Range: 'bytes=-100' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 100))).toBe(true);
    expect((await fetch(`${served.url}/hls/cam1/segment_0.ts`, { headers: { Range: `bytes=${whole.length}-` } })).status).toBe(416);
    const head = await fetch(`${served.url}/hls/cam1/segment_0.ts`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(whole.length);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves nothing outside the layout and never writes', async () => {
    // Files the pool does hold, but that are not the layout's: another file of the stream, a
    // producer's temporary file, a key outside the prefix, a reserved one.
    await mkdir(path.join(cwd, 'disk/hls/cam1'), { recursive: true });
    await mkdir(path.join(cwd, 'disk/private'), { recursive: true });
    await mkdir(path.join(cwd, 'disk/.flux-storage/probe'), { recursive: true });
    await writeFile(path.join(cwd, 'disk/hls/cam1/notes.txt'), 'notes');
    await writeFile(path.join(cwd, 'disk/hls/cam1/segment_9.ts.tmp'), Buffer.alloc(188, 0x47));
    await writeFile(path.join(cwd, 'disk/private/secret.txt'), 'secret');
    await writeFile(path.join(cwd, 'disk/.flux-storage/probe/x'), 'probe');
    for (const bad of ['/hls/cam1/segment_99.ts', '/hls/../config.json', '/hls/%2e%2e/%2e%2e/storage.config.json', '/.flux-storage/probe/x', '/storage.config.json', '/hls/cam1/notes.txt', '/hls/cam1/segment_9.ts.tmp', '/private/secret.txt', '/hls/..%2Fprivate/secret.txt']) {
      const response = await fetch(`${served.url}${bad}`);
      expect(response.status, bad).toBe(404);
    }
    for (const method of ['PUT', 'DELETE', 'POST']) {
      expect((await fetch(`${served.url}/hls/cam1/segment_0.ts`, { method })).status, method).toBe(405);
    }
    expect((await cli(['ls', 'cam1', '--json'], { cwd })).json<{ segments: unknown[] }>().segments).toHaveLength(files.length);
  });

  it('serves a VOD playlist over the stored segments that ffprobe reads', async () => {
    const vod = await fetch(`${served.url}/cam1/vod.m3u8?from=1&to=3`);
    expect(vod.status).toBe(200);
    const text = await vod.text();
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(text).toContain('#EXT-X-ENDLIST');
    expect(text.match(/^\/hls\/cam1\/segment_\d+\.ts$/gm)).toEqual(['/hls/cam1/segment_1.ts', '/hls/cam1/segment_2.ts', '/hls/cam1/segment_3.ts']);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', `${served.url}/cam1/vod.m3u8?from=1&to=3`]);
    expect(Number(stdout)).toBeGreaterThan(2.5);
    expect((await fetch(`${served.url}/cam1/vod.m3u8?from=500`)).status).toBe(404);
  }, 60_000);

  it('lists streams as JSON for scripts and HTML for people, and exposes Prometheus metrics', async () => {
    const json = (await (await fetch(`${served.url}/`, { headers: { Accept: 'application/json' } })).json()) as { streams: { stream: string; pools: string[] }[] };
    expect(json.streams.map((s) => s.stream)).toEqual(['big', 'cam1', 'cam2']);
    expect(json.streams.find((s) => s.stream === 'cam1')!.pools).toEqual(['s3', 'disk']);
    const html = await (await fetch(`${served.url}/`)).text();
    expect(html).toContain('href="/cam1/"');
    const page = await (await fetch(`${served.url}/cam1/`)).text();
    expect(page).toContain('/.flux-storage/hls.min.js');
    const hls = await fetch(`${served.url}/.flux-storage/hls.min.js`);
    expect(hls.headers.get('content-type')).toBe('text/javascript');
    expect((await hls.text()).length).toBeGreaterThan(100_000);
    const metrics = await (await fetch(`${served.url}/metrics`)).text();
    expect(metrics).toMatch(/^flux_storage_http_responses_total\{status="200"\} \d+$/m);
    expect(metrics).toMatch(/^flux_storage_http_response_bytes_total \d+$/m);
    expect(metrics).toMatch(/^flux_storage_pool_up\{pool="s3"\} 1$/m);
    expect(metrics).toMatch(/^# TYPE flux_storage_pool_objects gauge$/m);
  });

  it("plays in a headless Chromium with hls.js from the stream's page (a screenshot is kept)", async () => {
    const browser = await Chromium.launch();
    try {
      const page = await browser.open(`${served.url}/cam1/`);
      const played = await browser.evaluate<number>(
        page,
        `new Promise((resolve, reject) => {
          const until = Date.now() + 30000;
          const check = () => {
            const video = document.querySelector('video');
            if (video && video.currentTime > 2) return resolve(video.currentTime);
            if (Date.now() > until) return reject(new Error('not played past 2 s: ' + (document.getElementById('status') || {}).textContent));
            setTimeout(check, 100);
          };
          check();
        })`,
      );
      expect(played).toBeGreaterThan(2);
      const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
      await mkdir(artifacts, { recursive: true });
      const png = await browser.screenshot(page);
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      await writeFile(path.join(artifacts, 'serve-chromium-hlsjs.png'), png);
    } finally {
      await browser.close();
    }
  }, 90_000);

  it.each(['SIGINT', 'SIGTERM'] as const)('stops on %s after the responses under way have finished, exit 0', async (signal) => {
    const own = await startServe(cwd);
    const received = new Promise<number>((resolve, reject) => {
      httpGet(`${own.url}/hls/big/segment_1.ts`, (response) => {
        let bytes = 0;
        response.pause();
        // The stop is asked for while most of the 8 MiB is still to be sent.
        setTimeout(() => {
          own.child.kill(signal);
          setTimeout(() => {
            response.on('data', (chunk: Buffer) => (bytes += chunk.length));
            response.on('end', () => resolve(bytes));
            response.resume();
          }, 300);
        }, 100);
        response.on('error', reject);
      }).on('error', reject);
    });
    expect(await received).toBe(8 * 1024 * 1024);
    expect(await exited(own.child)).toBe(0);
    expect(own.stderr()).toMatch(/stopped/);
  }, 30_000);
});

describe('serve with a pool that never answers', () => {
  let silent: Server;
  const sockets = new Set<Socket>();

  afterAll(() => {
    for (const socket of sockets) socket.destroy();
    silent?.close();
  });

  it('answers 503 within the pool deadline, naming nothing secret', async () => {
    silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const port = (silent.address() as { port: number }).port;
    const cwd = await workdir({
      pools: [{ name: 'dead', timeoutMs: 1000, retries: 0, backend: { type: 's3', bucket: 'segments', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, accessKeyId: 'AKIDSECRETKEYID', secretAccessKey: 'very-secret-key', retries: 0 } }],
    });
    const served = await startServe(cwd);
    try {
      const started = Date.now();
      const response = await fetch(`${served.url}/hls/cam1/segment_1.ts`);
      expect(response.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(5000);
      const text = await response.text();
      expect(text).not.toMatch(/very-secret-key|AKIDSECRETKEYID|127\.0\.0\.1/);
      // The stream list still answers, naming the pool it could not list.
      const index = await fetch(`${served.url}/`, { headers: { Accept: 'application/json' } });
      expect(index.status).toBe(200);
      const listed = (await index.json()) as { streams: unknown[]; failures: { pool: string }[] };
      expect(listed.failures.map((f) => f.pool)).toEqual(['dead']);
      expect(JSON.stringify(listed)).not.toMatch(/very-secret-key|AKIDSECRETKEYID/);
    } finally {
      served.child.kill('SIGTERM');
      await exited(served.child);
    }
  }, 30_000);
});
