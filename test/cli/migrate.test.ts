// migrate: verified, resumable copies between pools, against a real s3rver. Includes SIGKILL of the
// built binary at fixed points of its progress and a destination server stopped mid-run.

import * as v from 'valibot';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Backend } from '../../src/backends/s3/index.js';
import { s3OptionsSchema } from '../../src/backends/s3/options.js';
import { loadConfig } from '../../src/config/load.js';
import { openStorage } from '../../src/config/open.js';
import { describeWithRedis, redisServerAvailable, startRedis, type RedisTestServer } from '../support/redis.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';
import { cli, workdir } from './run.js';
import { inTerminal } from './terminal.js';

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
    // Grouped by cause: one line per step and reason with a count and examples, not one per object.
    expect(result.stderr).toMatch(/^error: \d+ (objects?|cop(y|ies)) (at s3 )?not .*: (Unavailable|Timeout) .*e\.g\. hls\/cam\d\/segment_\d+\.ts/m);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('error:')).length).toBeLessThanOrEqual(6);
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

  it('Ctrl-C stops starting copies, aborts those in flight (not failures), prints the summary and exits 130', async () => {
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
    // Copies in flight at Ctrl-C were aborted: not counted, not failed. One whose PUT the server had
    // already taken is found at the destination, proven identical, and skipped by the re-run.
    const again = rerun.json<{ copied: number; skipped: number; failed: number }>();
    expect(again.failed).toBe(0);
    expect(again.copied + again.skipped).toBe(expected.size);
    expect(again.skipped).toBeGreaterThanOrEqual(summary.copied);
    expect(again.skipped).toBeLessThanOrEqual(summary.copied + 4);
    expect(await s3Contents()).toEqual(expected);
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

  it('re-copies an object of the same size but other content, with or without --checksum; an identical one is skipped', async () => {
    const { cwd, a, b } = await setup();
    await mkdir(path.join(a, 'hls/cam1'), { recursive: true });
    await mkdir(path.join(b, 'hls/cam1'), { recursive: true });
    await writeFile(path.join(a, 'hls/cam1/segment_1.ts'), 'AAAA');
    await writeFile(path.join(b, 'hls/cam1/segment_1.ts'), 'BBBB');
    expect((await cli(['migrate', '--from', 'a', '--to', 'b', '--json'], { cwd })).json()).toMatchObject({ skipped: 0, copied: 1 });
    expect(await readFile(path.join(b, 'hls/cam1/segment_1.ts'), 'utf8')).toBe('AAAA');
    await writeFile(path.join(b, 'hls/cam1/segment_1.ts'), 'CCCC');
    expect((await cli(['migrate', '--from', 'a', '--to', 'b', '--checksum', '--json'], { cwd })).json()).toMatchObject({ skipped: 0, copied: 1 });
    expect(await readFile(path.join(b, 'hls/cam1/segment_1.ts'), 'utf8')).toBe('AAAA');
    expect((await cli(['migrate', '--from', 'a', '--to', 'b', '--checksum', '--json'], { cwd })).json()).toMatchObject({ skipped: 1, copied: 0 });
  });

  it("a producer's temporary files are not copied and are said so (a notice, and --json); other files are copied and counted", async () => {
    const { cwd, a, b } = await setup();
    await mkdir(path.join(a, 'hls/cam1'), { recursive: true });
    await writeFile(path.join(a, 'hls/cam1/segment_1.ts'), 'AAAA');
    await writeFile(path.join(a, 'hls/cam1/segment_2.ts.tmp'), 'half');
    await writeFile(path.join(a, 'hls/cam1/index.m3u8.bak'), '#EXTM3U\n');
    await writeFile(path.join(a, 'hls/cam1/notes.txt'), 'roof camera');
    const table = await cli(['migrate', '--from', 'a', '--to', 'b'], { cwd });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stderr).toMatch(/2 temporary files of a producer \(\*\.tmp, \*\.bak, \*\.part; 12 B\) were not copied: they are still being written/);
    expect((await readdir(path.join(b, 'hls/cam1'))).sort()).toEqual(['notes.txt', 'segment_1.ts']);
    const json = (await cli(['migrate', '--from', 'a', '--to', 'b', '--json'], { cwd })).json();
    expect(json).toMatchObject({ skipped: 2, others: 1, temp: { count: 2, bytes: 12, keys: ['hls/cam1/index.m3u8.bak', 'hls/cam1/segment_2.ts.tmp'] } });
  });

  it('--stream of a stream the source does not hold is reported on stderr with exit 3; the others are copied', async () => {
    const { cwd, a, b } = await setup();
    await mkdir(path.join(a, 'hls/cam1'), { recursive: true });
    await writeFile(path.join(a, 'hls/cam1/segment_1.ts'), 'AAAA');
    const result = await cli(['migrate', '--from', 'a', '--to', 'b', '--stream', 'cam1', 'cma1', '--json'], { cwd });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/stream "cma1": pool "a" holds nothing of it/);
    expect(result.json()).toMatchObject({ copied: 1, unknownStreams: ['cma1'] });
    expect(await readFile(path.join(b, 'hls/cam1/segment_1.ts'), 'utf8')).toBe('AAAA');
    expect((await cli(['migrate', '--from', 'a', '--to', 'b', '--stream', 'cam1', '--json'], { cwd })).code).toBe(0);
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

// ---------------------------------------------------------------------------------------------
// Never lose a segment (issue 9): one store under two pool entries, "already there" meaning the same
// bytes, the bytes read checked against the source's md5; and the operator's view (issue 11/12):
// failures grouped by cause, the dry-run plan, --shard.

/** The pools of a working folder's config, opened the way the CLI opens them. */
async function openPools(cwd: string) {
  const { config, baseDir } = await loadConfig({ cwd, env: { PATH: process.env.PATH } });
  const storage = await openStorage(config, { baseDir });
  return { pool: (name: string) => storage.manager.pool(name), close: () => storage.manager.close() };
}

const segment = (stream: string, id: number): string => `hls/${stream}/segment_${id}.ts`;

describe('migrate: never lose a segment', () => {
  let s3: S3TestServer;
  let redis: RedisTestServer | undefined;
  beforeAll(async () => {
    s3 = await startS3Server();
    if (redisServerAvailable()) redis = await startRedis();
  });
  afterAll(async () => {
    await s3?.close();
    await redis?.close();
  });

  describe('migrate: one store under two pool entries is refused before anything changes', () => {
    type Case = [string, (cwd: string) => Promise<[unknown, unknown]>];
    const cases: Case[] = [
      ['one folder spelled ./data and data/../data', async () => [{ type: 'local', root: './data' }, { type: 'local', root: 'data/../data' }]],
      [
        'a symlinked root',
        async (cwd) => {
          await mkdir(path.join(cwd, 'real'), { recursive: true });
          await symlink(path.join(cwd, 'real'), path.join(cwd, 'link'));
          return [{ type: 'local', root: './real' }, { type: 'local', root: './link' }];
        },
      ],
      ['one s3rver bucket under two configs', async () => [s3.poolOptions(), s3.poolOptions({ region: 'eu-west-1', endpoint: `${s3.endpoint}/` })]],
    ];
    const redisCases: Case[] = [
      [
        'one Redis database and key prefix under two URLs',
        async () => {
          const options = redis!.poolOptions();
          return [options, { ...options, url: `redis://127.0.0.1:${redis!.port}/0` }];
        },
      ],
    ];

    it.each([...cases, ...(redisServerAvailable() ? redisCases : [])])('%s: exit 2 naming both pools, nothing deleted, no marker left', async (_name, backends) => {
      const cwd = await workdir();
      await mkdir(path.join(cwd, 'data'), { recursive: true });
      const [a, b] = await backends(cwd);
      await writeFile(path.join(cwd, 'storage.config.json'), JSON.stringify({ pools: [{ name: 'old', priority: 1, backend: a }, { name: 'new', priority: 2, backend: b }] }));
      const pools = await openPools(cwd);
      const keys = [segment('same', 0), segment('same', 1), segment('same', 2)];
      for (const key of keys) await pools.pool('old').write(key, Buffer.from(`bytes of ${key}`));
      const result = await cli(['migrate', '--from', 'old', '--to', 'new', '--delete-source', '--json'], { cwd });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(/^error: pools "old" and "new" are one store .*the only copy/m);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      for (const key of keys) expect((await pools.pool('old').read(key)).toString()).toBe(`bytes of ${key}`);
      await pools.close();
      for (const key of keys) await pools.pool('old').delete(key).catch(() => undefined);
    });

    it('different folders, buckets and key prefixes are migrated as usual', async () => {
      const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
      const otherBucket = `${s3.bucket}-two`;
      await client.send(new CreateBucketCommand({ Bucket: otherBucket }));
      client.destroy();
      const pairs: [unknown, unknown][] = [
        [{ type: 'local', root: './one' }, { type: 'local', root: './two' }],
        [s3.poolOptions(), s3.poolOptions({ bucket: otherBucket })],
        ...(redis === undefined ? [] : [[redis.poolOptions(), redis.poolOptions()] as [unknown, unknown]]),
      ];
      for (const [a, b] of pairs) {
        const cwd = await workdir({ pools: [{ name: 'old', priority: 1, backend: a }, { name: 'new', priority: 2, backend: b }] });
        await mkdir(path.join(cwd, 'one'));
        await mkdir(path.join(cwd, 'two'));
        const pools = await openPools(cwd);
        for (let id = 0; id < 3; id++) await pools.pool('old').write(segment('diff', id), Buffer.from(`segment ${id}`));
        const result = await cli(['migrate', '--from', 'old', '--to', 'new', '--delete-source', '--json'], { cwd });
        expect(result.code, result.stderr).toBe(0);
        expect(result.json()).toMatchObject({ copied: 3, deleted: 3, failed: 0 });
        for (let id = 0; id < 3; id++) expect((await pools.pool('new').read(segment('diff', id))).toString()).toBe(`segment ${id}`);
        expect(await pools.pool('old').exists(segment('diff', 0))).toBe(false);
        await pools.close();
      }
    }, 60_000);
  });

  describe('migrate: "already there" means the same bytes; the bytes read match the source', () => {
    const destinations = (): [string, () => unknown][] => [
      ['local', () => ({ type: 'local', root: './dst' })],
      ['s3', () => s3.poolOptions()],
      ...(redisServerAvailable() ? [['redis', () => redis!.poolOptions()] as [string, () => unknown]] : []),
    ];

    async function setup(destination: unknown) {
      const cwd = await workdir({ pools: [{ name: 'src', priority: 1, backend: { type: 'local', root: './src' } }, { name: 'dst', priority: 2, backend: destination }] });
      await mkdir(path.join(cwd, 'src'));
      await mkdir(path.join(cwd, 'dst'));
      return { cwd, pools: await openPools(cwd) };
    }

    it.each(destinations())('to %s: a same-size segment with other bytes is re-copied, and its source deleted only as the proven copy', async (_type, destination) => {
      const { cwd, pools } = await setup(destination());
      const stream = `restart${randomBytes(3).toString('hex')}`;
      // A stream whose ids restarted: today's segment 7 has the size of yesterday's, other bytes.
      const today = randomBytes(4096);
      const yesterday = randomBytes(4096);
      await pools.pool('src').write(segment(stream, 7), today);
      await pools.pool('dst').write(segment(stream, 7), yesterday);
      const result = await cli(['migrate', '--from', 'src', '--to', 'dst', '--stream', stream, '--delete-source', '--json'], { cwd });
      expect(result.code, result.stderr).toBe(0);
      expect(result.json()).toMatchObject({ planned: 1, copied: 1, skipped: 0, deleted: 1, failed: 0 });
      expect(sha(await pools.pool('dst').read(segment(stream, 7)))).toBe(sha(today));
      expect(await pools.pool('src').exists(segment(stream, 7))).toBe(false);
      await pools.close();
    });

    it.each(destinations())('to %s: a corrupt copy left under its final key is replaced, and an identical one is skipped', async (_type, destination) => {
      const { cwd, pools } = await setup(destination());
      const stream = `fix${randomBytes(3).toString('hex')}`;
      const good = randomBytes(10_000);
      const damaged = Buffer.from(good);
      damaged[5000] = damaged[5000]! ^ 0xff;
      await pools.pool('src').write(segment(stream, 1), good);
      await pools.pool('src').write(segment(stream, 2), Buffer.from('already there'));
      await pools.pool('dst').write(segment(stream, 1), damaged);
      await pools.pool('dst').write(segment(stream, 2), Buffer.from('already there'));
      const first = await cli(['migrate', '--from', 'src', '--to', 'dst', '--stream', stream, '--json'], { cwd });
      expect(first.json()).toMatchObject({ copied: 1, skipped: 1, failed: 0 });
      expect(sha(await pools.pool('dst').read(segment(stream, 1)))).toBe(sha(good));
      const again = await cli(['migrate', '--from', 'src', '--to', 'dst', '--stream', stream, '--json'], { cwd });
      expect(again.json()).toMatchObject({ copied: 0, skipped: 2, failed: 0 });
      await pools.close();
    });

    it('--size-only skips by size alone, as asked, and is refused with --delete-source (exit 2, nothing deleted)', async () => {
      const { cwd, pools } = await setup({ type: 'local', root: './dst' });
      await pools.pool('src').write(segment('cam1', 1), Buffer.from('AAAA'));
      await pools.pool('dst').write(segment('cam1', 1), Buffer.from('BBBB'));
      expect((await cli(['migrate', '--from', 'src', '--to', 'dst', '--size-only', '--json'], { cwd })).json()).toMatchObject({ copied: 0, skipped: 1 });
      expect((await pools.pool('dst').read(segment('cam1', 1))).toString()).toBe('BBBB');
      const refused = await cli(['migrate', '--from', 'src', '--to', 'dst', '--size-only', '--delete-source'], { cwd });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--size-only cannot be combined with --delete-source/);
      expect((await pools.pool('src').read(segment('cam1', 1))).toString()).toBe('AAAA');
      await pools.close();
    });

    it('a source whose bytes do not match its md5 (a damaged S3 object) is a Corrupt failure: written nowhere, never deleted, exit 1', async () => {
      const cwd = await workdir({ pools: [{ name: 's3', priority: 1, backend: s3.poolOptions() }, { name: 'disk', priority: 2, backend: { type: 'local', root: './disk' } }] });
      await mkdir(path.join(cwd, 'disk'));
      const pools = await openPools(cwd);
      const stream = `rot${randomBytes(3).toString('hex')}`;
      const originals = [randomBytes(3000), randomBytes(3000), randomBytes(3000)];
      for (const [id, data] of originals.entries()) await pools.pool('s3').write(segment(stream, id), data);
      // The disk under the store flips bytes of segment 1: its stored md5 (ETag) stays, the bytes served differ.
      const file = s3.objectFile!(segment(stream, 1));
      const rotten = await readFile(file);
      rotten[100] = rotten[100]! ^ 0x01;
      await writeFile(file, rotten);
      const result = await cli(['migrate', '--from', 's3', '--to', 'disk', '--stream', stream, '--delete-source', '--json'], { cwd });
      expect(result.code).toBe(1);
      const summary = result.json<{ copied: number; deleted: number; failures: { key: string; stage: string; error: { code: string; pool: string } }[] }>();
      expect(summary).toMatchObject({ copied: 2, deleted: 2 });
      expect(summary.failures).toEqual([{ key: segment(stream, 1), stage: 'read', error: expect.objectContaining({ code: 'Corrupt', pool: 's3' }) }]);
      expect(result.stderr).toMatch(/^error: 1 object not read from s3: Corrupt \(the bytes read do not match the md5 the source reports/m);
      expect(await pools.pool('s3').exists(segment(stream, 1))).toBe(true);
      expect(await pools.pool('disk').exists(segment(stream, 1))).toBe(false);
      expect(await pools.pool('s3').exists(segment(stream, 0))).toBe(false);
      expect(sha(await pools.pool('disk').read(segment(stream, 2)))).toBe(sha(originals[2]!));
      // Re-runs never take the damaged object as copied, nor delete it.
      const rerun = await cli(['migrate', '--from', 's3', '--to', 'disk', '--stream', stream, '--delete-source', '--json'], { cwd });
      expect(rerun.code).toBe(1);
      expect(await pools.pool('s3').exists(segment(stream, 1))).toBe(true);
      await pools.close();
    }, 30_000);
  });
});

describe('migrate: what the operator sees', () => {
  async function localPair() {
    const cwd = await workdir({ pools: [{ name: 'a', priority: 1, backend: { type: 'local', root: './a' } }, { name: 'b', priority: 2, backend: { type: 'local', root: './b' } }] });
    await mkdir(path.join(cwd, 'a'));
    await mkdir(path.join(cwd, 'b'));
    return { cwd, pools: await openPools(cwd) };
  }

  it('--dry-run lists the keys it would copy in --json, and per stream counts and bytes on a terminal, writing nothing', async () => {
    const { cwd, pools } = await localPair();
    for (let id = 0; id < 3; id++) await pools.pool('a').write(segment('cam1', id), Buffer.alloc(1024, id));
    for (let id = 0; id < 2; id++) await pools.pool('a').write(segment('cam2', id), Buffer.alloc(2048, id));
    await pools.pool('b').write(segment('cam1', 0), Buffer.alloc(1024, 0));
    const json = await cli(['migrate', '--from', 'a', '--to', 'b', '--dry-run', '--delete-source', '--json'], { cwd });
    expect(json.code, json.stderr).toBe(0);
    const plan = json.json<{ copied: number; skipped: number; deleted: number; plan: { streams: unknown[]; keys: string[] } }>();
    expect(plan).toMatchObject({ copied: 4, skipped: 1, deleted: 0 });
    expect(plan.plan.keys.sort()).toEqual([segment('cam1', 1), segment('cam1', 2), segment('cam2', 0), segment('cam2', 1)]);
    expect(plan.plan.streams).toEqual([
      { stream: 'cam1', copy: 2, copyBytes: 2048, skip: 1 },
      { stream: 'cam2', copy: 2, copyBytes: 4096, skip: 0 },
    ]);
    const table = await cli(['migrate', '--from', 'a', '--to', 'b', '--dry-run'], { cwd, stdoutIsTTY: true });
    expect(table.stdout).toMatch(/cam1 .*2 .*2 KiB .*1/);
    expect(table.stdout).toMatch(/cam2 .*2 .*4 KiB .*0/);
    expect(table.stdout).not.toMatch(/segment_/);
    expect(await pools.pool('b').exists(segment('cam2', 0))).toBe(false);
    expect(await pools.pool('a').exists(segment('cam1', 0))).toBe(true);
    await pools.close();
  });

  it('the built binary with --quiet prints nothing at all on success, 16 copies in flight included', async () => {
    const { cwd } = await localPair();
    await seedLocal(path.join(cwd, 'a'), 2, 100, 1024);
    const child = spawn(process.execPath, [bin, 'migrate', '--from', 'a', '--to', 'b', '--concurrency', '16', '--quiet'], { cwd, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(output).toBe('');
    expect((await localKeys(path.join(cwd, 'b'))).length).toBe(200);
  }, 30_000);

  it('--to a read-only pool is refused with exit 2, nothing written or deleted', async () => {
    const cwd = await workdir({ pools: [{ name: 'a', priority: 1, backend: { type: 'local', root: './a' } }, { name: 'b', priority: 2, readOnly: true, backend: { type: 'local', root: './b' } }] });
    await mkdir(path.join(cwd, 'a'));
    await mkdir(path.join(cwd, 'b'));
    const pools = await openPools(cwd);
    await pools.pool('a').write(segment('cam1', 1), Buffer.from('x'));
    const result = await cli(['migrate', '--from', 'a', '--to', 'b', '--delete-source'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: .*pool "b" is read-only/m);
    expect(await pools.pool('a').exists(segment('cam1', 1))).toBe(true);
    expect(await readdir(path.join(cwd, 'b'))).toEqual([]);
    await pools.close();
  });

  it('--shard K/N: the N runs together copy every stream exactly once', async () => {
    const { cwd, pools } = await localPair();
    const streams = Array.from({ length: 12 }, (_, i) => `cam${i}`);
    for (const stream of streams) for (let id = 0; id < 2; id++) await pools.pool('a').write(segment(stream, id), Buffer.from(`${stream}/${id}`));
    const seen = new Map<string, number>();
    let copied = 0;
    for (let k = 1; k <= 4; k++) {
      const run = await cli(['migrate', '--from', 'a', '--to', 'b', '--shard', `${k}/4`, '--dry-run', '--json'], { cwd });
      const planned = run.json<{ shard: string; plan: { streams: { stream: string; copy: number }[] } }>();
      expect(planned.shard).toBe(`${k}/4`);
      for (const { stream } of planned.plan.streams) seen.set(stream, (seen.get(stream) ?? 0) + 1);
      const real = await cli(['migrate', '--from', 'a', '--to', 'b', '--shard', `${k}/4`, '--json'], { cwd });
      copied += real.json<{ copied: number }>().copied;
    }
    expect([...seen.keys()].sort()).toEqual([...streams].sort());
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(copied).toBe(24);
    for (const stream of streams) expect((await pools.pool('b').read(segment(stream, 1))).toString()).toBe(`${stream}/1`);
    for (const bad of ['0/4', '5/4', '1', 'x/y']) {
      const refused = await cli(['migrate', '--from', 'a', '--to', 'b', '--shard', bad], { cwd });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--shard .*: use K\/N/);
    }
    await pools.close();
  });

  describeWithRedis('into a full Redis', () => {
    let redis: RedisTestServer;
    beforeAll(async () => {
      redis = await startRedis({ maxmemory: '4mb' });
    });
    afterAll(async () => {
      await redis?.close();
    });

    it('failures are grouped by cause on stderr (one line, a count, a few keys), and --json keeps every one', async () => {
      const cwd = await workdir({ pools: [{ name: 'disk', priority: 1, backend: { type: 'local', root: './disk' } }, { name: 'cache', priority: 2, backend: redis.poolOptions() }] });
      await mkdir(path.join(cwd, 'disk'));
      await seedLocal(path.join(cwd, 'disk'), 1, 80, 100 * 1024);
      const result = await cli(['migrate', '--from', 'disk', '--to', 'cache', '--concurrency', '4', '--json'], { cwd });
      expect(result.code).toBe(1);
      const summary = result.json<{ failed: number; failures: { key: string; error: { code: string } }[] }>();
      expect(summary.failed).toBeGreaterThan(10);
      expect(summary.failures).toHaveLength(summary.failed);
      expect(summary.failures.every((f) => f.error.code === 'QuotaExceeded')).toBe(true);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^error: ${summary.failed} objects not copied to cache: QuotaExceeded \\(.*\\), e\\.g\\. hls/cam0/segment_\\d+\\.ts, hls/cam0/segment_\\d+\\.ts, hls/cam0/segment_\\d+\\.ts and ${summary.failed - 3} more$`));
    }, 30_000);
  });

  it('shows a percentage and an ETA at a terminal once the total is known', async () => {
    const { cwd } = await localPair();
    const dir = path.join(cwd, 'a/hls/cam1');
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: 2000 }, (_, i) => writeFile(path.join(dir, `segment_${i}.ts`), randomBytes(8192))));
    const run = inTerminal(['migrate', '--from', 'a', '--to', 'b', '--concurrency', '2'], { cwd });
    await run.waitFor(/migrating a → b: \d{1,2}% · \d+\/2000 done .*ETA \d+/, 60_000);
    run.type('\x03');
    const result = await run.done;
    expect(result.code, result.screen).toBe(130);
    expect(result.screen).toMatch(/PLANNED.*COPIED/);
  }, 90_000);
});
