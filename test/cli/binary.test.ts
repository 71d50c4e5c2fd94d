// One spawn of the built binary, as a user runs it (npm test builds dist/ first).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startOssServer } from '../support/oss-server.js';
import { startRedis } from '../support/redis.js';
import { startS3Server } from '../support/s3rver.js';
import { workdir } from './run.js';

const bin = fileURLToPath(new URL('../../bin/flux-storage.js', import.meta.url));

describe('the built binary', () => {
  it('puts and lists a segment, exits with the documented codes', async () => {
    expect(existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))), 'run `npm run build` (npm test does)').toBe(true);
    const cwd = await workdir();
    await writeFile(path.join(cwd, 'segment_4.ts'), Buffer.alloc(188, 0x47));
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH };
    const put = await run(process.execPath, [bin, 'put', 'cam1', 'segment_4.ts', '--json'], { cwd, env });
    expect(JSON.parse(put.stdout)).toMatchObject({ segments: [{ id: 4, pool: 'local', size: 188 }] });
    const ls = await run(process.execPath, [bin, 'ls', 'cam1', '--json'], { cwd, env });
    expect(JSON.parse(ls.stdout).segments).toHaveLength(1);
    const missing = await run(process.execPath, [bin, 'get', 'cam1', '5', '-o', 'x.ts'], { cwd, env }).catch((error: { code: number; stderr: string }) => error);
    expect(missing).toMatchObject({ code: 3 });
    expect((missing as { stderr: string }).stderr).toMatch(/error: key "hls\/cam1\/segment_5\.ts": no pool holds this object/);
  });
});

describe('the built binary on every backend type (the SDKs as the CLI loads them: vendored with a code cache, or from node_modules)', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  it.each([
    ['s3 (s3rver)', async () => (await keep(startS3Server())).poolOptions()],
    ['redis', async () => (await keep(startRedis())).poolOptions()],
    ['oss', async () => (await keep(startOssServer())).poolOptions()],
  ] as const)('%s: put, ls, get, rm of three segments', async (_name, backend) => {
    const cwd = await workdir({ pools: [{ name: 'remote', priority: 1, retries: 0, timeoutMs: 5000, backend: await backend() }] });
    const bytes = (id: number): Buffer => Buffer.alloc(188 * (id + 1), 0x47);
    for (const id of [1, 2, 3]) await writeFile(path.join(cwd, `segment_${id}.ts`), bytes(id));
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH };
    const flux = (...args: string[]) => run(process.execPath, [bin, ...args], { cwd, env });
    const put = await flux('put', 'cam1', 'segment_1.ts', 'segment_2.ts', 'segment_3.ts', '--json');
    expect(JSON.parse(put.stdout).segments.map((s: { pool: string }) => s.pool)).toEqual(['remote', 'remote', 'remote']);
    const ls = await flux('ls', 'cam1', '--json');
    expect(JSON.parse(ls.stdout).segments.map((s: { id: number; size: number }) => [s.id, s.size])).toEqual([[1, 376], [2, 564], [3, 752]]);
    await flux('get', 'cam1', '2', '-o', 'copy.ts');
    expect(await readFile(path.join(cwd, 'copy.ts'))).toEqual(bytes(2));
    await flux('rm', 'cam1', '1');
    expect(JSON.parse((await flux('ls', 'cam1', '--json')).stdout).segments.map((s: { id: number }) => s.id)).toEqual([2, 3]);
  }, 60_000);

  async function keep<T extends { close(): Promise<void> }>(server: Promise<T>): Promise<T> {
    const started = await server;
    servers.push(started);
    return started;
  }
});
