// The habits of an operator's shell: warnings a cron job must not swallow, suggestions, aliases.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, workdir } from './run.js';

describe('destructive commands on the embedded default', () => {
  it.each([
    [['cleanup', '--all', '--keep', '5', '--quiet']],
    [['cleanup', '--all', '--keep', '5', '--json']],
    [['rm', 'cam1', '1', '--quiet']],
    [['migrate', '--from', 'local', '--to', 'other', '--quiet']],
  ])('%j warns, naming the folder, even with --quiet', async (args) => {
    const cwd = await workdir();
    const result = await cli(args, { cwd });
    expect(result.stderr).toContain(`warning: no config file found from ${cwd}: ${args[0]} runs on the embedded default, one local pool "local" at ${path.join(cwd, 'flux-data')} (give -c <file>)`);
  });

  it('read-only commands keep the quiet note (none with --quiet)', async () => {
    const cwd = await workdir();
    expect((await cli(['ls', '--quiet'], { cwd })).stderr).toBe('');
    expect((await cli(['ls'], { cwd })).stderr).toMatch(/^note: no config file found/);
  });

  it('no warning when a config file is found', async () => {
    const cwd = await workdir({ pools: [{ name: 'ssd', backend: { type: 'local', root: './data', createRoot: true } }] });
    await writeFile(path.join(cwd, 'x'), '');
    expect((await cli(['cleanup', '--all', '--keep', '5', '--quiet'], { cwd })).stderr).toBe('');
  });

  it('the cron example in cleanup --help names its config', async () => {
    const help = await cli(['cleanup', '--help'], { cwd: await workdir() });
    expect(help.stdout).toMatch(/\* \* \* \* flux-storage -c \S+ cleanup/);
  });
});

describe('suggestions and aliases', () => {
  it.each([
    [['migrate', '--from', 'a', '--to', 'b', '--checkers', '8'], '--checksum', /rclone's --checkers has no equivalent: --concurrency/],
    [['cleanup', '--all', '--keep', '3', '--max-age', '2h'], '--min-age', /there is no --max-age: --min-age/],
    [['cleanup', '--all', '--keep', '3', '--max-delet', '2'], '--min-age', /Did you mean --max-delete\?/],
    [['cleanup', '--all', '--keep', '3', '--dryrun'], '--min-age', /Did you mean --dry-run\?/],
    [['migrate', '--from', 'a', '--to', 'b', '--concurency', '2'], '--checksum', /Did you mean --concurrency\?/],
  ])('%j never suggests %s', async (args, wrong, hint) => {
    const result = await cli(args, { cwd: await workdir() });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain(`Did you mean ${wrong}`);
    expect(result.stderr).toMatch(hint);
  });

  it('opposites are never suggested for each other', async () => {
    const { suggestOption } = await import('../../src/cli/commander.js');
    expect(suggestOption('--max-age', ['--min-age'])).toEqual([]);
    expect(suggestOption('--to', ['--from'])).toEqual([]);
    expect(suggestOption('--checkers', ['--checksum'])).toEqual([]);
    expect(suggestOption('--min-aeg', ['--min-age', '--max-age'])).toEqual(['--min-age']);
  });

  it('--transfers is --concurrency and -n is --dry-run, named in the help', async () => {
    const cwd = await workdir({
      pools: [
        { name: 'a', backend: { type: 'local', root: './a', createRoot: true } },
        { name: 'b', priority: 2, backend: { type: 'local', root: './b', createRoot: true } },
      ],
    });
    await writeFile(path.join(cwd, 'segment_1.ts'), 'x');
    expect((await cli(['put', 'cam1', 'segment_1.ts', '--pool', 'a'], { cwd })).code).toBe(0);
    const dry = await cli(['migrate', '--from', 'a', '--to', 'b', '-n', '--transfers', '3', '--json'], { cwd });
    expect(dry.code).toBe(0);
    expect(dry.json()).toMatchObject({ dryRun: true });
    expect((await cli(['ls', '--pool', 'b', '--json'], { cwd })).json<{ streams: unknown[] }>().streams).toEqual([]);
    expect((await cli(['migrate', '--from', 'a', '--to', 'b', '--transfers', '0'], { cwd })).stderr).toMatch(/--concurrency must be 1 or more/);
    expect((await cli(['migrate', '--from', 'a', '--to', 'b', '--transfers', 'x'], { cwd })).stderr).toMatch(/option '--transfers <n>' argument 'x' is invalid/);
    const migrateHelp = (await cli(['migrate', '--help'], { cwd })).stdout;
    expect(migrateHelp).toMatch(/--concurrency <n> +objects copied at once \(alias --transfers\)/);
    expect(migrateHelp).toMatch(/-n, --dry-run/);
    expect((await cli(['cleanup', '--help'], { cwd })).stdout).toMatch(/-n, --dry-run/);
    const cleanup = await cli(['cleanup', 'cam1', '--keep', '0', '-n', '--json'], { cwd });
    expect(cleanup.json()).toMatchObject({ dryRun: true });
    expect((await cli(['ls', 'cam1', '--json'], { cwd })).json<{ segments: unknown[] }>().segments).toHaveLength(1);
  });

  it('durations take weeks: --min-age 1w', async () => {
    const cwd = await workdir();
    await writeFile(path.join(cwd, 'segment_1.ts'), 'x');
    await cli(['put', 'cam1', 'segment_1.ts'], { cwd });
    const result = await cli(['cleanup', 'cam1', '--keep', '0', '--min-age', '1w', '--json'], { cwd });
    expect(result.code).toBe(0);
    expect(result.json<{ streams: { protected: number[] }[] }>().streams[0]?.protected).toEqual([1]);
    expect((await cli(['cleanup', 'cam1', '--keep', '0', '--min-age', '1y'], { cwd })).stderr).toMatch(/such as 90s, 10m, 2h, 1d or 1w/);
  });
});
