// pools status and put under the pool policy, driven as commands: a read-only pool is probed
// without a write (s3rver's request log, the local folder), a full pool alerts with exit 1, put
// names the pool it skipped, and put --pool on a read-only pool is refused with nothing written.

import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3TestServer } from '../support/s3rver.js';
import { cli, workdir } from './run.js';

interface Status {
  name: string;
  health: string;
  takesWrites: boolean;
  probe: { ok: boolean; mode: string };
  noWrites: { reason: string; detail: string } | null;
}

async function tree(dir: string): Promise<string[]> {
  return existsSync(dir) ? ((await readdir(dir, { recursive: true })) as string[]).sort() : [];
}

describe('pools status on a read-only pool', () => {
  let s3: S3TestServer;
  beforeAll(async () => {
    s3 = await startS3Server();
  }, 60_000);
  afterAll(async () => {
    await s3?.close();
  });

  it('probes S3 and a local folder without writing to either: healthy, no writes, exit 0', async () => {
    const cwd = await workdir({
      pools: [
        { name: 'archive', readOnly: true, backend: s3.poolOptions() },
        { name: 'old-disk', readOnly: true, priority: 2, backend: { type: 'local', root: './old' } },
      ],
    });
    await mkdir(path.join(cwd, 'old'));
    await s3.resetRequests();
    const result = await cli(['pools', 'status', '--json'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    const pools = result.json<{ pools: Status[] }>().pools;
    expect(pools.map((p) => [p.name, p.health, p.probe.ok, p.probe.mode, p.takesWrites, p.noWrites?.reason])).toEqual([
      ['archive', 'healthy', true, 'read-only', false, 'read-only'],
      ['old-disk', 'healthy', true, 'read-only', false, 'read-only'],
    ]);
    const requests = await s3.requests();
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD')).toEqual([]);
    expect(await tree(path.join(cwd, 'old'))).toEqual([]);
  });

  it('a writable S3 pool is still probed by a write, read back and delete', async () => {
    const cwd = await workdir({ pools: [{ name: 's3', backend: s3.poolOptions() }] });
    await s3.resetRequests();
    const result = await cli(['pools', 'status', '--json'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json<{ pools: Status[] }>().pools[0]?.probe.mode).toBe('read-write');
    const methods = (await s3.requests()).map((r) => r.method);
    expect(methods).toEqual(expect.arrayContaining(['PUT', 'GET', 'DELETE']));
  });
});

describe('a pool over its maxUsagePercent', () => {
  async function setup(): Promise<string> {
    // Any disk holding this folder is more than 0% used: maxUsagePercent 0 is below its usage.
    const cwd = await workdir({
      pools: [
        { name: 'full', priority: 1, maxUsagePercent: 0, backend: { type: 'local', root: './full', createRoot: true } },
        { name: 'roomy', priority: 2, backend: { type: 'local', root: './roomy', createRoot: true } },
      ],
    });
    await writeFile(path.join(cwd, 'segment_1.ts'), Buffer.alloc(100, 1));
    await writeFile(path.join(cwd, 'segment_2.ts'), Buffer.alloc(100, 2));
    return cwd;
  }

  it('pools status shows why it takes no writes and exits 1, though the pool is healthy', async () => {
    const cwd = await setup();
    const result = await cli(['pools', 'status', '--json'], { cwd });
    expect(result.code).toBe(1);
    const pools = result.json<{ pools: Status[] }>().pools;
    expect(pools.map((p) => [p.name, p.health, p.takesWrites, p.noWrites?.reason ?? null])).toEqual([
      ['full', 'healthy', false, 'full'],
      ['roomy', 'healthy', true, null],
    ]);
    expect(pools[0]?.noWrites?.detail).toMatch(/^\d+\.\d% full, over its 0% limit \(maxUsagePercent\)$/);
    expect(result.stderr).toMatch(/warning: pool "full" takes no writes: \d+\.\d% full, over its 0% limit/);
    const table = await cli(['pools', 'status'], { cwd });
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/full .*no \(full\)/);
    expect((await cli(['pools', 'status', '--pool', 'roomy'], { cwd })).code).toBe(0);
  });

  it('put lands below it and warns once, naming the pool it skipped and why', async () => {
    const cwd = await setup();
    const result = await cli(['put', 'cam1', 'segment_1.ts', 'segment_2.ts', '--json'], { cwd });
    expect(result.code, result.stderr).toBe(0);
    expect(result.json<{ segments: { pool: string }[] }>().segments.map((s) => s.pool)).toEqual(['roomy', 'roomy']);
    const warnings = result.stderr.split('\n').filter((line) => line.includes('skipped pool'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/warning: skipped pool "full": would be \d+\.\d% full, over its 0% limit/);
  });
});

describe('put --pool on a read-only pool', () => {
  it('is refused with exit 2 and a message naming the pool; nothing is written anywhere', async () => {
    const cwd = await workdir({
      pools: [
        { name: 'archive', readOnly: true, backend: { type: 'local', root: './archive', createRoot: true } },
        { name: 'ssd', priority: 2, backend: { type: 'local', root: './ssd', createRoot: true } },
      ],
    });
    await writeFile(path.join(cwd, 'segment_1.ts'), Buffer.alloc(10));
    const result = await cli(['put', 'cam1', 'segment_1.ts', '--pool', 'archive'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pool "archive" is read-only/);
    expect((await tree(path.join(cwd, 'archive'))).filter((f) => f.startsWith('hls'))).toEqual([]);
    expect((await tree(path.join(cwd, 'ssd'))).filter((f) => f.startsWith('hls'))).toEqual([]);
  });
});
