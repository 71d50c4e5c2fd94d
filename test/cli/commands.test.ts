// Every everyday command driven in-process, with --json parsed and exit codes checked.

import { readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, workdir } from './run.js';

async function withSegments(dir: string, ids: number[], size = 1000): Promise<string[]> {
  return Promise.all(
    ids.map(async (id) => {
      const file = path.join(dir, `segment_${id}.ts`);
      await writeFile(file, Buffer.alloc(size, id % 256));
      return `segment_${id}.ts`;
    }),
  );
}

async function tree(dir: string): Promise<string[]> {
  return existsSync(dir) ? ((await readdir(dir, { recursive: true })) as string[]).sort() : [];
}

describe('on the embedded default (no config file)', () => {
  it('stores, lists, fetches and deletes segments under ./flux-data', async () => {
    const cwd = await workdir();
    const files = await withSegments(cwd, [1, 2, 10]);
    const put = await cli(['put', 'cam1', ...files, '--json'], { cwd });
    expect(put.code).toBe(0);
    expect(put.stderr).toBe('');
    expect(put.json<{ segments: { id: number; pool: string; size: number }[] }>().segments.map((s) => [s.id, s.pool, s.size])).toEqual([
      [1, 'local', 1000],
      [2, 'local', 1000],
      [10, 'local', 1000],
    ]);
    expect(existsSync(path.join(cwd, 'flux-data/hls/cam1/segment_10.ts'))).toBe(true);

    const streams = await cli(['ls', '--json'], { cwd });
    expect(streams.json()).toEqual({
      streams: [{ stream: 'cam1', segments: 3, bytes: 3000, firstId: 1, lastId: 10, pools: ['local'], hasPlaylist: false, files: 0, others: 0 }],
      unowned: [],
      failures: [],
    });
    const segments = await cli(['ls', 'cam1', '--json'], { cwd });
    expect(segments.json<{ segments: { id: number; pools: string[] }[] }>().segments.map((s) => [s.id, s.pools])).toEqual([
      [1, ['local']],
      [2, ['local']],
      [10, ['local']],
    ]);

    const got = await cli(['get', 'cam1', '10'], { cwd });
    expect(got.code).toBe(0);
    expect(got.stdoutBytes.equals(Buffer.alloc(1000, 10))).toBe(true);
    const toFile = await cli(['get', 'cam1', '2', '-o', 'out.ts', '--json'], { cwd });
    expect(toFile.json()).toMatchObject({ stream: 'cam1', id: 2, pool: 'local', size: 1000, file: 'out.ts' });
    expect((await readFile(path.join(cwd, 'out.ts'))).equals(Buffer.alloc(1000, 2))).toBe(true);

    const rm = await cli(['rm', 'cam1', '2', '--json'], { cwd });
    expect(rm.code).toBe(0);
    expect(rm.json()).toEqual({ stream: 'cam1', removed: [{ id: 2, key: 'hls/cam1/segment_2.ts', deletedFrom: ['local'] }], notFound: [], failed: [] });
    expect((await cli(['get', 'cam1', '2'], { cwd })).code).toBe(3);
  });

  it('prints a one-line notice about the default on stderr, but not with --json or --quiet', async () => {
    const cwd = await workdir();
    const plain = await cli(['ls'], { cwd });
    expect(plain.stderr).toMatch(/^note: no config file found; using one local pool "local" at \.\/flux-data/);
    expect((await cli(['ls', '--quiet'], { cwd })).stderr).toBe('');
    expect((await cli(['ls', '--json'], { cwd })).stderr).toBe('');
  });

  it('honours FLUX_STORAGE_ROOT', async () => {
    const cwd = await workdir();
    await withSegments(cwd, [5]);
    expect((await cli(['put', 'cam1', 'segment_5.ts'], { cwd, env: { FLUX_STORAGE_ROOT: './elsewhere' } })).code).toBe(0);
    expect(existsSync(path.join(cwd, 'elsewhere/hls/cam1/segment_5.ts'))).toBe(true);
  });

  it('prints tables for people', async () => {
    const cwd = await workdir();
    await withSegments(cwd, [3]);
    const put = await cli(['put', 'cam1', 'segment_3.ts'], { cwd });
    expect(put.stdout).toMatch(/ID.*POOL.*SIZE.*FILE/);
    expect(put.stdout).toMatch(/3 .*local.*1000 B.*segment_3\.ts/);
    const ls = await cli(['ls'], { cwd });
    expect(ls.stdout).toMatch(/cam1.*1.*1000 B.*3.*3.*local/);
  });
});

describe('put', () => {
  it('takes the id from the trailing number, from --id, and from stdin with --id', async () => {
    const cwd = await workdir();
    await writeFile(path.join(cwd, 'chunk-0042.ts'), 'a');
    await writeFile(path.join(cwd, 'anything.bin'), 'b');
    expect((await cli(['put', 'cam1', 'chunk-0042.ts', '--json'], { cwd })).json<{ segments: { id: number }[] }>().segments[0]?.id).toBe(42);
    expect((await cli(['put', 'cam1', 'anything.bin', '--id', '7', '--json'], { cwd })).json<{ segments: { id: number }[] }>().segments[0]?.id).toBe(7);
    const fromStdin = await cli(['put', 'cam1', '-', '--id', '8', '--json'], { cwd, stdin: Buffer.from('from stdin') });
    expect(fromStdin.code).toBe(0);
    expect((await readFile(path.join(cwd, 'flux-data/hls/cam1/segment_8.ts'), 'utf8'))).toBe('from stdin');
  });

  it('refuses names without an id, stdin without --id, and --id with many files, writing nothing', async () => {
    const cwd = await workdir();
    await writeFile(path.join(cwd, 'noid.ts'), 'a');
    await withSegments(cwd, [1, 2]);
    for (const args of [
      ['put', 'cam1', 'segment_1.ts', 'noid.ts'],
      ['put', 'cam1', '-'],
      ['put', 'cam1', 'segment_1.ts', 'segment_2.ts', '--id', '3'],
      ['put', 'cam1', 'segment_1.ts', 'missing.ts'],
    ]) {
      const result = await cli(args, { cwd });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.trim().split('\n').filter((line) => line.startsWith('error'))).toHaveLength(1);
    }
    expect(await tree(path.join(cwd, 'flux-data/hls'))).toEqual([]);
  });
});

describe('bad input: one line, exit 2, nothing changed', () => {
  it.each([
    [['put', '../../etc', 'segment_1.ts'], /invalid stream name "\.\.\/\.\.\/etc"/],
    [['put', 'cam1', 'segment_1.ts', '--pool', 'nope'], /unknown pool "nope": the configured pools are local/],
    [['get', 'cam1', '-3'], /unknown option|invalid segment id/],
    [['get', 'cam1', 'abc', '-o', 'x.ts'], /invalid segment id "abc"/],
    [['rm', '..', '1'], /invalid stream name/],
    [['ls', 'a/b'], /invalid stream name/],
    [['frobnicate'], /unknown command/],
  ])('%j', async (args, message) => {
    const cwd = await workdir();
    await withSegments(cwd, [1]);
    const result = await cli(args, { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error')).length).toBe(1);
    expect(await tree(path.join(cwd, 'flux-data'))).toEqual([]);
  });

  it('a malformed config file', async () => {
    const cwd = await workdir();
    await writeFile(path.join(cwd, 'storage.config.json'), '{"pools": [{"name": "a", "backend": {"type": "local"}}]}');
    const result = await cli(['ls', '--json'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: storage\.config\.json: pools\[0\]\.backend\.root: required/);
    expect(result.json()).toMatchObject({ error: { code: 'ConfigInvalid' } });
  });

  it('get refuses to write binary to a terminal', async () => {
    const cwd = await workdir();
    await withSegments(cwd, [1]);
    await cli(['put', 'cam1', 'segment_1.ts'], { cwd });
    const result = await cli(['get', 'cam1', '1'], { cwd, stdoutIsTTY: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/refusing to write binary data to a terminal/);
    expect(result.stdout).toBe('');
  });
});

describe('not found: exit 3', () => {
  it('get and rm of a segment that no pool holds', async () => {
    const cwd = await workdir();
    const get = await cli(['get', 'cam1', '99', '-o', 'x.ts'], { cwd });
    expect(get.code).toBe(3);
    expect(get.stderr).toMatch(/no pool holds this object/);
    const rm = await cli(['rm', 'cam1', '99', '--json'], { cwd });
    expect(rm.code).toBe(3);
    expect(rm.json()).toMatchObject({ notFound: [99] });
  });
});

describe('two local pools, the preferred one broken (its root is a regular file)', () => {
  async function setup(): Promise<string> {
    const cwd = await workdir({
      pools: [
        { name: 'broken', priority: 1, backend: { type: 'local', root: './a-file' } },
        { name: 'good', priority: 2, backend: { type: 'local', root: './good', createRoot: true } },
      ],
    });
    await writeFile(path.join(cwd, 'a-file'), 'I am a file, not a folder');
    await withSegments(cwd, [1]);
    return cwd;
  }

  it('put lands in the second pool and says so', async () => {
    const cwd = await setup();
    const result = await cli(['put', 'cam1', 'segment_1.ts', '--json'], { cwd });
    expect(result.code).toBe(0);
    const segment = result.json<{ segments: { pool: string; failedOver: { pool: string }[] }[] }>().segments[0];
    expect(segment?.pool).toBe('good');
    expect(segment?.failedOver.map((f) => f.pool)).toEqual(['broken']);
    expect(result.stderr).toMatch(/warning: broken refused the write, used the next pool/);
    const table = await cli(['put', 'cam1', 'segment_1.ts'], { cwd });
    expect(table.stdout).toMatch(/1 .*good/);
  });

  it('pools status shows the first unhealthy and exits 1', async () => {
    const cwd = await setup();
    const result = await cli(['pools', 'status', '--json'], { cwd });
    expect(result.code).toBe(1);
    const pools = result.json<{ pools: { name: string; health: string; takesWrites: boolean; probe: { ok: boolean } }[] }>().pools;
    expect(pools.map((p) => [p.name, p.health, p.takesWrites, p.probe.ok])).toEqual([
      ['broken', 'unhealthy', false, false],
      ['good', 'healthy', true, true],
    ]);
    const table = await cli(['pools', 'status'], { cwd });
    expect(table.stdout).toMatch(/broken.*local.*unhealthy/);
    expect(table.stderr).toMatch(/not a directory/);
  });

  it('pools status exits 0 when every pool is healthy', async () => {
    const cwd = await setup();
    expect((await cli(['pools', 'status', '--pool', 'good'], { cwd })).code).toBe(0);
  });
});

describe('global options', () => {
  it('--version and --help exit 0 with examples', async () => {
    const cwd = await workdir();
    expect((await cli(['--version'], { cwd })).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await cli(['--help'], { cwd });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 success, 1 an operation failed, 2 usage or config error, 3 not found/);
    for (const command of ['put', 'get', 'ls', 'rm']) {
      expect((await cli([command, '--help'], { cwd })).stdout).toMatch(/Examples:/);
    }
    expect((await cli(['pools', 'status', '--help'], { cwd })).stdout).toMatch(/Examples:/);
  });

  it('--json prints exactly one document even on a usage error', async () => {
    const cwd = await workdir();
    const result = await cli(['get', 'cam1', '--json'], { cwd });
    expect(result.code).toBe(2);
    expect(result.json()).toMatchObject({ error: { code: 'InvalidArgument' } });
  });
});

describe('large tables', () => {
  it('draws the box layout exactly as cli-table3 would', async () => {
    const { drawTable } = await import('../../src/cli/output.js');
    const { default: Table } = await import('cli-table3');
    const head = ['ID', 'SIZE', 'MODIFIED', 'POOLS'];
    const rows = [
      ['1', '1000 B', '2026-11-25 18:00:00Z', 'ssd'],
      ['10', '97.7 KiB', '2026-11-25 18:00:02Z', 'ssd,s3'],
      ['100', '1 MiB', '2026-11-25 18:00:04Z', 's3'],
    ];
    const align: ('left' | 'right')[] = ['right', 'right'];
    const table = new Table({ head, style: { head: [], border: [], compact: true }, colAligns: ['right', 'right', 'left', 'left'], chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
    for (const row of rows) table.push(row);
    expect(drawTable(head, rows, align)).toBe(table.toString());
  });

  it('lists a 2,000-segment stream as a table', async () => {
    const cwd = await workdir();
    const dir = path.join(cwd, 'flux-data/hls/big');
    await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
    await Promise.all(Array.from({ length: 2000 }, (_, i) => writeFile(path.join(dir, `segment_${i}.ts`), 'x')));
    const result = await cli(['ls', 'big'], { cwd, stdoutIsTTY: true });
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2004); // the table, then the footer
    expect(lines[2]).toMatch(/^│ +0 │ +1 B │ .* │ local │$/);
    expect(lines[2001]).toMatch(/^│ 1999 │/);
    expect(lines[2003]).toBe('2,000 segments, 1.95 KiB, ids 0-1999, no gaps');
  });
});
