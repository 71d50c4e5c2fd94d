// One config with four pools on loopback (S3, OSS, Redis, local): every everyday command across
// them, failover when a server stops, and no secret in any output. The S3 pool is s3rver once and
// Ceph RGW (a real S3 server) once.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOssServer, type OssTestServer } from '../support/oss-server.js';
import { describeWithRedis, startRedis, type RedisTestServer } from '../support/redis.js';
import { describeWithCeph, startRgwServer } from '../support/ceph.js';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';
import { cli, workdir } from './run.js';

const REDIS_PASSWORD = 'redis-pass-7f3a9c';

const S3_SERVERS = [
  { label: 's3rver', start: startS3Server, describe: (name: string, body: () => void) => describe(name, body) },
  { label: 'Ceph RGW', start: startRgwServer, describe: describeWithCeph },
] as const;

for (const { label, start, describe: describeOn } of S3_SERVERS) describeOn(`S3 on ${label}`, () => describeWithRedis('four pools on loopback', () => {
  let s3: S3TestServer;
  let oss: OssTestServer;
  let redis: RedisTestServer;
  let cwd: string;
  const env = (): NodeJS.ProcessEnv => ({ OSS_SECRET: oss.accessKeySecret, REDIS_PASSWORD });

  beforeAll(async () => {
    [s3, oss, redis] = await Promise.all([start(), startOssServer(), startRedis({ requirepass: REDIS_PASSWORD })]);
    const redisOptions = redis.poolOptions();
    cwd = await workdir({
      pools: [
        { name: 's3', priority: 1, backend: s3.poolOptions({ connectTimeoutMs: 500, retries: 1 }) },
        { name: 'oss', priority: 2, backend: { ...oss.poolOptions({ timeoutMs: 2000 }), accessKeySecret: '${OSS_SECRET}' } },
        { name: 'redis', priority: 3, backend: { ...redisOptions, url: `redis://:\${REDIS_PASSWORD}@127.0.0.1:${redis.port}` } },
        { name: 'disk', priority: 4, backend: { type: 'local', root: './disk', createRoot: true } },
      ],
    });
    for (const id of [1, 2, 3, 4]) await writeFile(path.join(cwd, `segment_${id}.ts`), Buffer.alloc(1000 + id, id));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([s3?.close(), oss?.close(), redis?.close()]);
  });

  const run = (args: string[]) => cli(args, { cwd, env: env() });
  const poolOf = async (args: string[]): Promise<{ pool: string; failedOver: string[] }> => {
    const result = await run([...args, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const segment = result.json<{ segments: { pool: string; failedOver: { pool: string }[] }[] }>().segments[0]!;
    return { pool: segment.pool, failedOver: segment.failedOver.map((f) => f.pool) };
  };

  it('put lands in the preferred pool, and fails over when its server is stopped', async () => {
    expect(await poolOf(['put', 'cam1', 'segment_1.ts'])).toEqual({ pool: 's3', failedOver: [] });
    await s3.stop();
    const started = Date.now();
    expect(await poolOf(['put', 'cam1', 'segment_2.ts'])).toEqual({ pool: 'oss', failedOver: ['s3'] });
    expect(Date.now() - started).toBeLessThan(5000);
    await oss.stop();
    expect(await poolOf(['put', 'cam1', 'segment_3.ts'])).toEqual({ pool: 'redis', failedOver: ['s3', 'oss'] });
    await Promise.all([s3.start(), oss.start()]);
    expect(await poolOf(['put', 'cam1', 'segment_4.ts', '--pool', 'disk'])).toEqual({ pool: 'disk', failedOver: [] });
    expect(await poolOf(['put', 'cam1', 'segment_4.ts', '--pool', 'redis'])).toEqual({ pool: 'redis', failedOver: [] });
  }, 60_000);

  it('ls shows which pools hold each segment, get finds it wherever it is', async () => {
    const listed = await run(['ls', 'cam1', '--json']);
    expect(listed.code).toBe(0);
    expect(listed.json<{ segments: { id: number; pools: string[] }[] }>().segments.map((s) => [s.id, s.pools])).toEqual([
      [1, ['s3']],
      [2, ['oss']],
      [3, ['redis']],
      [4, ['redis', 'disk']],
    ]);
    const streams = await run(['ls', '--json']);
    expect(streams.json()).toMatchObject({ streams: [{ stream: 'cam1', segments: 4, pools: ['s3', 'oss', 'redis', 'disk'] }] });
    for (const id of [1, 2, 3, 4]) {
      const got = await run(['get', 'cam1', String(id)]);
      expect(got.code).toBe(0);
      expect(got.stdoutBytes.equals(Buffer.alloc(1000 + id, id))).toBe(true);
    }
  });

  it('rm removes a segment from every pool', async () => {
    const removed = await run(['rm', 'cam1', '4', '--json']);
    expect(removed.json()).toMatchObject({ removed: [{ id: 4, deletedFrom: ['redis', 'disk'] }] });
    expect((await run(['get', 'cam1', '4', '-o', 'x.ts'])).code).toBe(3);
  });

  it('pools status shows each pool healthy with latency and usage, and a stopped server unhealthy within seconds', async () => {
    const healthy = await run(['pools', 'status', '--json']);
    expect(healthy.code, healthy.stderr).toBe(0);
    type Status = { name: string; type: string; health: string; probe: { ok: boolean; latencyMs: number }; usage: { usedBytes: number | null } };
    const pools = healthy.json<{ pools: Status[] }>().pools;
    expect(pools.map((p) => [p.name, p.type, p.health, p.probe.ok])).toEqual([
      ['s3', 's3', 'healthy', true],
      ['oss', 'oss', 'healthy', true],
      ['redis', 'redis', 'healthy', true],
      ['disk', 'local', 'healthy', true],
    ]);
    expect(pools.find((p) => p.name === 'redis')?.usage.usedBytes).toBeGreaterThan(0);
    expect(pools.find((p) => p.name === 'disk')?.usage.usedBytes).toBeGreaterThan(0);
    await redis.stop();
    try {
      const started = Date.now();
      const down = await run(['pools', 'status', '--json']);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(down.code).toBe(1);
      expect(down.json<{ pools: Status[] }>().pools.find((p) => p.name === 'redis')?.health).toBe('unhealthy');
      for (const text of [down.stdout, down.stderr]) expect(text).not.toContain(REDIS_PASSWORD);
      const table = await run(['pools', 'status']);
      expect(table.stdout).toMatch(/redis .*unhealthy/);
      expect(table.stderr).toMatch(/pool "redis" \(redis\)/);
      expect(table.stderr).not.toContain(REDIS_PASSWORD);
    } finally {
      await redis.start();
    }
  }, 30_000);

  it('never shows a secret, in output or in errors', async () => {
    const outputs = [await run(['pools', 'status', '--json']), await run(['ls', '--json']), await run(['get', 'cam1', '1', '--pool', 'nope'])];
    await oss.stop();
    outputs.push(await run(['get', 'cam1', '2', '--pool', 'oss', '-o', 'y.ts']));
    await oss.start();
    for (const result of outputs) {
      // s3rver's secret is the fixed word S3RVER; RGW's is random, so it is checked too.
      for (const secret of [REDIS_PASSWORD, oss.accessKeySecret, ...(s3.kind === 'rgw' ? [s3.secretAccessKey] : [])]) {
        expect(result.stdout).not.toContain(secret);
        expect(result.stderr).not.toContain(secret);
      }
    }
  });
}));
