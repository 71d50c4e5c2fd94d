// migrate: verified, resumable copies between pools, against a real s3rver. Includes SIGKILL of the
// built binary at fixed points of its progress and a destination server stopped mid-run.

import * as v from 'valibot';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3Backend } from '../../src/backends/s3/index.js';
import { s3OptionsSchema } from '../../src/backends/s3/options.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';
import { cli, workdir } from './run.js';

const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));
const sha = (data: Buffer): string => createHash('sha1').update(data).digest('hex');

/** Segments written straight into a local pool's folder; returns key → content hash. */
async function seedLocal(root: string, streams: number, perStream: number, size: number): Promise<Map<string, string>> {
  const expected = new Map<string, string>();
  for (let s = 0; s < streams; s++) {
    const dir = path.join(root, 'hls', `cam${s}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(
      Array.from({ length: perStream }, async (_, id) => {
        const data = randomBytes(size);
        await writeFile(path.join(dir, `segment_${id}.ts`), data);
        expected.set(`hls/cam${s}/segment_${id}.ts`, sha(data));
      }),
    );
  }
  return expected;
}

async function localKeys(root: string): Promise<string[]> {
  const dir = path.join(root, 'hls');
  if (!existsSync(dir)) return [];
  return ((await readdir(dir, { recursive: true, withFileTypes: true })) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

/** Kills the child with SIGKILL once `ready()` holds (polled every 10 ms); resolves with the signal that ended it, or null if it exited first. */
async function killWhen(child: ChildProcess, ready: () => Promise<boolean>): Promise<NodeJS.Signals | null> {
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done && !(await ready())) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!done) child.kill('SIGKILL');
  return exited;
}

describe('migrate local → S3', () => {
  let s3: S3TestServer;
  let backend: S3Backend;
  beforeAll(async () => {
    s3 = await startS3Server();
    backend = new S3Backend(v.parse(s3OptionsSchema, s3.poolOptions()));
  });
  afterAll(async () => {
    await backend?.close();
    await s3?.close();
  });
  beforeEach(async () => {
    await s3.start().catch(() => undefined);
    const keys: string[] = [];
    for await (const info of backend.list('')) keys.push(info.key);
    await backend.deleteMany(keys);
  });

  async function setup(streams: number, perStream: number, size: number) {
    const cwd = await workdir({
      pools: [
        { name: 'ssd', priority: 1, backend: { type: 'local', root: './ssd', createRoot: true } },
        { name: 's3', priority: 2, backend: s3.poolOptions() },
      ],
    });
    const root = path.join(cwd, 'ssd');
    return { cwd, root, expected: await seedLocal(root, streams, perStream, size) };
  }

  async function s3Contents(): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for await (const info of backend.list('hls/')) found.set(info.key, sha(await backend.read(info.key)));
    return found;
  }

  it('(a) survives SIGKILL mid-run: re-runs finish with every segment copied, identical, and the source empty', async () => {
    const { cwd, root, expected } = await setup(4, 500, 4096);
    const args = [bin, 'migrate', '--from', 'ssd', '--to', 's3', '--delete-source', '--concurrency', '16', '--quiet'];
    // Each run is killed once the destination has taken that many more PUTs: four kills at fixed
    // points of progress, all before the 2,000 copies are done, so every one lands mid-run.
    for (const puts of [40, 150, 90, 260]) {
      await s3.resetRequests();
      const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH }, stdio: 'ignore' });
      const signal = await killWhen(child, async () => (await s3.requests()).filter((r) => r.method === 'PUT').length >= puts);
      expect(signal, `the run ended by itself before ${puts} PUTs`).toBe('SIGKILL');
    }
    const final = await cli(['migrate', '--from', 'ssd', '--to', 's3', '--delete-source', '--json'], { cwd });
    expect(final.code, final.stderr).toBe(0);
    expect(final.json()).toMatchObject({ failed: 0, failures: [] });
    const copied = await s3Contents();
    expect(copied.size).toBe(2000);
    expect(copied).toEqual(expected);
    expect(await localKeys(root)).toEqual([]);
  }, 180_000);

  it('(b) with the destination stopped mid-run, deletes no source whose copy is unverified, and exits 1 listing the failures', async () => {
    const { cwd, root, expected } = await setup(2, 300, 2048);
    await s3.resetRequests();
    const run = cli(['migrate', '--from', 'ssd', '--to', 's3', '--delete-source', '--concurrency', '4', '--json'], { cwd });
    for (;;) {
      const puts = (await s3.requests()).filter((r) => r.method === 'PUT').length;
      if (puts >= 100) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await s3.stop();
    const result = await run;
    expect(result.code).toBe(1);
    const summary = result.json<{ failed: number; copied: number; deleted: number; failures: { key: string; stage: string; error: { code: string } }[] }>();
    expect(summary.failed).toBeGreaterThan(0);
    expect(summary.failures.length).toBe(summary.failed);
    expect(summary.failures[0]).toMatchObject({ stage: expect.stringMatching(/write|verify|read/), error: { code: expect.stringMatching(/Unavailable|Timeout/) } });
    expect(result.stderr).toMatch(/failed for hls\/cam\d\/segment_\d+\.ts/);
    await s3.start();
    const atSource = new Set(await localKeys(root));
    const atDestination = await s3Contents();
    for (const [key, hash] of expected) {
      if (!atSource.has(key)) expect(atDestination.get(key), `${key} left the source without a verified copy`).toBe(hash);
    }
    expect(atSource.size + summary.deleted).toBe(expected.size);
    const rerun = await cli(['migrate', '--from', 'ssd', '--to', 's3', '--delete-source', '--json'], { cwd });
    expect(rerun.code).toBe(0);
    expect(await s3Contents()).toEqual(expected);
    expect(await localKeys(root)).toEqual([]);
  }, 120_000);

  it('copies playlists after the segments, and skips what is already there on a re-run', async () => {
    const { cwd, root } = await setup(2, 20, 512);
    for (const s of [0, 1]) await writeFile(path.join(root, `hls/cam${s}/index.m3u8`), '#EXTM3U\nsegment_19.ts\n');
    await s3.resetRequests();
    const first = await cli(['migrate', '--from', 'ssd', '--to', 's3', '--json'], { cwd });
    expect(first.json()).toMatchObject({ planned: 42, copied: 42, skipped: 0, deleted: 0, failed: 0 });
    const puts = (await s3.requests()).filter((r) => r.method === 'PUT').map((r) => r.path);
    const lastSegment = Math.max(...puts.map((p, i) => (p.endsWith('.ts') ? i : -1)));
    const firstPlaylist = puts.findIndex((p) => p.endsWith('.m3u8'));
    expect(firstPlaylist).toBeGreaterThan(lastSegment);
    const second = await cli(['migrate', '--from', 'ssd', '--to', 's3', '--json'], { cwd });
    expect(second.json()).toMatchObject({ planned: 42, copied: 0, skipped: 42, failed: 0 });
    const table = await cli(['migrate', '--from', 'ssd', '--to', 's3', '--stream', 'cam1'], { cwd });
    expect(table.stdout).toMatch(/ssd .*s3 .*21 .*0 .*21 .*0 .*0/);
  }, 60_000);

  it('copies objects of every size exactly through reused read buffers, each PUT with its Content-MD5', async () => {
    const { cwd, root } = await setup(1, 0, 0);
    const MiB = 1024 * 1024;
    // Around the 2 MiB buffers, above the largest kept one (16 MiB), and empty: more objects than
    // uploads in flight, so buffers are reused, by objects of other sizes.
    const sizes = [0, 1, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 5 * MiB, 17 * MiB, 3, 1000, 2 * MiB, 700_000, 0, 4 * MiB];
    const expected = new Map<string, string>();
    await mkdir(path.join(root, 'hls/cam0'), { recursive: true });
    for (const [id, size] of sizes.entries()) {
      const data = randomBytes(size);
      await writeFile(path.join(root, `hls/cam0/segment_${id}.ts`), data);
      expected.set(`hls/cam0/segment_${id}.ts`, sha(data));
    }
    await s3.resetRequests();
    const run = await cli(['migrate', '--from', 'ssd', '--to', 's3', '--concurrency', '2', '--json'], { cwd });
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ planned: sizes.length, copied: sizes.length, failed: 0 });
    expect(await s3Contents()).toEqual(expected);
    const puts = (await s3.requests()).filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(sizes.length);
    for (const put of puts) expect(put).toMatchObject({ contentMd5: expect.any(String), payloadHash: 'UNSIGNED-PAYLOAD' });
  }, 60_000);

  it('--dry-run copies and deletes nothing', async () => {
    const { cwd, root, expected } = await setup(1, 10, 100);
    const result = await cli(['migrate', '--from', 'ssd', '--to', 's3', '--delete-source', '--dry-run', '--json'], { cwd });
    expect(result.json()).toMatchObject({ dryRun: true, planned: 10, copied: 10, deleted: 0 });
    expect((await s3Contents()).size).toBe(0);
    expect((await localKeys(root)).length).toBe(expected.size);
  });

  it('Ctrl-C stops starting copies, finishes in-flight ones, prints the summary and exits 130', async () => {
    const { cwd, expected } = await setup(2, 300, 1024);
    await s3.resetRequests();
    const controller = new AbortController();
    const run = cli(['migrate', '--from', 'ssd', '--to', 's3', '--concurrency', '4', '--json'], { cwd, signal: controller.signal });
    while ((await s3.requests()).filter((r) => r.method === 'PUT').length < 50) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    const result = await run;
    expect(result.code).toBe(130);
    const summary = result.json<{ interrupted: boolean; copied: number; failed: number }>();
    expect(summary.interrupted).toBe(true);
    expect(summary.failed).toBe(0);
    expect(summary.copied).toBeLessThan(expected.size);
    const rerun = await cli(['migrate', '--from', 'ssd', '--to', 's3', '--json'], { cwd });
    expect(rerun.json()).toMatchObject({ copied: expected.size - summary.copied, skipped: summary.copied, failed: 0 });
  }, 60_000);
});

describe('migrate between local pools', () => {
  async function setup() {
    const cwd = await workdir({
      pools: [
        { name: 'a', priority: 1, backend: { type: 'local', root: './a', createRoot: true } },
        { name: 'b', priority: 2, backend: { type: 'local', root: './b', createRoot: true } },
      ],
    });
    return { cwd, a: path.join(cwd, 'a'), b: path.join(cwd, 'b') };
  }

  it('--checksum re-copies an object of the same size but other content; without it, size decides', async () => {
    const { cwd, a, b } = await setup();
    await mkdir(path.join(a, 'hls/cam1'), { recursive: true });
    await mkdir(path.join(b, 'hls/cam1'), { recursive: true });
    await writeFile(path.join(a, 'hls/cam1/segment_1.ts'), 'AAAA');
    await writeFile(path.join(b, 'hls/cam1/segment_1.ts'), 'BBBB');
    expect((await cli(['migrate', '--from', 'a', '--to', 'b', '--json'], { cwd })).json()).toMatchObject({ skipped: 1, copied: 0 });
    expect(await readFile(path.join(b, 'hls/cam1/segment_1.ts'), 'utf8')).toBe('BBBB');
    expect((await cli(['migrate', '--from', 'a', '--to', 'b', '--checksum', '--json'], { cwd })).json()).toMatchObject({ skipped: 0, copied: 1 });
    expect(await readFile(path.join(b, 'hls/cam1/segment_1.ts'), 'utf8')).toBe('AAAA');
    expect((await cli(['migrate', '--from', 'a', '--to', 'b', '--checksum', '--json'], { cwd })).json()).toMatchObject({ skipped: 1, copied: 0 });
  });

  it('after SIGKILL, temporary files at a local destination are swept by the next run and never listed', async () => {
    const { cwd, a, b } = await setup();
    const sourceDir = path.join(a, 'hls/cam1');
    await mkdir(sourceDir, { recursive: true });
    await Promise.all(Array.from({ length: 300 }, (_, i) => writeFile(path.join(sourceDir, `segment_${i}.ts`), randomBytes(256 * 1024))));
    const child = spawn(process.execPath, [bin, 'migrate', '--from', 'a', '--to', 'b', '--quiet'], { cwd, env: { PATH: process.env.PATH }, stdio: 'ignore' });
    const copies = async (): Promise<number> => (await readdir(path.join(b, 'hls/cam1')).catch(() => [])).length;
    expect(await killWhen(child, async () => (await copies()) >= 30), 'the run ended before it was killed').toBe('SIGKILL');
    expect(await copies()).toBeLessThan(300);
    // What a writer killed mid-write leaves behind: a temporary file of a process that is gone.
    await mkdir(path.join(b, '.flux-storage/tmp'), { recursive: true });
    await writeFile(path.join(b, '.flux-storage/tmp/99999999.abcdef'), 'half a segment');
    // The stream went on while the migration was down: the re-run has at least one object to write.
    await writeFile(path.join(sourceDir, 'segment_300.ts'), randomBytes(1024));
    const rerun = await cli(['migrate', '--from', 'a', '--to', 'b', '--json'], { cwd });
    expect(rerun.json()).toMatchObject({ failed: 0 });
    expect(await readdir(path.join(b, '.flux-storage/tmp'))).toEqual([]);
    const listed = await cli(['ls', 'cam1', '--pool', 'b', '--json'], { cwd });
    expect(listed.json<{ segments: unknown[] }>().segments).toHaveLength(301);
  }, 60_000);

  it.each([
    [['migrate', '--from', 'a', '--to', 'a'], /same pool "a"/],
    [['migrate', '--from', 'a', '--to', 'nope'], /unknown pool "nope"/],
    [['migrate', '--from', 'a'], /required option '--to <pool>'/],
    [['migrate', '--from', 'a', '--to', 'b', '--concurrency', '0'], /--concurrency must be 1 or more/],
    [['migrate', '--from', 'a', '--to', 'b', '--stream', '../etc'], /invalid stream name/],
  ])('refuses %j with exit 2', async (args, message) => {
    const { cwd } = await setup();
    const result = await cli(args, { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
