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
