// completion bash|zsh|fish, from the built binary: the bash script sourced in bash completes commands,
// subcommands and options; -v logs each object operation.

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cli, workdir } from './run.js';
import { BIN } from './terminal.js';

const run = promisify(execFile);

/** Sources the script in bash and asks it to complete each line (words as the shell splits them). */
async function completeInBash(lines: string[][]): Promise<{ registered: string; replies: string[] }> {
  const cases = lines
    .map((words) => `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _flux_storage; echo "\${COMPREPLY[*]}"`)
    .join('\n');
  const script = `eval "$('${process.execPath}' '${BIN}' completion bash)"\ncomplete -p flux-storage\n${cases}`;
  const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', script], { env: { PATH: process.env.PATH } });
  const [registered, ...replies] = stdout.trimEnd().split('\n');
  return { registered: registered!, replies };
}

describe('completion', () => {
  it('bash: registers with complete and completes commands, subcommands, options and files', async () => {
    const cwd = await workdir();
    await writeFile(path.join(cwd, 'segment_1.ts'), 'x');
    const { registered, replies } = await completeInBash([
      ['flux-storage', ''],
      ['flux-storage', 'p'],
      ['flux-storage', 'pools', ''],
      ['flux-storage', '-c', 'my.json', 'pools', 'status', '--p'],
      ['flux-storage', 'rm', 'cam1', '--pl'],
      ['flux-storage', 'migrate', '--del'],
      ['flux-storage', '--qu'],
    ]);
    expect(registered).toBe('complete -o default -F _flux_storage flux-storage');
    expect(replies[0]!.split(' ')).toEqual(expect.arrayContaining(['put', 'get', 'ls', 'rm', 'pools', 'cleanup', 'migrate', 'purge', 'verify', 'du', 'playlist', 'serve', 'completion']));
    expect(replies.slice(1)).toEqual(['put pools purge playlist', 'status', '--pool', '--playlist', '--delete-source', '--quiet']);
  });

  it('zsh and fish scripts name every command and option; an unknown shell is exit 2', async () => {
    const cwd = await workdir();
    const zsh = await cli(['completion', 'zsh'], { cwd });
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef flux-storage\n/);
    expect(zsh.stdout).toContain('compdef _flux_storage flux-storage');
    const fish = (await cli(['completion', 'fish'], { cwd })).stdout;
    for (const command of ['put', 'get', 'ls', 'rm', 'pools', 'status', 'cleanup', 'migrate', 'purge']) {
      expect(zsh.stdout).toContain(`(${command})`);
      expect(fish).toContain(` -a ${command} `);
    }
    expect(fish).toContain("complete -c flux-storage -n '__fish_seen_subcommand_from migrate' -l delete-source");
    expect(fish).toContain("-d 'fetch one segment (or the stream\\'s playlist) from whichever pool holds it'");
    const bad = await cli(['completion', 'tcsh'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown shell "tcsh": use bash, zsh, fish/);
  });
});

describe('-v, --verbose', () => {
  it('logs each object operation with its pool, key, outcome and duration on stderr; stdout stays one document', async () => {
    const cwd = await workdir({ pools: [{ name: 'disk', backend: { type: 'local', root: './disk', createRoot: true } }] });
    for (const id of [1, 2, 3]) await writeFile(path.join(cwd, `segment_${id}.ts`), 'x');
    const put = await cli(['-v', 'put', 'cam1', 'segment_1.ts', 'segment_2.ts', 'segment_3.ts', '--json'], { cwd });
    expect(put.code).toBe(0);
    expect(put.json<{ segments: unknown[] }>().segments).toHaveLength(3);
    const line = /^\d{4}-\d\d-\d\dT[\d:.]+Z disk write hls\/cam1\/segment_1\.ts ok \d+\.\d ms$/m;
    expect(put.stderr).toMatch(line);
    const missing = await cli(['get', 'cam1', '9', '-o', 'x.ts', '--verbose'], { cwd });
    expect(missing.stderr).toMatch(/Z disk read hls\/cam1\/segment_9\.ts NotFound \(.*\) \d+\.\d ms$/m);
    const rm = await cli(['rm', 'cam1', '1-3', '-v', '--quiet'], { cwd });
    expect(rm.stderr).toMatch(/Z disk list hls\/cam1\/ ok /);
    for (const id of [1, 2, 3]) expect(rm.stderr).toMatch(new RegExp(`Z disk delete hls/cam1/segment_${id}\\.ts ok `));
    expect((await cli(['ls'], { cwd })).stderr).not.toMatch(/Z disk /);
  });
});
