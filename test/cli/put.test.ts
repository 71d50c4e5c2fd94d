// put's safety, through the built binary and real pipes: bounded inputs, every input checked before
// any is written, empty inputs refused, a pool whose root is missing reported and never created.

import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cli, workdir } from './run.js';
import { BIN } from './terminal.js';

const MAX = 1024 * 1024;
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A folder whose config has one local pool `ssd` (root ./data, created) and maxSegmentBytes 1 MiB. */
async function setup(extra: Record<string, unknown> = {}): Promise<string> {
  const cwd = await workdir({ maxSegmentBytes: MAX, pools: [{ name: 'ssd', backend: { type: 'local', root: './data' } }], ...extra });
  await mkdir(path.join(cwd, 'data'));
  return cwd;
}

/** `<producer> | flux-storage <args>` in bash: the binary's exit status, its stderr, and how long it took. */
async function piped(cwd: string, producer: string, args: string[]): Promise<{ status: number; stderr: string; ms: number }> {
  const started = Date.now();
  const command = `${producer} | ${quote(process.execPath)} ${[BIN, ...args].map(quote).join(' ')} >stdout.txt 2>stderr.txt; echo "\${PIPESTATUS[1]}"`;
  const { stdout } = await promisify(execFile)('bash', ['-c', command], { cwd, env: { PATH: process.env.PATH } });
  return { status: Number(stdout.trim()), stderr: await readFile(path.join(cwd, 'stderr.txt'), 'utf8'), ms: Date.now() - started };
}

async function run(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

const stored = async (cwd: string): Promise<string[]> => (existsSync(path.join(cwd, 'data/hls/cam1')) ? (await readdir(path.join(cwd, 'data/hls/cam1'))).sort() : []);

describe('put: an input larger than maxSegmentBytes is refused, and never read past it', () => {
  it('stdin over the limit: exit 2, one error line naming maxSegmentBytes, nothing stored', async () => {
    const cwd = await setup();
    const result = await piped(cwd, `head -c ${MAX + 1} /dev/zero`, ['put', 'cam1', '-', '--id', '1']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error: stdin is more than 1 MiB, larger than maxSegmentBytes \(1 MiB; set it in the config to store larger segments\): nothing was stored/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await stored(cwd)).toEqual([]);
    expect((await piped(cwd, `head -c ${MAX} /dev/zero`, ['put', 'cam1', '-', '--id', '2'])).status).toBe(0);
    expect(await stored(cwd)).toEqual(['segment_2.ts']);
  });

  it('a pipe that never ends is refused at once, not read to the end', async () => {
    const cwd = await setup();
    const result = await piped(cwd, 'yes', ['put', 'cam1', '-', '--id', '1']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^error: stdin is more than 1 MiB, larger than maxSegmentBytes/);
    expect(result.ms).toBeLessThan(10_000);
    expect(await stored(cwd)).toEqual([]);
  });

  it('a device that never ends (/dev/zero) named as a file, and a file over the limit next to good ones: nothing stored', async () => {
    const cwd = await setup();
    const zero = await run(cwd, ['put', 'cam1', '/dev/zero', '--id', '1']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/^error: \/dev\/zero is more than 1 MiB, larger than maxSegmentBytes/);
    await writeFile(path.join(cwd, 'segment_1.ts'), Buffer.alloc(1000, 1));
    await writeFile(path.join(cwd, 'segment_2.ts'), Buffer.alloc(MAX + 10, 2));
    const big = await run(cwd, ['put', 'cam1', 'segment_1.ts', 'segment_2.ts']);
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/^error: segment_2\.ts is 1 MiB, larger than maxSegmentBytes \(1 MiB;/);
    expect(await stored(cwd)).toEqual([]);
  });
});

describe('put checks every input before writing any', () => {
  it.each([
    ['a directory', async (cwd: string) => mkdir(path.join(cwd, 'segment_3.ts')), /segment_3\.ts is a directory: give segment files: nothing was stored/],
    ['a missing file', async () => undefined, /no such file: segment_3\.ts: nothing was stored/],
    ['a dangling symlink', async (cwd: string) => symlink(path.join(cwd, 'gone.ts'), path.join(cwd, 'segment_3.ts')), /no such file: segment_3\.ts/],
  ])('%s among good files: exit 2, nothing stored', async (_, make, message) => {
    const cwd = await setup();
    await writeFile(path.join(cwd, 'segment_1.ts'), 'one');
    await writeFile(path.join(cwd, 'index.m3u8'), '#EXTM3U\n');
    await make(cwd);
    const result = await run(cwd, ['put', 'cam1', 'segment_1.ts', 'index.m3u8', 'segment_3.ts']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(await stored(cwd)).toEqual([]);
  });

  it('two inputs with the same id (or two playlists): exit 2, nothing stored', async () => {
    const cwd = await setup();
    await mkdir(path.join(cwd, 'other'));
    for (const file of ['segment_1.ts', 'other/segment_1.ts', 'chunk-2.ts', 'segment_2.ts', 'index.m3u8', 'other/index.m3u8']) await writeFile(path.join(cwd, file), file);
    const sameId = await run(cwd, ['put', 'cam1', 'segment_1.ts', 'chunk-2.ts', 'other/segment_1.ts']);
    expect(sameId.code).toBe(2);
    expect(sameId.stderr).toMatch(/^error: segment_1\.ts and other\/segment_1\.ts are both segment 1 of cam1: give each once: nothing was stored/);
    expect((await run(cwd, ['put', 'cam1', 'chunk-2.ts', 'segment_2.ts'])).code).toBe(2);
    expect((await run(cwd, ['put', 'cam1', 'index.m3u8', 'other/index.m3u8'])).stderr).toMatch(/both the playlist of cam1/);
    expect(await stored(cwd)).toEqual([]);
  });

  it('an empty input does not replace a segment, unless --allow-empty', async () => {
    const cwd = await setup();
    await writeFile(path.join(cwd, 'segment_5.ts'), 'the real segment');
    expect((await run(cwd, ['put', 'cam1', 'segment_5.ts'])).code).toBe(0);
    await mkdir(path.join(cwd, 'died'));
    await writeFile(path.join(cwd, 'died/segment_5.ts'), '');
    const empty = await run(cwd, ['put', 'cam1', 'died/segment_5.ts']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^error: died\/segment_5\.ts is empty \(0 bytes; did its producer die\?\); give --allow-empty to store it anyway: nothing was stored/);
    expect((await piped(cwd, 'true', ['put', 'cam1', '-', '--id', '5'])).stderr).toMatch(/^error: stdin is empty/);
    expect(await readFile(path.join(cwd, 'data/hls/cam1/segment_5.ts'), 'utf8')).toBe('the real segment');
    // A new segment too: an empty .ts is never a playable segment.
    await writeFile(path.join(cwd, 'segment_6.ts'), '');
    expect((await run(cwd, ['put', 'cam1', 'segment_6.ts'])).code).toBe(2);
    expect(await stored(cwd)).toEqual(['segment_5.ts']);
    const allowed = await run(cwd, ['put', 'cam1', 'died/segment_5.ts', '--allow-empty', '--json']);
    expect(allowed.code).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ segments: [{ id: 5, size: 0 }] });
    expect(await readFile(path.join(cwd, 'data/hls/cam1/segment_5.ts'), 'utf8')).toBe('');
  });
});

describe('put to a pool whose root does not exist', () => {
  async function twoPools(): Promise<string> {
    const cwd = await workdir({
      pools: [
        { name: 'disk1', priority: 1, backend: { type: 'local', root: './mnt/disk1/hls' } },
        { name: 'spare', priority: 2, backend: { type: 'local', root: './spare', createRoot: true } },
      ],
    });
    await mkdir(path.join(cwd, 'mnt'));
    await writeFile(path.join(cwd, 'segment_1.ts'), 'one');
    return cwd;
  }

  it('fails over, names the missing path, and creates nothing there', async () => {
    const cwd = await twoPools();
    const result = await run(cwd, ['put', 'cam1', 'segment_1.ts', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ segments: [{ id: 1, pool: 'spare', failedOver: [{ pool: 'disk1' }] }] });
    expect(result.stderr).toContain(`the root ${path.join(cwd, 'mnt/disk1/hls')} does not exist`);
    expect(await readdir(path.join(cwd, 'mnt'))).toEqual([]);
    expect(await readFile(path.join(cwd, 'spare/hls/cam1/segment_1.ts'), 'utf8')).toBe('one');
  });

  it('with --pool: exit 1 naming the path; pools status shows it unhealthy', async () => {
    const cwd = await twoPools();
    const result = await run(cwd, ['put', 'cam1', 'segment_1.ts', '--pool', 'disk1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the root ${path.join(cwd, 'mnt/disk1/hls')} does not exist`);
    const status = await cli(['pools', 'status', '--json'], { cwd });
    expect(status.code).toBe(1);
    const pools = status.json<{ pools: { name: string; health: string; probe: { ok: boolean; error?: { message: string } } }[] }>().pools;
    expect(pools.find((p) => p.name === 'disk1')).toMatchObject({ health: 'unhealthy', probe: { ok: false, error: { message: expect.stringContaining('mnt/disk1/hls does not exist') } } });
    expect(await readdir(path.join(cwd, 'mnt'))).toEqual([]);
  });
});

describe('a stream folder that is a symlink, through every command', () => {
  it('is not listed, read, deleted, cleaned or written through; what it points to stays', async () => {
    const cwd = await setup();
    const outside = await workdir();
    await mkdir(path.join(outside, 'cam9'));
    await writeFile(path.join(outside, 'cam9/segment_1.ts'), 'outside bytes');
    await writeFile(path.join(cwd, 'segment_1.ts'), 'inside bytes');
    expect((await cli(['put', 'cam1', 'segment_1.ts'], { cwd })).code).toBe(0);
    await symlink(path.join(outside, 'cam9'), path.join(cwd, 'data/hls/cam9'));
    await symlink(path.join(cwd, 'data/hls/cam1'), path.join(cwd, 'data/hls/cam2'));
    const ls = await cli(['ls', '--json'], { cwd });
    expect(ls.json<{ streams: { stream: string }[] }>().streams.map((s) => s.stream)).toEqual(['cam1']);
    for (const stream of ['cam9', 'cam2']) {
      expect((await cli(['get', stream, '1', '-o', 'x.ts'], { cwd })).code).toBe(3);
      expect((await cli(['rm', stream, '1'], { cwd })).code).toBe(3);
      expect((await cli(['put', stream, 'segment_1.ts'], { cwd })).code).toBe(1);
    }
    expect((await cli(['cleanup', '--all', '--keep', '0', '--min-age', '0s'], { cwd })).code).toBeLessThan(2);
    expect(await readFile(path.join(outside, 'cam9/segment_1.ts'), 'utf8')).toBe('outside bytes');
    expect(await readdir(path.join(outside, 'cam9'))).toEqual(['segment_1.ts']);
  });
});

describe('put shows progress like migrate and cleanup (issue 11)', () => {
  it('a spinner with counts in a terminal, nothing of it with --quiet', async () => {
    const cwd = await workdir({ pools: [{ name: 'ssd', backend: { type: 'local', root: './ssd', createRoot: true } }] });
    const files = Array.from({ length: 300 }, (_, i) => `segment_${i}.ts`);
    await Promise.all(files.map((f) => writeFile(path.join(cwd, f), Buffer.alloc(188, 0x47))));
    const run = (extra: string): Promise<string> =>
      promisify(execFile)('script', ['-qec', `stty cols 100 rows 40; ${quote(process.execPath)} ${quote(BIN)} put cam1 ${files.join(' ')} ${extra}`, '/dev/null'], {
        cwd,
        env: { PATH: process.env.PATH, TERM: 'xterm' },
        maxBuffer: 64 << 20,
      }).then((r) => r.stdout);
    expect(await run('')).toMatch(/put cam1: (storing 300 files|\d+ of 300 files stored)/);
    const quiet = await run('--quiet');
    expect(quiet).not.toMatch(/put cam1:/);
    expect(quiet.trim()).toBe('');
  }, 60_000);

  it('a line every few seconds when stderr is not a terminal', async () => {
    // The first pool accepts connections and never answers: the write waits out its 7 s deadline.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const cwd = await workdir({
        pools: [
          { name: 'silent', priority: 1, timeoutMs: 7000, retries: 0, backend: { type: 'oss', endpoint: `http://127.0.0.1:${port}`, bucket: 'silent-bucket', accessKeyId: 'k', accessKeySecret: 's' } },
          { name: 'ssd', priority: 2, backend: { type: 'local', root: './ssd', createRoot: true } },
        ],
      });
      await writeFile(path.join(cwd, 'segment_1.ts'), Buffer.alloc(188, 0x47));
      const result = await cli(['put', 'cam1', 'segment_1.ts'], { cwd });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/^put cam1: storing 1 file…$/m);
      const quiet = await cli(['put', 'cam1', 'segment_1.ts', '--quiet'], { cwd });
      expect(quiet.stderr).not.toMatch(/put cam1:/);
    } finally {
      silent.close();
    }
  }, 60_000);
});
